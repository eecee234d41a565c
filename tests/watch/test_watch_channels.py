"""Alert channels against real receivers: GitHub's issues API (the contract server validates each
request against GitHub's OpenAPI description), an SMTP sink (aiosmtpd) and a JSON webhook; every
secret redacted from what they receive."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gate.checks import config_schemas
from gate.config import load_config
from gate.watch.alerts import deliver, evaluate
from gate.watch.channels import channels
from gate.watch.config import Settings, settings
from gate.watch.probes import ProbeResult
from gate.watch.store import Store, open_store
from tests.support.contracts import Contracts
from tests.support.github_server import ContractServer
from tests.support.watch_app import SMTP_PASSWORD, SMTP_USER, Receiver, Sink, email_alert, smtp_sink, write_config

pytestmark = pytest.mark.loopback
TOKEN = "ghs_watchTokenZ0123456789abcdefghijklmnopq"


@pytest.fixture()
def smtp() -> Iterator[tuple[Sink, int]]:
    # The AUTH extension is offered over plain text here only because the sink is on loopback.
    with smtp_sink(SMTP_PASSWORD) as running:
        yield running


@pytest.fixture()
def github(contracts: Contracts) -> Iterator[ContractServer]:
    with ContractServer(contracts.github_rest) as running:
        yield running
    assert not running.violations, running.violations


def _issues(github: ContractServer) -> dict[str, str]:
    """watch.alerts.github against the contract server, the token in GATE_WATCH_TOKEN."""
    return {"repository": "octo-org/app", "token_env": "GATE_WATCH_TOKEN", "api_url": github.base_url}


def _chosen(root: Path, environ: dict[str, str], **watch: Any) -> Settings:
    """Write gate.yml with this `watch:` section and read its settings as `gate watch` does."""
    write_config(root, 1, **watch)
    return settings(load_config(root / "gate.yml", check_schemas=config_schemas()).data, environ)


def _feed(store: Store, chosen: Settings, start: float, details: list[str | None]) -> None:
    """One probe a minute (None is a good one), evaluated after each like a round."""
    for offset, detail in enumerate(details):
        ok = detail is None
        store.add_probes([ProbeResult("health", start + 60 * offset, ok, 20.0, detail or "HTTP 200")], "ci")
        evaluate(store, chosen)


def test_github_issue_email_and_webhook_each_get_open_and_resolved_once(
    tmp_path: Path, github: ContractServer, smtp: tuple[Sink, int]
) -> None:
    sink, port = smtp
    with Receiver() as hook:
        environ = {
            "GATE_WATCH_TOKEN": TOKEN,
            "GATE_HOOK_URL": hook.url,
            "GATE_SMTP_USER": SMTP_USER,
            "GATE_SMTP_PASSWORD": SMTP_PASSWORD,
        }
        alerts = {
            "github": _issues(github),
            "webhook": {"url_env": "GATE_HOOK_URL"},
            "email": email_alert(port, "none"),
        }
        chosen = _chosen(tmp_path, environ, alerts=alerts)
        store = open_store("watch.sqlite", tmp_path)
        made = channels(chosen, environ, tmp_path)
        # Down for three probes, back for two: one incident, opened then resolved.
        down = f"HTTP 503 from https://hooks.example/{TOKEN}"
        _feed(store, chosen, time.time() - 600, [None, down, down, down, None, None])
        # Delivered twice over: the second pass finds every notice already sent.
        assert asyncio.run(deliver(store, chosen, made)) == 2 * len(made)
        assert asyncio.run(deliver(store, chosen, made)) == 0
        store.close()
    # GitHub: one issue, opened then commented on and closed with the downtime.
    (issue,) = github.state.issues.values()
    assert issue["state"] == "closed" and issue["title"].startswith("Down: health")
    assert "Owner: @oncall-alice" in issue["body"] and "Last good probe:" in issue["body"]
    (closing,) = [c["body"] for c in github.state.comments.values()]
    assert "downtime 3m 00s" in closing
    # E-mail: two messages, the second saying it is resolved.
    subjects = [str(m["Subject"]) for m in sink.messages]
    assert subjects[0].startswith("[launch-gate] Down: health") and subjects[1].startswith("[launch-gate] Resolved")
    # Webhook: open then resolved.
    assert [body["event"] for body in hook.bodies] == ["open", "resolved"]
    everything = " ".join([*github.bodies(), *(m.get_payload() for m in sink.messages), str(hook.bodies)])
    assert TOKEN not in everything and SMTP_PASSWORD not in everything


def test_a_channel_whose_secret_is_missing_is_bad_input(tmp_path: Path) -> None:
    from gate.errors import InputError

    chosen = _chosen(tmp_path, {}, alerts={"slack": {"url_env": "GATE_SLACK_WEBHOOK_URL"}})
    with pytest.raises(InputError, match="SLACK_WEBHOOK_URL, which is not set"):
        channels(chosen, {}, tmp_path)


def test_the_report_counts_github_deployments_to_the_environment(tmp_path: Path, github: ContractServer) -> None:
    from tests.support.helpers import gate

    def iso(hours_ago: float) -> str:
        moment = time.time() - hours_ago * 3600
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(moment))

    # Newest first, as GitHub lists them: two production deploys today, one staging, one last week.
    github.state.deployments = [
        ("production", iso(1)),
        ("staging", iso(2)),
        ("production", iso(5)),
        ("production", iso(200)),
    ]
    write_config(
        tmp_path,
        1,
        alerts={"github": _issues(github)},
        report={"github_deployments": "production"},
    )
    store = open_store("watch.sqlite", tmp_path)
    store.add_deploy(time.time() - 60, "manual")
    store.close()
    outcome = gate("watch", "report", cwd=tmp_path, env={"GATE_WATCH_TOKEN": TOKEN})
    assert outcome.exit_code == 0, outcome.output
    assert "Deploys: 3" in outcome.stdout


def test_a_lost_history_updates_the_open_issue_instead_of_opening_another(
    tmp_path: Path, github: ContractServer
) -> None:
    environ = {"GATE_WATCH_TOKEN": TOKEN}
    chosen = _chosen(tmp_path, environ, alerts={"github": _issues(github)})
    made = channels(chosen, environ, tmp_path)
    start = time.time() - 3600
    first = open_store("first.sqlite", tmp_path)
    for offset in range(3):
        first.add_probes([ProbeResult("health", start + 60 * offset, False, None, "HTTP 503")], "ci")
    evaluate(first, chosen)
    assert asyncio.run(deliver(first, chosen, made)) == 1
    first.close()
    # The cache was evicted: a new, empty history sees the same outage go on, then end.
    second = open_store("second.sqlite", tmp_path)
    for offset, ok in enumerate([False, False, False, True, True], start=10):
        second.add_probes([ProbeResult("health", start + 60 * offset, ok, 9.0, "HTTP 200" if ok else "HTTP 503")], "ci")
        evaluate(second, chosen)
        asyncio.run(deliver(second, chosen, made))
    second.close()
    (issue,) = github.state.issues.values()
    assert issue["state"] == "closed"
    comments = [c["body"] for c in github.state.comments.values()]
    assert len(comments) == 2 and comments[0].startswith("Down: health") and "Resolved" in comments[1]


@pytest.mark.parametrize(
    ("alerts", "environ", "message"),
    [
        (
            {"webhook": {"url_env": "GATE_HOOK"}},
            {"GATE_HOOK": "http://hooks.example.com/T0/B0/secretpath"},
            "not an https URL",
        ),
        ({"slack": {"url_env": "GATE_HOOK"}}, {"GATE_HOOK": "ftp://hooks.example.com/secretpath"}, "not an https URL"),
        (
            {"github": {"repository": "a/b", "token_env": "GATE_TOKEN", "api_url": "http://api.example.com/"}},
            {"GATE_TOKEN": TOKEN},
            "github.api_url is not an https URL",
        ),
        (
            {
                "email": {
                    "host": "smtp.example.com",
                    "from": "a@example.com",
                    "to": ["b@example.com"],
                    "username_env": "GATE_U",
                    "password_env": "GATE_P",
                    "security": "none",
                }
            },
            {"GATE_U": SMTP_USER, "GATE_P": SMTP_PASSWORD},
            "unencrypted",
        ),
    ],
)
def test_secrets_never_go_out_unencrypted(
    tmp_path: Path, alerts: dict[str, object], environ: dict[str, str], message: str
) -> None:
    from gate.errors import InputError

    chosen = _chosen(tmp_path, environ, alerts=alerts)
    with pytest.raises(InputError, match=message):
        channels(chosen, environ, tmp_path)


def test_the_open_issue_is_told_when_the_failure_changes_and_only_then(tmp_path: Path, github: ContractServer) -> None:
    with Receiver() as hook:
        environ = {"GATE_WATCH_TOKEN": TOKEN, "GATE_HOOK_URL": hook.url}
        chosen = _chosen(tmp_path, environ, alerts={"github": _issues(github), "webhook": {"url_env": "GATE_HOOK_URL"}})
        store = open_store("watch.sqlite", tmp_path)
        made = channels(chosen, environ, tmp_path)
        slow = [f"slow: {ms} ms, over its 500 ms budget (HTTP 200)" for ms in (812, 1290, 977, 1004)]
        timeline: list[str | None] = [
            None,
            *["HTTP 503"] * 4,  # opens; the fourth 503 is no news
            "HTTP 500",  # one probe failing another way is not yet a change (open_after: 3)
            "HTTP 503",
            *["HTTP 500"] * 3,  # now it is: 503 -> 500
            *["ConnectError: [Errno 111] Connection refused"] * 3,
            *slow,  # latencies differ each probe, the failure does not: one change, not four
            None,
            None,
        ]
        start = time.time() - 3600
        # Delivered after every round, as the watcher does, and once more at the end.
        for offset, detail in enumerate(timeline):
            _feed(store, chosen, start + 60 * offset, [detail])
            asyncio.run(deliver(store, chosen, made))
        assert asyncio.run(deliver(store, chosen, made)) == 0
        store.close()
    (issue,) = github.state.issues.values()
    assert issue["state"] == "closed"
    comments = [c["body"] for c in github.state.comments.values()]
    assert len(comments) == 4, comments
    assert comments[0].startswith("Still down, failing differently: health (HTTP 500)")
    assert "Before that: HTTP 503" in comments[0]
    assert "Connection refused" in comments[1] and "Before that: HTTP 500" in comments[1]
    assert "slow: 977 ms" in comments[2] and "Connection refused" in comments[2].split("Before that:")[1]
    assert comments[3].startswith("Resolved: health")
    # The webhook pages on open and resolve only: changes go to the issue that follows the incident.
    assert [body["event"] for body in hook.bodies] == ["open", "resolved"]
    assert TOKEN not in " ".join(github.bodies())


def test_a_target_failing_a_new_way_every_round_is_told_a_bounded_number_of_times(
    tmp_path: Path, github: ContractServer
) -> None:
    from gate.watch.alerts import MAX_CHANGES

    environ = {"GATE_WATCH_TOKEN": TOKEN}
    chosen = _chosen(tmp_path, environ, alerts={"open_after": 1, "github": _issues(github)})
    made = channels(chosen, environ, tmp_path)
    store = open_store("watch.sqlite", tmp_path)
    start = time.time() - 7200
    for offset in range(3 * MAX_CHANGES):
        _feed(store, chosen, start + 60 * offset, [f"HTTP {500 + offset % 4}"])
        asyncio.run(deliver(store, chosen, made))
    store.close()
    (issue,) = github.state.issues.values()
    assert issue["state"] == "open"
    assert len(github.state.comments) == MAX_CHANGES
