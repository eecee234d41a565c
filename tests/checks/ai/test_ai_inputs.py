"""Bad gate.yml for the ai check is exit 2 naming the key; login, evaluator and reports work end to end."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from gate.demo import certs
from gate.demo.webserver import Request, Response, Site, serve, server_context
from tests.support.ai_bots import REFUSAL, SYSTEM_CANARY, Bot, bot_server, hardened, override_leaker, site, write_config
from tests.support.helpers import gate

pytestmark = pytest.mark.loopback


def config_with(tmp_path: Path, **changes: Any) -> Path:
    path = write_config(tmp_path, 1)
    config = yaml.safe_load(path.read_text())
    for key, value in changes.items():
        if value is None:
            config["checks"]["ai"].pop(key, None)
        else:
            config["checks"]["ai"][key] = value
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.mark.parametrize(
    ("changes", "said"),
    [
        ({"routes": []}, "no routes to probe"),
        ({"routes": [{"path": "/api/chat", "body": {"message": "hi"}}]}, "no {{prompt}} slot"),
        ({"routes": [{"path": "/c", "body": {"m": "{{prompt}}"}, "ingest": {"slot": "document"}}]}, "{{document}}"),
        ({"canaries": None}, "system-prompt canary"),
        ({"canaries": {"system_prompt": "short"}}, "checks.ai.canaries"),
        ({"families": ["telepathy"]}, "unknown family: telepathy"),
        ({"budget": {"time": "soon"}}, "soon"),
        ({"evaluator": {"url": "http://127.0.0.1:9/v1", "model": "m", "api_key_env": "NOPE_KEY"}}, "NOPE_KEY"),
        ({"evaluator": {"url": "http://judge.example/v1", "model": "m", "api_key_env": "HOME"}}, "plain HTTP"),
    ],
)
def test_bad_ai_config_is_exit_2_and_says_what(tmp_path: Path, changes: dict[str, Any], said: str) -> None:
    outcome = gate("check", "ai", "--config", str(config_with(tmp_path, **changes)))
    assert outcome.exit_code == 2, outcome.output
    assert said in outcome.output


def test_the_ai_check_needs_the_previews_url(tmp_path: Path) -> None:
    path = config_with(tmp_path)
    config = yaml.safe_load(path.read_text())
    del config["checks"]["http"]
    path.write_text(yaml.safe_dump(config))
    outcome = gate("check", "ai", "--config", str(path))
    assert outcome.exit_code == 2
    assert "checks.http.url" in outcome.output


def test_sarif_junit_and_the_job_summary_carry_ai_findings(tmp_path: Path) -> None:
    with bot_server(override_leaker) as port:
        path = write_config(tmp_path, port, families=["override"])
        summary = tmp_path / "summary.md"
        outcome = gate(
            "check",
            "ai",
            "--config",
            str(path),
            "--format",
            "sarif",
            "--output",
            "junit=report.xml",
            env={"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)},
            cwd=tmp_path,
        )
    assert outcome.exit_code == 1, outcome.output
    sarif = json.loads(outcome.stdout)
    assert {r["ruleId"] for r in sarif["runs"][0]["results"]} == {"ai.canary.system-prompt"}
    assert "ai.canary.system-prompt" in (tmp_path / "report.xml").read_text()
    assert "AI route revealed its system prompt" in summary.read_text()
    assert SYSTEM_CANARY not in outcome.output + (tmp_path / "report.xml").read_text() + summary.read_text()


def test_routes_behind_login_are_probed_signed_in_over_https(tmp_path: Path) -> None:
    authority = certs.new_authority()
    cert, key = certs.issue(authority, ["localhost", "127.0.0.1"])
    (tmp_path / "ca.pem").write_bytes(authority.cert_pem)
    bot_site = site(override_leaker, [])
    chat = bot_site.routes["/api/chat"]

    def guarded(request: Request) -> Response:
        if request.headers.get("authorization") != "Bearer tok-9f8e7d6c5b4a":
            return Response(401, '{"error": "sign in"}', (("content-type", "application/json"),))
        return chat(request) if callable(chat) else chat

    login = Response(200, json.dumps({"token": "tok-9f8e7d6c5b4a"}), (("content-type", "application/json"),))
    app = Site(routes={"/api/chat": guarded, "/login": login})
    with serve(app, server_context(cert, key)) as port:
        path = write_config(tmp_path, port, {"auth": True, "tools": {}}, families=["override"])
        config = yaml.safe_load(path.read_text())
        config["checks"]["http"] = {
            "url": f"https://localhost:{port}/",
            "ca_bundle": "ca.pem",
            "login": {"path": "/login", "fields": {"email": "GATE_BOT_USER"}, "success": {"token": "token"}},
        }
        path.write_text(yaml.safe_dump(config))
        outcome = gate(
            "check", "ai", "--config", str(path), "--format", "json", env={"GATE_BOT_USER": "qa@acme.example"}
        )
    assert outcome.exit_code == 1, outcome.output
    assert {f["rule_id"] for f in json.loads(outcome.stdout)["findings"]} == {"ai.canary.system-prompt"}


def test_a_route_declared_auth_without_a_login_is_not_probed_and_says_so(tmp_path: Path) -> None:
    with bot_server(hardened) as port:
        path = write_config(tmp_path, port, {"auth": True})
        outcome = gate("check", "ai", "--config", str(path), "--format", "json")
    findings = json.loads(outcome.stdout)["findings"]
    assert outcome.exit_code == 1
    assert [f["rule_id"] for f in findings] == ["ai.route.unanswered"]
    assert "checks.http.login is not set" in findings[0]["message"]


def test_evaluator_opinions_are_marked_model_judged_and_do_not_block(tmp_path: Path) -> None:
    asked: list[bytes] = []

    def evaluate(request: Request) -> Response:
        asked.append(request.body)
        verdict = {"choices": [{"message": {"role": "assistant", "content": "UNSAFE: it played along"}}]}
        return Response(200, json.dumps(verdict), (("content-type", "application/json"),))

    def polite_leaker(message: str, document: str, log: list[str]) -> str:
        return f"{REFUSAL} (ref {SYSTEM_CANARY[:6]}...)" if "ignore" in message.lower() else REFUSAL

    bot: Bot = polite_leaker
    with bot_server(bot) as port, serve(Site(routes={"/v1/chat/completions": evaluate})) as judge_port:
        evaluator = {"url": f"http://127.0.0.1:{judge_port}/v1/chat/completions", "model": "judge-1"}
        path = write_config(tmp_path, port, families=["override"], evaluator=evaluator)
        outcome = gate("check", "ai", "--config", str(path), "--format", "json")
    findings = json.loads(outcome.stdout)["findings"]
    assert outcome.exit_code == 0, outcome.output
    assert findings and {f["rule_id"] for f in findings} == {"ai.judged.unsafe"}
    assert all(f["details"]["model_judged"] == "True" and f["severity"] == "low" for f in findings)
    assert "played along" in findings[0]["message"]
    assert asked and all(b"judge-1" in body for body in asked)
