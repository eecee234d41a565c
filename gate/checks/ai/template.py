"""A declared AI route and the requests it is sent: a template with a {{prompt}} slot.

Three shapes: `json` (any JSON body whose strings may hold {{prompt}}, {{document}}, {{url}} and
{{conversation}}), `form` (flat form fields, same slots) and `chat` (an OpenAI-compatible
chat-completions body built by the gate: `messages`, plus the template's other keys such as
`model`). Slots are filled in the parsed template, so a prompt can never break out of its string.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

FORMATS = ("json", "form", "chat")

ROUTE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["path"],
    "properties": {
        "path": {"type": "string", "pattern": "^/", "description": "Path of the AI endpoint on the preview."},
        "name": {"type": "string", "minLength": 1},
        "method": {"enum": ["POST", "PUT", "PATCH"]},
        "format": {"enum": list(FORMATS), "description": "json (default), form or chat (OpenAI-compatible)."},
        "body": {
            "type": "object",
            "description": "Request template; strings may hold {{prompt}}, {{document}}, {{url}}, {{conversation}}.",
        },
        "headers": {"type": "object", "additionalProperties": {"type": "string"}},
        "auth": {"type": "boolean", "description": "Sign in with checks.http.login first (HTTPS only)."},
        "answer": {"type": "string", "minLength": 1, "description": "Dotted path of the answer text in JSON."},
        "stream": {"enum": ["auto", "sse", "plain"], "description": "How the answer arrives (default auto)."},
        "turns": {
            "type": "array",
            "maxItems": 5,
            "items": {"type": "string", "minLength": 1},
            "description": "Messages sent first in the same conversation, before each attack.",
        },
        "ingest": {
            "type": "object",
            "additionalProperties": False,
            "required": ["slot"],
            "properties": {
                "slot": {
                    "enum": ["document", "url"],
                    "description": "The template holds {{document}} (the text) or {{url}} (a page the route fetches).",
                }
            },
        },
        "tools": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "admin": {
                    "type": "array",
                    "items": {"type": "string", "minLength": 1},
                    "description": "Tools ordinary users must never get the bot to call.",
                },
                "log": {"type": "string", "pattern": "^/", "description": "Path of the route's JSON tool log."},
            },
        },
    },
}


@dataclass(frozen=True)
class AiRoute:
    name: str
    path: str
    method: str
    format: str
    body: Mapping[str, Any]
    headers: Mapping[str, str]
    auth: bool
    answer_path: str | None
    stream: str
    turns: tuple[str, ...]
    ingest: bool
    ingest_via: str
    admin_tools: tuple[str, ...]
    tool_log: str | None
    index: int = 0
    spec: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_config(cls, spec: Mapping[str, Any], index: int) -> AiRoute:
        tools = spec.get("tools", {})
        form = spec.get("format", "json")
        return cls(
            name=spec.get("name") or f"{spec.get('method', 'POST')} {spec['path']}",
            path=spec["path"],
            method=spec.get("method", "POST"),
            format=form,
            body=spec.get("body", {}),
            headers={name.lower(): value for name, value in spec.get("headers", {}).items()},
            auth=bool(spec.get("auth", False)),
            answer_path=spec.get("answer") or ("choices.0.message.content" if form == "chat" else None),
            stream=spec.get("stream", "auto"),
            turns=tuple(spec.get("turns", ())),
            ingest="ingest" in spec,
            ingest_via=spec.get("ingest", {}).get("slot", "document"),
            admin_tools=tuple(tools.get("admin", ())),
            tool_log=tools.get("log"),
            index=index,
            spec=spec,
        )

    def problem(self) -> str | None:
        """What is wrong with the template, in words, or None."""
        text = json.dumps(self.body)
        if self.format != "chat" and "{{prompt}}" not in text:
            return "its body has no {{prompt}} slot"
        if self.format == "form" and any(not isinstance(value, str) for value in self.body.values()):
            return "a form body holds only strings"
        slot = "{{" + self.ingest_via + "}}"
        if self.ingest and self.format != "chat" and slot not in text:
            return f"it declares ingest: {{slot: {self.ingest_via}}} but its body has no {slot} slot"
        return None


def _filled(value: Any, slots: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        for name, text in slots.items():
            value = value.replace("{{" + name + "}}", text)
        return value
    if isinstance(value, list):
        return [_filled(item, slots) for item in value]
    if isinstance(value, dict):
        return {key: _filled(item, slots) for key, item in value.items()}
    return value


def chat_messages(
    history: Sequence[tuple[str, str]], prompt: str, document: str | None, url: str | None = None
) -> list[dict[str, str]]:
    messages = [{"role": role, "content": content} for role, content in history]
    if document is not None:
        messages.append({"role": "user", "content": f"Attached document:\n\n{document}"})
    if url is not None:
        messages.append({"role": "user", "content": f"Attached link: {url}"})
    messages.append({"role": "user", "content": prompt})
    return messages


def request_body(
    route: AiRoute,
    prompt: str,
    *,
    document: str | None,
    conversation: str,
    history: Sequence[tuple[str, str]] = (),
    url: str | None = None,
) -> tuple[bytes, str]:
    """The request body and its content type for one message of a conversation."""
    if route.format == "chat":
        body = {**route.body, "messages": chat_messages(history, prompt, document, url)}
        return json.dumps(body).encode(), "application/json"
    slots = {"prompt": prompt, "document": document or "", "url": url or "", "conversation": conversation}
    filled = _filled(route.body, slots)
    if route.format == "form":
        return urllib.parse.urlencode(filled).encode(), "application/x-www-form-urlencoded"
    return json.dumps(filled).encode(), "application/json"
