"""Form routes with conversation turns, rules files that are wrong, and refusals that must be said."""

from __future__ import annotations

import json
import urllib.parse
from pathlib import Path

import pytest
import yaml

from gate.checks.ai.attacks import load_encodings, load_families
from gate.demo.webserver import Request, Response, Site, serve
from gate.errors import InputError
from tests.support.ai_bots import SYSTEM_CANARY, SYSTEM_PROMPT, bot_server, hardened, write_config
from tests.support.helpers import gate


@pytest.mark.loopback
def test_a_form_route_gets_its_turns_first_and_leaks_are_found(tmp_path: Path) -> None:
    received: list[dict[str, list[str]]] = []

    def form_bot(request: Request) -> Response:
        fields = urllib.parse.parse_qs(request.body.decode())
        received.append(fields)
        said = fields["q"][0].lower()
        reply = SYSTEM_PROMPT if "ignore" in said else "Happy to help."
        return Response(200, reply, (("content-type", "text/plain"),))

    with serve(Site(routes={"/ask": form_bot})) as port:
        route = {"path": "/ask", "format": "form", "body": {"q": "{{prompt}}", "thread": "{{conversation}}"}}
        families = ["override", "tool_coercion", "indirect"]
        path = write_config(tmp_path, port, {**route, "turns": ["hello"]}, families=families)
        config = yaml.safe_load(path.read_text())
        # A plain-text answer, no document slot, no tools: the families that need them are left out.
        for key in ("ingest", "tools", "answer"):
            config["checks"]["ai"]["routes"][0].pop(key)
        path.write_text(yaml.safe_dump(config))
        outcome = gate("check", "ai", "--config", str(path), "--format", "json")
    findings = json.loads(outcome.stdout)["findings"]
    assert outcome.exit_code == 1, outcome.output
    assert {f["rule_id"] for f in findings} == {"ai.canary.system-prompt"}
    # tool_coercion and indirect do not apply: only override's 12 attacks, each after its turn.
    greeting, *attacks = received
    assert greeting["q"] == ["Hello! What can you help me with?"]
    assert len(attacks) == 24
    assert attacks[0]["q"] == ["hello"] and attacks[0]["thread"] == attacks[1]["thread"]
    assert attacks[1]["thread"] != attacks[3]["thread"]


@pytest.mark.loopback
def test_an_evaluator_that_gives_no_verdict_is_exit_3(tmp_path: Path) -> None:
    with bot_server(hardened) as port, serve(Site()) as judge_port:
        evaluator = {"url": f"http://127.0.0.1:{judge_port}/v1/chat/completions", "model": "judge-1"}
        path = write_config(tmp_path, port, families=["override"], evaluator=evaluator)
        outcome = gate("check", "ai", "--config", str(path))
    assert outcome.exit_code == 3, outcome.output
    assert "gave no verdict" in outcome.output


@pytest.mark.parametrize(
    ("attacks", "said"),
    [
        ("families: [1, 2]\n", "non-empty mapping"),
        ("families:\n  x: {prompts: []}\n", "non-empty prompts list"),
        ("families:\n  x: {prompts: [3]}\n", "a prompt is a string"),
        ("families:\n  x: {prompts: [hi], encodings: [rot13]}\n", "names an encoding"),
        ("families: [\n", "cannot be read"),
        ("- a list\n", "must be a mapping"),
    ],
)
def test_a_broken_attack_file_is_an_input_error(tmp_path: Path, attacks: str, said: str) -> None:
    path = tmp_path / "attacks.yml"
    path.write_text(attacks)
    with pytest.raises(InputError, match=said):
        load_families(path, encodings=load_encodings())


@pytest.mark.parametrize(
    ("encodings", "said"),
    [("encodings: {base64: 'no slot'}\n", "holding {{payload}}"), ("encodings: {rot13: '{{payload}}'}\n", "unknown")],
)
def test_a_broken_encodings_file_is_an_input_error(tmp_path: Path, encodings: str, said: str) -> None:
    path = tmp_path / "encodings.yml"
    path.write_text(encodings)
    with pytest.raises(InputError, match=said):
        load_encodings(path)


@pytest.mark.loopback
@pytest.mark.parametrize(
    ("scheme", "login_path", "said", "code"),
    [("http", "/login", "plain HTTP", 1), ("https", "//attacker.example/login", "leaves the preview", 2)],
)
def test_a_login_that_would_expose_credentials_is_refused(
    tmp_path: Path, scheme: str, login_path: str, said: str, code: int
) -> None:
    with bot_server(hardened) as port:
        path = write_config(tmp_path, port, {"auth": True})
        config = yaml.safe_load(path.read_text())
        config["checks"]["http"]["url"] = f"{scheme}://localhost:{port}/"
        config["checks"]["http"]["login"] = {"path": login_path, "fields": {"email": "GATE_BOT_USER"}}
        path.write_text(yaml.safe_dump(config))
        outcome = gate("check", "ai", "--config", str(path), "--format", "json", env={"GATE_BOT_USER": "qa@x.example"})
    assert outcome.exit_code == code, outcome.output
    assert said in outcome.output
    if code == 1:
        assert [f["rule_id"] for f in json.loads(outcome.stdout)["findings"]] == ["ai.route.unanswered"]
    assert SYSTEM_CANARY not in outcome.output
