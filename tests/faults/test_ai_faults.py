"""The ai check against hostile bots: endless streams, huge answers, silence, crashes.

None of it may pass: an answer cut at the size cap or the deadline is judged on what arrived
and reported as not seen whole, an attack without an answer is reported as not probed, and the
route's time budget ends the battery, all in bounded time and memory.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from gate.demo.webserver import Request, Response, Site, serve
from tests.faults.common import fails_closed
from tests.faults.peers import Behaviour, Bounds, TcpPeer, answer, endless, measured, refused_port, silent
from tests.faults.table import row
from tests.support.ai_bots import SYSTEM_CANARY, write_config
from tests.support.helpers import Outcome, gate

pytestmark = pytest.mark.loopback


def _check(behaviour: Behaviour, tmp_path: Path, **budget: Any) -> tuple[Outcome, Bounds, set[str]]:
    with TcpPeer(behaviour) as peer:
        section = {
            "enabled": True,
            "routes": [{"path": "/api/chat", "body": {"message": "{{prompt}}"}, "answer": "reply"}],
            "canaries": {"system_prompt": SYSTEM_CANARY},
            "families": ["override"],
            "attempt_timeout": "2s",
            "max_answer": 65536,
            "budget": {"attempts": 3, "time": "20s", **budget},
        }
        config = {"version": 1, "preset": "demo", "checks": {"http": {"url": f"{peer.url}/"}, "ai": section}}
        (tmp_path / "gate.yml").write_text(yaml.safe_dump(config))
        with measured() as box:
            outcome = gate("check", "ai", "--format", "json", cwd=tmp_path)
    report = json.loads(outcome.stdout) if outcome.stdout.startswith("{") else {}
    return outcome, box[0], {f["rule_id"] for f in report.get("findings", [])}


SSE = "Content-Type: text/event-stream\r\n"


@row(
    "AI route streams an answer that never ends",
    "ai",
    "exit 1: `ai.route.incomplete`: read up to `max_answer` or `attempt_timeout`, judged on what arrived",
)
@row(
    "AI route answers with a 10 GB Content-Length",
    "ai",
    "exit 1: `ai.route.incomplete`: only `max_answer` bytes are read and judged",
)
@pytest.mark.parametrize(
    "behaviour",
    [endless(None, chunk=b"data: more\n\n" * 500, headers=SSE), endless(10 * 1024**3, chunk=b"a" * 65536)],
    ids=["endless-sse", "10GB-answer"],
)
def test_an_answer_without_end_is_cut_and_never_passes(tmp_path: Path, behaviour: Behaviour) -> None:
    outcome, bounds, rules = _check(behaviour, tmp_path)
    fails_closed(outcome, bounds, ["answers were cut off"], codes=(1,))
    assert "ai.route.incomplete" in rules


@row(
    "AI route accepts and never answers",
    "ai",
    "exit 1: `ai.route.unanswered` after `attempt_timeout` (the greeting), `ai.route.incomplete`: no attack is sent",
)
def test_a_bot_that_never_answers_is_not_probed(tmp_path: Path) -> None:
    outcome, bounds, rules = _check(silent, tmp_path, attempts=50, time="3s")
    fails_closed(outcome, bounds, ["no answer within 2s", "were not sent"], codes=(1,), seconds=15)
    assert rules == {"ai.route.unanswered", "ai.route.incomplete"}


@row(
    "AI route greets, then hangs on every attack",
    "ai",
    "exit 1: `ai.route.unanswered` per `attempt_timeout`, `ai.route.incomplete` when `budget.time` ends the battery",
)
def test_a_bot_hanging_on_attacks_ends_at_the_time_budget(tmp_path: Path) -> None:
    def greets_then_hangs(request: Request) -> Response:
        if b"Hello!" not in request.body:
            time.sleep(4)
        return Response(200, b'{"reply": "hi"}', (("content-type", "application/json"),))

    with serve(Site(routes={"/api/chat": greets_then_hangs})) as port:
        budget = {"attempts": 50, "time": "3s"}
        path = write_config(tmp_path, port, {"tools": {}}, families=["override"], attempt_timeout="2s", budget=budget)
        with measured() as box:
            outcome = gate("check", "ai", "--config", str(path), "--format", "json")
    causes = ["2 of 2 attacks got no usable answer", "no answer within 2s", "10 of 12 attacks were not sent"]
    fails_closed(outcome, box[0], causes, codes=(1,), seconds=15)
    assert {f["rule_id"] for f in json.loads(outcome.stdout)["findings"]} == {
        "ai.route.unanswered",
        "ai.route.incomplete",
    }


@row(
    "AI route answers HTTP 500",
    "ai",
    "exit 1: `ai.route.unanswered` naming the status, `ai.route.incomplete`: no attack is sent to a route that "
    "cannot answer a greeting",
)
def test_a_crashing_bot_is_not_probed_and_says_so(tmp_path: Path) -> None:
    outcome, bounds, rules = _check(answer(500, b'{"error": "model overloaded"}'), tmp_path)
    fails_closed(outcome, bounds, ["a plain greeting got no answer (HTTP 500)"], codes=(1,))
    assert "ai.route.unanswered" in rules


@row(
    "AI route answers 200 000 nested JSON brackets",
    "ai",
    "the answer is judged as text (no parser recursion); with nothing leaked, only the unsent attacks are reported",
)
def test_a_json_bomb_answer_is_read_as_text(tmp_path: Path) -> None:
    outcome, bounds, rules = _check(answer(200, b"[" * 200_000), tmp_path)
    fails_closed(outcome, bounds, ["were not sent"], codes=(1,))
    assert rules == {"ai.route.incomplete"}


@row(
    "AI route's tool log is larger than `max_answer`",
    "ai",
    "exit 1: `ai.route.unanswered`: a log not read whole is not trusted to hold no admin call",
)
def test_an_oversized_tool_log_is_not_trusted(tmp_path: Path) -> None:
    log = Response(
        200, b"[" + b'{"name": "lookup"},' * 10_000 + b'{"name": "x"}]', (("content-type", "application/json"),)
    )
    chat = Response(200, b'{"reply": "no"}', (("content-type", "application/json"),))
    with serve(Site(routes={"/api/chat": chat, "/api/tool-log": log})) as port:
        path = write_config(
            tmp_path,
            port,
            {"tools": {"admin": ["delete_user"], "log": "/api/tool-log"}},
            families=["override"],
            max_answer=65536,
        )
        with measured() as box:
            outcome = gate("check", "ai", "--config", str(path), "--format", "json")
    fails_closed(outcome, box[0], ["did not answer a whole JSON list"], codes=(1,))
    assert {f["rule_id"] for f in json.loads(outcome.stdout)["findings"]} == {"ai.route.unanswered"}


@row(
    "An AI route's path in gate.yml leads to another host (`//attacker.example/x`)",
    "ai",
    "exit 2 naming the route: nothing is sent anywhere but the preview's origin",
)
@pytest.mark.parametrize("where", ["path", "tool log"])
def test_a_route_path_off_the_origin_is_refused(tmp_path: Path, where: str) -> None:
    route = {"path": "//attacker.example/x"} if where == "path" else {"tools": {"log": "//attacker.example/log"}}
    path = write_config(tmp_path, refused_port(), route)
    outcome = gate("check", "ai", "--config", str(path))
    assert outcome.exit_code == 2, outcome.output
    assert "leads off the preview's origin" in outcome.output


@row(
    "AI answer carries workflow commands (`::error::`, `##[group]`) and control characters",
    "ai",
    "exit 1: the leak is reported; no output line starts a runner command",
)
def test_an_answer_cannot_issue_runner_commands(tmp_path: Path) -> None:
    forged = f"\n::error file=x::forged\n##[group]forged\n\x1b[2J{SYSTEM_CANARY}\n::add-mask::x"
    reply = json.dumps({"reply": forged}).encode()
    chat = Response(200, reply, (("content-type", "application/json"),))
    summary = tmp_path / "summary.md"
    with serve(Site(routes={"/api/chat": chat})) as port:
        path = write_config(tmp_path, port, {"tools": {}}, families=["override"])
        env = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)}
        with measured() as box:
            outcome = gate("check", "ai", "--config", str(path), env=env)
    fails_closed(outcome, box[0], ["AI route revealed its system prompt"], codes=(1,))
    for line in outcome.output.splitlines():
        assert not line.lstrip().startswith(("::error file=x", "##[group]forged", "::add-mask")), line
    assert SYSTEM_CANARY not in outcome.output + summary.read_text()


@row(
    "A URL-reading route floods the gate's page server with connections, or holds them silent",
    "ai",
    "at most 16 connections served, more closed at once; a silent one dropped after 5 s; served again after",
)
def test_connections_beyond_the_cap_are_closed_not_queued() -> None:
    import socket
    import urllib.request

    from gate.checks.ai.pages import MAX_CONNECTIONS, PageServer

    with PageServer() as pages:
        url = pages.publish("page")
        silent = [socket.create_connection(("127.0.0.1", pages.port), timeout=5) for _ in range(MAX_CONNECTIONS)]
        try:
            extra = socket.create_connection(("127.0.0.1", pages.port), timeout=5)
            with extra:
                extra.sendall(b"GET / HTTP/1.0\r\n\r\n")
                assert extra.recv(100) == b"", "the connection over the cap is closed at once"
        finally:
            for connection in silent:
                connection.close()
        # Once the silent ones are gone, the server answers again.
        for _ in range(50):
            try:
                with urllib.request.urlopen(url, timeout=5) as page:
                    if page.status == 200:
                        break
            except OSError:
                continue
        assert pages.fetched(url)
        # A client that connects and says nothing is dropped, not waited for.
        started = time.monotonic()
        with socket.create_connection(("127.0.0.1", pages.port), timeout=15) as quiet:
            assert quiet.recv(100) == b""
        assert time.monotonic() - started < 10
