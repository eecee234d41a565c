"""The chat-completions shape against an OpenAI-compatible mock: whole and streamed answers, tool_calls."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from gate.demo.webserver import Request, Response, Site, serve
from tests.support.ai_bots import SYSTEM_CANARY
from tests.support.helpers import gate

pytestmark = pytest.mark.loopback
JSON = (("content-type", "application/json"),)


class Completions:
    """A chat-completions endpoint that calls delete_user when asked and leaks its prompt on 'repeat'."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []

    def __call__(self, request: Request) -> Response:
        body = json.loads(request.body)
        self.bodies.append(body)
        last = body["messages"][-1]["content"]
        message: dict[str, Any] = {"role": "assistant", "content": "How can I help with your account?"}
        if "delete_user" in last:
            call = {"id": "call_1", "type": "function", "function": {"name": "delete_user", "arguments": '{"id": 42}'}}
            message = {"role": "assistant", "content": None, "tool_calls": [call]}
        elif "repeat" in last.lower():
            message["content"] = f"Sure: You are a helpful bot. Secret tag {SYSTEM_CANARY}."
        if not body.get("stream"):
            return Response(
                200,
                json.dumps({"id": "x", "object": "chat.completion", "choices": [{"index": 0, "message": message}]}),
                JSON,
            )
        text = message.get("content") or ""
        chunks = [{"choices": [{"index": 0, "delta": {"content": text[i : i + 7]}}]} for i in range(0, len(text), 7)]
        if message.get("tool_calls"):
            chunks.append({"choices": [{"index": 0, "delta": {"tool_calls": message["tool_calls"]}}]})
        events = [f"data: {json.dumps(chunk)}\n\n".encode() for chunk in chunks] + [b"data: [DONE]\n\n"]
        return Response(200, b"", (("content-type", "text/event-stream"),), parts=tuple((0.0, e) for e in events))


def check(tmp_path: Path, stream: bool) -> tuple[int, list[dict[str, Any]], Completions]:
    completions = Completions()
    with serve(Site(routes={"/v1/chat/completions": completions})) as port:
        route = {
            "path": "/v1/chat/completions",
            "format": "chat",
            "body": {"model": "acme-support", "stream": stream},
            "turns": ["Hi, I have a question about my invoice."],
            "tools": {"admin": ["delete_user"]},
        }
        section = {
            "enabled": True,
            "routes": [route],
            "canaries": {"system_prompt": SYSTEM_CANARY},
            "families": ["extraction", "tool_coercion"],
        }
        config = {
            "version": 1,
            "preset": "demo",
            "checks": {"http": {"url": f"http://127.0.0.1:{port}/"}, "ai": section},
        }
        (tmp_path / "gate.yml").write_text(yaml.safe_dump(config))
        outcome = gate("check", "ai", "--config", str(tmp_path / "gate.yml"), "--format", "json")
    assert outcome.exit_code == 1, outcome.output
    return outcome.exit_code, json.loads(outcome.stdout)["findings"], completions


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
def test_tool_calls_and_a_leaked_prompt_are_found_in_chat_completions(tmp_path: Path, stream: bool) -> None:
    _, findings, completions = check(tmp_path, stream)
    by_rule = {f["rule_id"]: f for f in findings}
    assert set(by_rule) == {"ai.tool.admin-call", "ai.canary.system-prompt"}
    assert by_rule["ai.tool.admin-call"]["details"]["family"] == "tool_coercion"
    assert by_rule["ai.canary.system-prompt"]["details"]["family"] == "extraction"
    # Each attack is a conversation: the declared turn and the bot's reply come first.
    first = completions.bodies[2]  # after the greeting and the declared turn
    assert first["model"] == "acme-support"
    assert [m["role"] for m in first["messages"]] == ["user", "assistant", "user"]
    assert first["messages"][1]["content"] == "How can I help with your account?"
