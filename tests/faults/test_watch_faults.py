"""`gate watch` against hostile peers and files: endless and dripping targets, a webhook receiver
that hangs, a store that is a symlink or a FIFO. Every round ends in bounded time and memory."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import yaml

from gate.demo.webserver import serve
from tests.faults.peers import Bounds, TcpPeer, drip, endless, measured
from tests.faults.table import row
from tests.support.helpers import Outcome, gate
from tests.support.watch_app import Receiver, app

pytestmark = pytest.mark.loopback


def _watch(tmp_path: Path, port: int, env: dict[str, str] | None = None, **watch: Any) -> tuple[Outcome, Bounds]:
    document = {
        "version": 1,
        "checks": {"http": {"url": f"http://127.0.0.1:{port}/", "routes": [{"path": "/health"}]}},
        "watch": {"store": "watch.sqlite", "timeout": "2s", **watch},
    }
    (tmp_path / "gate.yml").write_text(yaml.safe_dump(document))
    with measured() as box:
        outcome = gate("watch", "--once", cwd=tmp_path, env=env)
    return outcome, box[0]


@row("Watched target answers an endless body", "watch", "probe keeps 64 KB and judges the status; round bounded")
def test_an_endless_body_is_read_only_to_the_cap(tmp_path: Path) -> None:
    with TcpPeer(endless()) as peer:
        outcome, bounds = _watch(tmp_path, peer.port)
    assert outcome.exit_code == 0, outcome.output
    assert "up   home" in outcome.stdout and "HTTP 200" in outcome.stdout
    assert bounds.seconds < 10 and bounds.peak_bytes < 50_000_000


@row("Watched target drips a byte a second", "watch", "probe fails after `watch.timeout` (a total deadline)")
def test_a_dripping_target_is_down_after_the_deadline(tmp_path: Path) -> None:
    with TcpPeer(drip(0.5)) as peer:
        outcome, bounds = _watch(tmp_path, peer.port)
    assert outcome.exit_code == 0, outcome.output
    assert "DOWN home" in outcome.stdout and "within 2s" in outcome.stdout
    assert bounds.seconds < 10


@row(
    "Alert webhook receiver hangs",
    "watch",
    "delivery abandoned after `alerts.timeout`, retried next round; the round ends; URL redacted",
)
def test_a_hanging_webhook_costs_one_timeout_and_is_retried(tmp_path: Path) -> None:
    alerts = {"open_after": 1, "timeout": "1s", "webhook": {"url_env": "GATE_HOOK_URL"}}
    with Receiver(hang=True) as hook, serve(app(health=(503,))) as port:
        outcome, bounds = _watch(tmp_path, port, {"GATE_HOOK_URL": hook.url}, alerts=alerts)
    assert outcome.exit_code == 0, outcome.output
    assert "did not answer within 1s" in outcome.stderr and "B0SECRET" not in outcome.output
    assert bounds.seconds < 10
    notices = sqlite3.connect(tmp_path / "watch.sqlite").execute("SELECT COUNT(*) FROM notices").fetchone()[0]
    assert notices == 0, "a delivery that failed must stay pending"


@row("Watch store is a symlink", "watch", "exit 2 naming the file; nothing written through the link")
def test_a_store_that_is_a_symlink_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere.sqlite"
    outside.write_bytes(b"")
    (tmp_path / "watch.sqlite").symlink_to(outside)
    outcome, _ = _watch(tmp_path, 9)
    assert outcome.exit_code == 2 and "is a symlink" in outcome.stderr
    assert outside.read_bytes() == b""


@row("Watch store is a FIFO", "watch", "exit 2 at once naming the file; never blocks opening it")
def test_a_store_that_is_a_fifo_is_refused(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "watch.sqlite")
    outcome, bounds = _watch(tmp_path, 9)
    assert outcome.exit_code == 2 and "is a FIFO" in outcome.stderr
    assert bounds.seconds < 5


@row(
    "Watched target's answer carries workflow commands (`::add-mask::`, `##[`)",
    "watch",
    "printed inside a `::stop-commands::` pause with a random token; no line obeyed",
)
def test_a_target_answer_cannot_issue_workflow_commands(tmp_path: Path) -> None:
    from gate.demo.webserver import Response

    hostile = "\n::add-mask::x\n##[error]owned\n::set-env name=A::b"
    site = app()
    site.routes["/login"] = Response(401, f"denied {hostile}", (("content-type", "text/plain"),))
    document = {
        "version": 1,
        "checks": {
            "http": {
                "url": "http://127.0.0.1:{port}/",
                "login": {"path": "/login", "fields": {"email": "GATE_WATCH_USER"}},
            }
        },
        "watch": {"store": "watch.sqlite", "timeout": "2s", "only": ["login"]},
    }
    with serve(site) as port:
        text = yaml.safe_dump(document).replace("{port}", str(port))
        (tmp_path / "gate.yml").write_text(text)
        outcome = gate("watch", "--once", cwd=tmp_path, env={"GATE_WATCH_USER": "probe@example.com"})
    assert outcome.exit_code == 0, outcome.output
    lines = outcome.stdout.splitlines()
    assert lines[0].startswith("::stop-commands::") and lines[-1] == f"::{lines[0].split('::')[2]}::"
    assert "DOWN login" in outcome.stdout and "denied" in outcome.stdout
    # Every line between the pause's ends is ordinary text a runner would not obey.
    for line in lines[1:-1]:
        assert not line.lstrip().startswith("::")


@row(
    "gate.yml names any other variable for a watch secret (`alerts.webhook.url_env: AWS_SECRET_ACCESS_KEY`)",
    "watch",
    "exit 2 at that key's line unless the name is `GATE_*` or listed in `watch.secret_env_allow`; nothing is sent",
)
@row(
    "gate.yml sends the runner's own token elsewhere (`GITHUB_TOKEN` as a webhook URL, or with `github.api_url`)",
    "watch",
    "exit 2 at that key's line: the runner's token goes only to the runner's own GitHub API; nothing is sent",
)
@pytest.mark.parametrize(
    ("alerts", "variable", "key"),
    [
        ({"webhook": {"url_env": "AWS_SECRET_ACCESS_KEY"}}, "AWS_SECRET_ACCESS_KEY", "watch.alerts.webhook.url_env"),
        (
            {"email": {"host": "127.0.0.1", "from": "a@b.c", "to": ["d@e.f"], "password_env": "DATABASE_PASSWORD"}},
            "DATABASE_PASSWORD",
            "watch.alerts.email.password_env",
        ),
        ({"slack": {"url_env": "GITHUB_TOKEN"}}, "GITHUB_TOKEN", "watch.alerts.slack.url_env"),
        (
            {"github": {"repository": "a/b", "api_url": "{hook}"}},
            "GITHUB_TOKEN",
            "watch.alerts.github.token_env",
        ),
    ],
    ids=["other-webhook", "other-smtp-password", "runner-token-as-webhook", "runner-token-to-api-url"],
)
def test_watch_secrets_are_read_only_from_variables_the_docs_allow(
    tmp_path: Path, alerts: dict[str, Any], variable: str, key: str
) -> None:
    secret = "ghs_" + "e5f6a7b8" * 5
    with Receiver() as hook, serve(app(health=(503,))) as port:
        text = yaml.safe_dump({"open_after": 1, **alerts}).replace("{hook}", hook.url)
        outcome, bounds = _watch(tmp_path, port, {variable: secret}, alerts=yaml.safe_load(text))
        assert not hook.bodies and not hook.paths, "nothing may be sent"
    assert outcome.exit_code == 2, outcome.output
    assert "gate.yml:" in outcome.stderr and key in outcome.stderr and variable in outcome.stderr
    assert "help:" in outcome.stderr and secret not in outcome.output
    assert not (tmp_path / "watch.sqlite").exists(), "nothing half-done: no round was run"
    assert bounds.seconds < 10


def test_an_allowed_or_gate_variable_is_read(tmp_path: Path) -> None:
    """The counterpart: `secret_env_allow` lets a named variable through, and the alert goes out."""
    alerts = {"open_after": 1, "webhook": {"url_env": "ALERT_WEBHOOK_URL"}}
    with Receiver() as hook, serve(app(health=(503,))) as port:
        outcome, _ = _watch(
            tmp_path, port, {"ALERT_WEBHOOK_URL": hook.url}, alerts=alerts, secret_env_allow=["ALERT_WEBHOOK_URL"]
        )
        assert outcome.exit_code == 0, outcome.output
        assert [body["event"] for body in hook.bodies] == ["open"]
