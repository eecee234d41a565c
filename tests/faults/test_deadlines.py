"""Deadlines and SIGTERM while a check is busy: the gate stops on time whatever the check does.

The busy checks are registered by a small driver that then runs the real CLI in its own
process; each spins in Python (holding the GIL between switches) until it is stopped.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.faults.common import REPO, fails_closed
from tests.faults.peers import Bounds
from tests.faults.table import row
from tests.support.helpers import Outcome, write_files

DRIVER = """
import asyncio, sys
from pathlib import Path
from gate import checks
from gate.checks.base import Check

STARTED = Path(sys.argv[1])

def spin():
    STARTED.write_text("busy")
    while True:
        sum(range(10_000))

class BusyRun(Check):
    name = "busyrun"
    summary = "Spins in run()."
    config_schema = {"additionalProperties": True}
    def run(self, ctx):
        spin()
        yield from ()

class BusyPrepare(Check):
    name = "busyprepare"
    summary = "Spins in prepare()."
    config_schema = {"additionalProperties": True}
    def prepare(self, ctx):
        spin()
    def run(self, ctx):
        yield from ()

class BusyWorker(Check):
    name = "busyworker"
    summary = "Awaits a worker thread of the loop's executor that spins."
    config_schema = {"additionalProperties": True}
    is_async = True
    async def arun(self, ctx):
        await asyncio.to_thread(spin)
        yield  # never reached

for check in (BusyRun, BusyPrepare, BusyWorker):
    checks.REGISTRY[check.name] = check

from gate.cli import main
main(sys.argv[2:])
"""

CONFIG = (
    "version: 1\nchecks:\n  env:\n    enabled: false\n  deps:\n    enabled: false\n  secrets:\n    enabled: false\n"
)


def _driven(tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", DRIVER, str(tmp_path / "started"), *args],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)},
    )


def _wait_busy(tmp_path: Path, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while not (tmp_path / "started").exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert (tmp_path / "started").exists(), process.communicate()
    time.sleep(0.2)  # well inside the busy loop


@row(
    "SIGTERM while a check is busy: spinning in `run()`, in `prepare()`, or in a worker thread the loop waits on",
    "any",
    "exit 3 within a second: says it was stopped by SIGTERM and nothing was passed",
)
@pytest.mark.parametrize("check", ["busyrun", "busyprepare", "busyworker"])
def test_sigterm_while_a_check_is_busy_exits_3_within_a_second(tmp_path: Path, check: str) -> None:
    write_files(tmp_path, {"gate.yml": CONFIG})
    process = _driven(tmp_path, "check", check)
    _wait_busy(tmp_path, process)
    signalled = time.monotonic()
    process.send_signal(signal.SIGTERM)
    try:
        stdout, stderr = process.communicate(timeout=30)
    finally:
        process.kill()
    stopped_after = time.monotonic() - signalled
    outcome = Outcome(process.returncode, stdout, stderr)
    fails_closed(outcome, Bounds(stopped_after, 0), ["SIGTERM", "nothing was passed"], seconds=1.0)
    assert stderr.count("stopped by signal") == 1, stderr


@row(
    "A check's `prepare()` never finishes (reading its input)",
    "any",
    "exit 3 at the run's deadline (`run.timeout`): says preparing did not finish; nothing was passed",
)
def test_prepare_runs_under_the_run_deadline(tmp_path: Path) -> None:
    write_files(tmp_path, {"gate.yml": CONFIG + "run:\n  timeout: 2s\n"})
    started = time.monotonic()
    process = _driven(tmp_path, "check", "busyprepare")
    try:
        stdout, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    outcome = Outcome(process.returncode, stdout, stderr)
    fails_closed(
        outcome, Bounds(time.monotonic() - started, 0), ["preparing the checks did not finish", "2s"], seconds=30
    )
