"""`gate watch --once` against an app that goes down and comes back: incidents open after three
failed probes, resolve after two good ones, and each is told once per channel."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from gate.demo.webserver import serve
from tests.support.helpers import gate
from tests.support.watch_app import Receiver, app, slow, write_config

pytestmark = pytest.mark.loopback


def _rounds(root: Path, count: int, env: dict[str, str] | None = None) -> list[str]:
    outputs = []
    for _ in range(count):
        outcome = gate("watch", "--once", "--config", str(root / "gate.yml"), cwd=root, env=env)
        assert outcome.exit_code == 0, outcome.stderr
        outputs.append(outcome.stdout)
    return outputs


def test_an_outage_opens_one_incident_and_its_recovery_resolves_it(tmp_path: Path) -> None:
    # Down for four rounds, then up: opened on the third failure, resolved on the second success.
    health = (200, 503, 503, 503, 503, 200, 200, 200)
    with Receiver() as hook, serve(app(health=health)) as port:
        write_config(
            tmp_path, port, alerts={"webhook": {"url_env": "GATE_HOOK_URL"}, "slack": {"url_env": "GATE_SLACK_URL"}}
        )
        env = {"GATE_HOOK_URL": hook.url, "GATE_SLACK_URL": hook.url + "/slack"}
        outputs = _rounds(tmp_path, 3, env)
        assert "DOWN health" in outputs[1] and "up   home" in outputs[1]
        assert hook.bodies == [], "two failures are not an incident yet"
        _rounds(tmp_path, 5, env)
    generic = [body for body, path in zip(hook.bodies, hook.paths, strict=True) if not path.endswith("/slack")]
    slack = [body for body, path in zip(hook.bodies, hook.paths, strict=True) if path.endswith("/slack")]
    assert [body["event"] for body in generic] == ["open", "resolved"]
    opened, resolved = generic
    assert opened["target"] == "health" and opened["failed"] == "HTTP 503"
    assert opened["owner"] == "@oncall-alice" and opened["last_good"] is not None
    assert opened["check_first"].startswith("the app's logs")
    assert resolved["downtime_s"] > 0 and resolved["downtime"]
    assert len(slack) == 2 and slack[0]["text"].startswith(":rotating_light: Down: health")
    rows = sqlite3.connect(tmp_path / "watch.sqlite").execute("SELECT target, resolved_at FROM incidents").fetchall()
    assert len(rows) == 1 and rows[0][0] == "health" and rows[0][1] is not None


def test_failures_that_never_last_n_rounds_open_nothing(tmp_path: Path) -> None:
    flapping = (503, 200, 503, 503, 200, 503, 200, 503, 503, 200)
    with Receiver() as hook, serve(app(health=flapping)) as port:
        write_config(tmp_path, port, alerts={"webhook": {"url_env": "GATE_HOOK_URL"}})
        _rounds(tmp_path, len(flapping), {"GATE_HOOK_URL": hook.url})
    assert hook.bodies == []


def test_a_route_slower_than_its_budget_fails_its_probe(tmp_path: Path) -> None:
    with serve(app(slowpoke=slow(0.4))) as port:
        write_config(tmp_path, port, targets=[{"name": "slowpoke", "path": "/slowpoke", "budget": "200ms"}])
        (output,) = _rounds(tmp_path, 1)
    assert "DOWN slowpoke" in output and "over its 200 ms budget" in output


def test_a_delivery_that_fails_is_retried_next_round_and_sent_once(tmp_path: Path) -> None:
    health = (503,)
    with serve(app(health=health)) as port:
        write_config(tmp_path, port, alerts={"webhook": {"url_env": "GATE_HOOK_URL"}, "timeout": "1s"})
        # Nothing listens on the hook's port yet: the open notice must wait, not be lost.
        with Receiver() as dead:
            url = dead.url
        _rounds(tmp_path, 3, {"GATE_HOOK_URL": url})
        with Receiver() as hook:
            _rounds(tmp_path, 2, {"GATE_HOOK_URL": hook.url})
    assert [body["event"] for body in hook.bodies] == ["open"]


def test_watch_only_narrows_and_report_json_counts_deploys(tmp_path: Path) -> None:
    with serve(app()) as port:
        write_config(tmp_path, port, only=["health"])
        (output,) = _rounds(tmp_path, 1)
        assert "health" in output and "home" not in output
        assert gate("watch", "deploy", "--ref", "v1.2.3", cwd=tmp_path).exit_code == 0
        outcome = gate("watch", "report", "--format", "json", "--since", "7d", "--out", "r.json", cwd=tmp_path)
    assert outcome.exit_code == 0, outcome.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["deploys"] == 1 and [t["target"] for t in report["targets"]] == ["health"]
    assert report["targets"][0]["uptime"] == 1.0


def test_a_head_route_is_probed_with_head_and_writes_are_not_replayed(tmp_path: Path) -> None:
    import yaml

    site = app()
    with serve(site) as port:
        write_config(tmp_path, port)
        gate_yml = tmp_path / "gate.yml"
        document = yaml.safe_load(gate_yml.read_text())
        document["checks"]["http"]["routes"] = [
            {"path": "/health", "name": "health", "method": "HEAD"},
            {"path": "/orders", "name": "orders", "method": "POST"},
        ]
        gate_yml.write_text(yaml.safe_dump(document))
        (output,) = _rounds(tmp_path, 1)
    assert "up   health" in output and "orders" not in output
    assert sorted((r.method, r.path) for r in site.requests) == [("GET", "/"), ("HEAD", "/health")]


def test_watch_only_naming_no_target_is_bad_input(tmp_path: Path) -> None:
    write_config(tmp_path, 9, only=["checkout"])
    outcome = gate("watch", "--once", cwd=tmp_path)
    assert outcome.exit_code == 2 and "checkout" in outcome.stderr and "health" in outcome.stderr
