"""The forever loop in-process: slots kept on the clock, a stop signal mid-sleep and mid-round,
and the inputs that make `gate watch` refuse to start."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import pytest

from gate.checks import config_schemas
from gate.config import load_config
from gate.demo.webserver import Request, Response, serve
from gate.watch.config import settings
from gate.watch.store import open_store
from gate.watch.watcher import RoundSummary, Watcher
from tests.support.helpers import gate
from tests.support.watch_app import app, slow, write_config

pytestmark = pytest.mark.loopback


def _watcher(root: Path) -> Watcher:
    config = load_config(root / "gate.yml", check_schemas=config_schemas())
    chosen = settings(config.data, {})
    return Watcher(chosen, config.data, {}, root, open_store(chosen.store, root), [], "test")


def test_rounds_run_on_their_slots_until_the_bound(tmp_path: Path) -> None:
    with serve(app()) as port:
        write_config(tmp_path, port)
        watcher = _watcher(tmp_path)
        seen: list[RoundSummary] = []
        started = time.monotonic()
        done = asyncio.run(watcher.forever(0.3, seen.append, max_rounds=3))
        took = time.monotonic() - started
        watcher.store.close()
    assert done == 3 and len(seen) == 3 and all(r.ok for s in seen for r in s.results)
    assert 0.6 <= took < 3.0


def test_sigterm_during_a_round_abandons_it_and_returns(tmp_path: Path) -> None:
    def stop_then_stall(_: Request) -> Response:
        # Signalled from inside the round, so the loop's own handler is surely installed.
        os.kill(os.getpid(), signal.SIGTERM)
        return slow(5.0)

    with serve(app(slowpoke=stop_then_stall)) as port:
        write_config(tmp_path, port, from_http=False, targets=[{"name": "slowpoke", "path": "/slowpoke"}])
        watcher = _watcher(tmp_path)
        started = time.monotonic()
        done = asyncio.run(watcher.forever(60.0, lambda _: None))
        watcher.store.close()
    assert done == 0 and time.monotonic() - started < 3.0


def test_an_interval_under_ten_seconds_is_refused(tmp_path: Path) -> None:
    write_config(tmp_path, 1)
    outcome = gate("watch", "--every", "2s", cwd=tmp_path)
    assert outcome.exit_code == 2 and "shorter than 10s" in outcome.stderr


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ({"name": "cert", "kind": "tls"}, "needs `host:`"),
        ({"name": "api", "kind": "http"}, "needs `path:`"),
        ({"name": "sign-in", "kind": "login"}, "checks.http declares no login"),
    ],
)
def test_a_target_missing_what_its_probe_needs_is_bad_input(
    tmp_path: Path, target: dict[str, str], message: str
) -> None:
    write_config(tmp_path, 1, targets=[target])
    outcome = gate("watch", "--once", cwd=tmp_path)
    assert outcome.exit_code == 2 and message in outcome.stderr


def test_without_a_url_to_watch_it_says_where_to_set_one(tmp_path: Path) -> None:
    (tmp_path / "gate.yml").write_text("version: 1\nwatch: {owner: '@bob'}\n")
    outcome = gate("watch", "--once", cwd=tmp_path)
    assert outcome.exit_code == 2 and "watch.url" in outcome.stderr


def test_a_store_url_from_an_unset_variable_is_bad_input(tmp_path: Path) -> None:
    write_config(tmp_path, 1, store_env="GATE_WATCH_STORE_URL")
    outcome = gate("watch", "--once", cwd=tmp_path)
    assert outcome.exit_code == 2 and "GATE_WATCH_STORE_URL" in outcome.stderr


def test_the_callers_signal_handlers_come_back_after_the_loop(tmp_path: Path) -> None:
    def mine(signum: int, frame: object) -> None:
        raise AssertionError("not expected")

    before = signal.signal(signal.SIGTERM, mine)
    try:
        with serve(app()) as port:
            write_config(tmp_path, port)
            watcher = _watcher(tmp_path)
            asyncio.run(watcher.forever(0.2, lambda _: None, max_rounds=1))
            watcher.store.close()
        assert signal.getsignal(signal.SIGTERM) is mine
    finally:
        signal.signal(signal.SIGTERM, before)


def test_tls_and_dns_targets_cover_every_declared_host() -> None:
    full = {
        "checks": {
            "http": {"url": "https://app.example.com/", "aliases": ["www.example.com"]},
            "dns": {"domain": "example.com"},
        }
    }
    names = [target.name for target in settings(full, {}).targets]
    # The dns check's domain map (@ and www by default) and the alias, each probed once.
    assert names == [
        "home",
        "tls app.example.com",
        "tls example.com",
        "tls www.example.com",
        "dns app.example.com",
        "dns example.com",
        "dns www.example.com",
    ]
    mapped = {"checks": {"http": {"url": "https://example.com/"}, "dns": {"domain": "example.com", "canonical": "www"}}}
    assert [t.name for t in settings(mapped, {}).targets if t.kind == "dns"] == [
        "dns example.com",
        "dns www.example.com",
    ]
