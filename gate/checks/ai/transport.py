"""Sending one message to an AI route and reading its answer, bounded in time and size.

Answers arrive whole (JSON or text) or streamed (server-sent events, chunked text); a stream
is read until it ends, the size cap or the attempt deadline, whichever comes first, and what
arrived by then is judged. OpenAI-style answers (whole or streamed deltas) yield their text and
the names of the tools they call.
"""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gate.checks.http.client import describe
from gate.checks.http.flows import dig

if TYPE_CHECKING:
    import httpx

    from gate.checks.ai.template import AiRoute


@dataclass(frozen=True)
class Answer:
    """What came back: the raw text, the answer's own text, tool calls, and how reading ended."""

    status: int
    raw: str
    text: str
    tool_calls: tuple[str, ...] = ()
    truncated: bool = False
    stopped: str | None = None


class Unanswered(Exception):
    """No usable answer: refused, reset, TLS failure, deadline with nothing read, server error."""


async def send(
    client: httpx.AsyncClient,
    url: str,
    route: AiRoute,
    body: bytes,
    content_type: str,
    *,
    headers: Mapping[str, str],
    timeout: float,
    cap: int,
) -> Answer:
    """POST one message; a stream cut by the deadline or the cap is judged on what arrived."""
    import httpx

    received: dict[str, Any] = {"data": b"", "truncated": False}
    status_seen: list[httpx.Response] = []

    async def exchange() -> None:
        sent = {**route.headers, **headers, "content-type": content_type}
        async with client.stream(route.method, url, content=body, headers=sent) as response:
            status_seen.append(response)
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                room = cap - size
                if len(chunk) > room:
                    chunks.append(chunk[:room])
                    received["truncated"] = True
                    break
                chunks.append(chunk)
                size += len(chunk)
                received["data"] = b"".join(chunks)
            received["data"] = b"".join(chunks)

    stopped: str | None = None
    try:
        await asyncio.wait_for(exchange(), timeout)
    except TimeoutError as error:
        if not status_seen or not received["data"]:
            raise Unanswered(f"no answer within {timeout:g}s") from error
        stopped = f"the answer was still streaming after {timeout:g}s; judged on what arrived"
    except (httpx.HTTPError, OSError, ssl.SSLError) as error:
        raise Unanswered(describe(error)[0]) from error
    response = status_seen[0]
    if response.status_code >= 500:
        raise Unanswered(f"HTTP {response.status_code}")
    if received["truncated"]:
        stopped = f"the answer passed the {cap}-byte cap; judged on the first {cap} bytes"
    raw = bytes(received["data"]).decode("utf-8", "replace")
    kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
    text, tools = parse(
        raw, route, sse=route.stream == "sse" or (route.stream == "auto" and kind == "text/event-stream")
    )
    return Answer(response.status_code, raw, text, tools, bool(received["truncated"]), stopped)


def _message_parts(document: Any, route: AiRoute) -> tuple[str, list[str]]:
    """Text and tool names of one JSON document: a whole answer or one streamed chunk."""
    tools: list[str] = []
    choices = document.get("choices") if isinstance(document, dict) else None
    if isinstance(choices, list):
        texts: list[str] = []
        for choice in choices:
            if not isinstance(choice, dict):
                continue
            message = choice.get("message") or choice.get("delta") or {}
            if not isinstance(message, dict):
                continue
            if isinstance(message.get("content"), str):
                texts.append(message["content"])
            for call in message.get("tool_calls") or []:
                function = call.get("function") if isinstance(call, dict) else None
                if isinstance(function, dict) and isinstance(function.get("name"), str):
                    tools.append(function["name"])
        return "".join(texts), tools
    if route.answer_path and route.format != "chat":
        value = dig(document, route.answer_path)
        return (value if isinstance(value, str) else json.dumps(value)), tools
    return json.dumps(document), tools


def parse(raw: str, route: AiRoute, *, sse: bool) -> tuple[str, tuple[str, ...]]:
    """The answer's text and the tools it calls, from a whole body or a server-sent event stream."""
    pieces = _events(raw) if sse else [raw]
    texts: list[str] = []
    tools: list[str] = []
    for piece in pieces:
        try:
            document = json.loads(piece)
        except ValueError:
            texts.append(piece)
            continue
        text, called = _message_parts(document, route)
        texts.append(text)
        tools += called
    return "".join(texts), tuple(dict.fromkeys(tools))


def _events(raw: str) -> list[str]:
    """The data of each server-sent event, in order; the [DONE] marker of OpenAI streams dropped."""
    events: list[str] = []
    for block in raw.replace("\r\n", "\n").split("\n\n"):
        data = [line[5:].removeprefix(" ") for line in block.split("\n") if line.startswith("data:")]
        if data and data != ["[DONE]"]:
            events.append("\n".join(data))
    return events


async def tool_log(client: httpx.AsyncClient, url: str, headers: Mapping[str, str], timeout: float) -> list[str]:
    """The names in the route's tool log (a JSON list of names or of objects with `name`)."""
    import httpx

    try:
        response = await asyncio.wait_for(client.get(url, headers=dict(headers)), timeout)
        entries = response.json() if response.status_code == 200 else None
    except (TimeoutError, httpx.HTTPError, OSError, ValueError) as error:
        raise Unanswered(f"the tool log {url} could not be read: {describe(error)[0]}") from error
    if isinstance(entries, dict):
        entries = entries.get("calls", entries.get("tools"))
    if not isinstance(entries, list):
        raise Unanswered(f"the tool log {url} did not answer a JSON list (HTTP {response.status_code})")
    names: list[str] = []
    for entry in entries:
        name = (
            entry
            if isinstance(entry, str)
            else (entry.get("name") or entry.get("tool"))
            if isinstance(entry, dict)
            else None
        )
        names.append(str(name) if name else "")
    return names
