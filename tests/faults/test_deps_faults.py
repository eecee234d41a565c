"""The deps check against an OSV service that is down, wrong or slow: never a pass."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.faults.common import fails_closed
from tests.faults.peers import Bounds, TcpPeer, answer, drip, endless, measured, refused_port, silent
from tests.faults.table import row
from tests.support.helpers import Outcome, gate, write_files

NPM_LOCK = json.dumps(
    {
        "name": "app",
        "lockfileVersion": 3,
        "packages": {"": {"name": "app"}, "node_modules/left-pad": {"version": "1.3.0"}},
    }
)
LOCKS = {"npm": {"package-lock.json": NPM_LOCK}, "python": {"requirements.txt": "click==8.1.7\n"}}
NOT_FOUND = b'{"code":5,"message":"Not Found"}'


@pytest.fixture(scope="module", autouse=True)
def _imported() -> None:
    """pip-audit's first import takes seconds on a loaded box; the bounds are for the fault."""
    import pip_audit._audit
    import pip_audit._service  # noqa: F401


def _project(tmp_path: Path, ecosystem: str, url: str, check_timeout: str = "5m") -> None:
    write_files(
        tmp_path,
        {
            **LOCKS[ecosystem],
            "gate.yml": f"version: 1\nchecks:\n  env:\n    enabled: false\n  deps:\n    service: osv\n"
            f"    osv_url: {url}/v1/query\n    request_timeout: 2s\n    timeout: {check_timeout}\n",
        },
    )


def _audit(tmp_path: Path, ecosystem: str, url: str) -> tuple[Outcome, Bounds]:
    _project(tmp_path, ecosystem, url)
    with measured() as box:
        outcome = gate("check", "deps", "--format", "json", cwd=tmp_path)
    return outcome, box[0]


@row("OSV service down (connection refused)", "deps", "exit 3: names the service and the refused connection")
@pytest.mark.parametrize("ecosystem", ["npm", "python"])
def test_osv_down_fails_closed(tmp_path: Path, ecosystem: str) -> None:
    outcome, bounds = _audit(tmp_path, ecosystem, f"http://127.0.0.1:{refused_port()}")
    fails_closed(outcome, bounds, ["deps", "could not be reached"])
    assert "refused" in outcome.output.lower()


@row("OSV answers 404 for everything", "deps", "exit 3: names the service and HTTP 404; nothing counts as clean")
@pytest.mark.parametrize("ecosystem", ["npm", "python"])
def test_osv_404_for_everything_fails_closed(tmp_path: Path, ecosystem: str) -> None:
    with TcpPeer(answer(404, NOT_FOUND)) as peer:
        outcome, bounds = _audit(tmp_path, ecosystem, peer.url)
    fails_closed(outcome, bounds, ["deps", "404"])


@row("OSV answers 500", "deps", "exit 3: names the service and HTTP 500")
@pytest.mark.parametrize("ecosystem", ["npm", "python"])
def test_osv_500_fails_closed(tmp_path: Path, ecosystem: str) -> None:
    with TcpPeer(answer(500, b"upstream exploded")) as peer:
        outcome, bounds = _audit(tmp_path, ecosystem, peer.url)
    fails_closed(outcome, bounds, ["deps", "500"])


@row("OSV accepts and never answers (slow)", "deps", "exit 3 after `request_timeout`: names the service")
@pytest.mark.parametrize("ecosystem", ["npm", "python"])
def test_osv_that_never_answers_times_out(tmp_path: Path, ecosystem: str) -> None:
    with TcpPeer(silent) as peer:
        outcome, bounds = _audit(tmp_path, ecosystem, peer.url)
    fails_closed(outcome, bounds, ["deps"], seconds=20)
    assert "time" in outcome.output.lower()


@row("OSV answers a 200 too slowly", "deps", "exit 3 after `request_timeout`: names the service")
def test_osv_slow_200_times_out(tmp_path: Path) -> None:
    with TcpPeer(answer(200, b'{"vulns": []}', delay=30)) as peer:
        outcome, bounds = _audit(tmp_path, "npm", peer.url)
    fails_closed(outcome, bounds, ["deps", "in time"], seconds=20)


@row(
    "OSV answers with a 10 GB Content-Length, or a body that never ends",
    "deps",
    "exit 3 after reading at most 32 MB: names the service and the size cap",
)
@pytest.mark.parametrize("ecosystem", ["npm", "python"])
@pytest.mark.parametrize("length", [10 * 1024**3, None], ids=["10GB-content-length", "endless-chunked"])
def test_osv_body_without_end_is_cut_at_the_cap(tmp_path: Path, ecosystem: str, length: int | None) -> None:
    with TcpPeer(endless(length)) as peer:
        outcome, bounds = _audit(tmp_path, ecosystem, peer.url)
    # The read itself is capped at 32 MB; the parse copies it once.
    fails_closed(outcome, bounds, ["deps", "more than 33554432 bytes"], memory=160 * 1024 * 1024)


@row(
    "OSV drips its answer a byte a second",
    "deps",
    "exit 3 at the check's `timeout`; the process exits then, not when the peer stops",
)
@pytest.mark.parametrize("ecosystem", ["npm", "python"])
def test_osv_that_drips_is_cut_at_the_check_deadline_and_the_process_exits(tmp_path: Path, ecosystem: str) -> None:
    with TcpPeer(drip(1.0)) as peer:
        _project(tmp_path, ecosystem, peer.url, check_timeout="3s")
        started = time.monotonic()
        completed = subprocess.run(
            [sys.executable, "-m", "gate", "run"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
        )
    outcome = Outcome(completed.returncode, completed.stdout, completed.stderr)
    fails_closed(outcome, Bounds(time.monotonic() - started, 0), ["deps", "3s deadline"], seconds=25)
