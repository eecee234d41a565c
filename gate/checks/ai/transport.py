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
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gate.checks.http.login import dig
from gate.checks.http.transport import describe

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


@dataclass
class _Reading:
    """What one exchange received so far: kept outside it, so a deadline keeps what arrived."""

    response: httpx.Response | None = None
    chunks: list[bytes] = field(default_factory=list)
    size: int = 0
    truncated: bool = False

    @property
    def data(self) -> bytes:
        return b"".join(self.chunks)


async def _exchange(
    client: httpx.AsyncClient, reading: _Reading, method: str, url: str, cap: int, **request: Any
) -> None:
    async with client.stream(method, url, **request) as response:
        reading.response = response
        async for chunk in response.aiter_bytes():
            room = cap - reading.size
            if len(chunk) > room:
                reading.chunks.append(chunk[:room])
                reading.truncated = True
                return
            reading.chunks.append(chunk)
            reading.size += len(chunk)


async def _read(
    client: httpx.AsyncClient, method: str, url: str, *, timeout: float, cap: int, **request: Any
) -> tuple[_Reading, str | None]:
    """One bounded exchange; the reading and, when the deadline cut a started answer, why."""
    import httpx

    reading = _Reading()
    try:
        await asyncio.wait_for(_exchange(client, reading, method, url, cap, **request), timeout)
    except TimeoutError as error:
        if reading.response is None or not reading.size:
            raise Unanswered(f"no answer within {timeout:g}s") from error
        return reading, f"the answer was still streaming after {timeout:g}s; judged on what arrived"
    except (httpx.HTTPError, OSError, ssl.SSLError) as error:
        raise Unanswered(describe(error)[0]) from error
    return reading, None


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
    sent = {**route.headers, **headers, "content-type": content_type}
    reading, stopped = await _read(client, route.method, url, timeout=timeout, cap=cap, content=body, headers=sent)
    response = reading.response
    assert response is not None
    if response.status_code >= 500:
        raise Unanswered(f"HTTP {response.status_code}")
    if reading.truncated:
        stopped = f"the answer passed the {cap}-byte cap; judged on the first {cap} bytes"
    raw = reading.data.decode("utf-8", "replace")
    kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
    sse = route.stream == "sse" or (route.stream == "auto" and kind == "text/event-stream")
    text, tools = parse(raw, route, sse=sse)
    return Answer(response.status_code, raw, text, tools, reading.truncated, stopped)


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
        # A missing answer path is no text: the greeting then says the template is wrong.
        return (value if isinstance(value, str) else "" if value is None else json.dumps(value)), tools
    return json.dumps(document), tools


def parse(raw: str, route: AiRoute, *, sse: bool) -> tuple[str, tuple[str, ...]]:
    """The answer's text and the tools it calls, from a whole body or a server-sent event stream."""
    pieces = _events(raw) if sse else [raw]
    texts: list[str] = []
    tools: list[str] = []
    for piece in pieces:
        try:
            document = json.loads(piece)
        except (ValueError, RecursionError):
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


async def tool_log(
    client: httpx.AsyncClient, url: str, headers: Mapping[str, str], timeout: float, cap: int
) -> list[str]:
    """The names in the route's tool log (a JSON list of names or of objects with `name`)."""
    try:
        reading, stopped = await _read(client, "GET", url, timeout=timeout, cap=cap, headers=dict(headers))
    except Unanswered as failure:
        raise Unanswered(f"the tool log {url} could not be read: {failure}") from failure
    status = reading.response.status_code if reading.response is not None else 0
    try:
        entries = json.loads(reading.data) if status == 200 and not stopped and not reading.truncated else None
    except (ValueError, RecursionError):
        entries = None
    if isinstance(entries, dict):
        entries = entries.get("calls", entries.get("tools"))
    if not isinstance(entries, list):
        raise Unanswered(f"the tool log {url} did not answer a whole JSON list (HTTP {status})")
    names: list[str] = []
    for entry in entries:
        name = entry.get("name") or entry.get("tool") if isinstance(entry, dict) else entry
        names.append(str(name) if name else "")
    return names
