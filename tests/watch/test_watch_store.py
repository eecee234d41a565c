"""The history survives what kills watchers: kill -9 mid-write (SQLite WAL), SIGTERM between
rounds (clean exit 0), and two watchers sharing one PostgreSQL history send each notice once."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from gate.checks import config_schemas
from gate.config import load_config
from gate.demo.webserver import serve
from gate.postgres import throwaway_server
from gate.watch.alerts import Alert, Channel, deliver, evaluate
from gate.watch.config import settings
from gate.watch.probes import ProbeResult
from gate.watch.store import open_store
from tests.support.watch_app import app, write_config

WRITER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from gate.watch.probes import ProbeResult
    from gate.watch.store import open_store
    store = open_store(sys.argv[1], Path.cwd())
    n = 0
    while True:
        store.add_probes([ProbeResult("home", time.time(), n % 7 != 0, 12.5, "HTTP 200") for _ in range(200)], "w")
        n += 1
        if n == 3:
            print("writing", flush=True)
    """
)


def test_a_writer_killed_mid_write_leaves_a_readable_store(tmp_path: Path) -> None:
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, "history.sqlite"], cwd=tmp_path, stdout=subprocess.PIPE, text=True
    )
    try:
        assert writer.stdout is not None and writer.stdout.readline().strip() == "writing"
        time.sleep(0.3)
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait(timeout=10)
    assert writer.returncode == -signal.SIGKILL
    raw = sqlite3.connect(tmp_path / "history.sqlite")
    assert raw.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    # Whole rounds only: a transaction of 200 rows is in or out, never cut in half.
    count = raw.execute("SELECT COUNT(*) FROM probes").fetchone()[0]
    assert count >= 600 and count % 200 == 0
    raw.close()
    store = open_store("history.sqlite", tmp_path)
    store.add_probes([ProbeResult("home", time.time(), True, 1.0, "HTTP 200")], "next")
    assert store.recent("home", 1)[0].detail == "HTTP 200"
    store.close()


@pytest.mark.loopback
def test_sigterm_stops_the_loop_cleanly_with_the_history_kept(tmp_path: Path) -> None:
    with serve(app()) as port:
        write_config(tmp_path, port)
        watcher = subprocess.Popen(
            [sys.executable, "-m", "gate", "watch", "--every", "10s"],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert watcher.stdout is not None
            first = watcher.stdout.readline()
            assert "home" in first, watcher.stderr.read() if watcher.stderr else ""
            watcher.stdout.readline()
            watcher.send_signal(signal.SIGTERM)
            out, err = watcher.communicate(timeout=15)
        finally:
            if watcher.poll() is None:
                watcher.kill()
    assert watcher.returncode == 0, err
    assert "watch stopped after 1 round(s)" in out
    rows = sqlite3.connect(tmp_path / "watch.sqlite").execute("SELECT COUNT(*) FROM probes").fetchone()[0]
    assert rows == 2


class Counting(Channel):
    name = "counting"

    def __init__(self) -> None:
        self.sent: list[str] = []

    async def send(self, alert: Alert, opened_ref: str | None) -> str:
        self.sent.append(f"{alert.event} {alert.target} after {opened_ref}")
        return f"ref-{alert.incident}"


@pytest.mark.loopback
def test_two_watchers_on_one_postgresql_history_send_each_notice_once(tmp_path: Path) -> None:
    write_config(tmp_path, 1)
    config = load_config(tmp_path / "gate.yml", check_schemas=config_schemas())
    chosen = settings(config.data, {})
    with throwaway_server() as server:
        first, second = open_store(server.dsn, tmp_path), open_store(server.dsn, tmp_path)
        channel = Counting()
        now = time.time()
        for offset, ok in enumerate([False, False, False, True, True]):
            watcher = first if offset % 2 else second
            watcher.add_probes(
                [ProbeResult("health", now + offset, ok, 5.0, "HTTP 503" if not ok else "HTTP 200")], "w"
            )
            for store in (first, second):
                evaluate(store, chosen)
                asyncio.run(deliver(store, chosen, [channel]))
        incidents = first.incidents_since(0)
        first.close()
        second.close()
    assert channel.sent == ["open health after None", f"resolved health after ref-{incidents[0].id}"]
    assert len(incidents) == 1 and incidents[0].resolved_at == now + 3
    assert incidents[0].opened_at == now and incidents[0].detail == "HTTP 503"


def test_environment_store_url_password_is_redacted(tmp_path: Path) -> None:
    from gate.errors import InputError
    from gate.redact import scrub

    url = "postgresql://watcher:s3cret-pg-passw0rd@127.0.0.1:1/history"
    with pytest.raises(InputError) as caught:
        open_store(url, tmp_path)
    assert "s3cret-pg-passw0rd" not in caught.value.render()
    assert "s3cret-pg-passw0rd" not in scrub(f"failed {url}")
    assert os.environ.get("PGPASSWORD") is None
