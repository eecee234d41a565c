"""What every faulted run must show: a closed verdict, a named cause, bounded time and memory."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Mapping
from pathlib import Path

from tests.faults.peers import Bounds
from tests.support.helpers import Outcome

# Generous for a loaded 2-core CI box: the budgets are what the gate promises plus slack, and
# each is far below what a hang (the test's own timeout) or an unbounded read would take.
MEMORY_BUDGET = 64 * 1024 * 1024


def fails_closed(
    outcome: Outcome,
    bounds: Bounds,
    causes: Iterable[str],
    *,
    codes: tuple[int, ...] = (3,),
    seconds: float = 20.0,
    memory: int = MEMORY_BUDGET,
) -> None:
    """The run was blocked (never a pass), said why, and stayed within time and memory."""
    assert outcome.exit_code in codes, outcome.output
    assert outcome.exit_code != 0
    assert "Traceback" not in outcome.output, outcome.output
    for cause in causes:
        assert cause in outcome.output, f"{cause!r} not in:\n{outcome.output}"
    assert bounds.seconds < seconds, f"took {bounds.seconds:.1f}s"
    assert bounds.peak_bytes < memory, f"peak {bounds.peak_bytes} bytes"


REPO = Path(__file__).resolve().parents[2]
# What a `gate` process may hold at its peak: the interpreter and the gate's imports take most
# of it; an unbounded read, decompression or YAML expansion would take hundreds of MB to GBs.
PROCESS_MEMORY_BUDGET = 256 * 1024 * 1024


# Runs the CLI and, however it exits (os._exit included), writes the process's own peak RSS:
# VmHWM belongs to the address space made at exec, where the rusage of a child also counts the
# forked copy of the (large) test process it started as.
MEASURED_GATE = """
import atexit, os, sys

def _record():
    with open("/proc/self/status") as status:
        peak = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
    with open(os.environ["GATE_TEST_PEAK_FILE"], "w") as out:
        out.write(peak)

_real_exit = os._exit

def _exit(code):
    _record()
    _real_exit(code)

os._exit = _exit
atexit.register(_record)
sys.argv = ["gate", *sys.argv[1:]]
from gate.cli import main
main()
"""


def gate_process(
    cwd: Path, *args: str, env: Mapping[str, str] | None = None, timeout: float = 60.0
) -> tuple[Outcome, Bounds]:
    """Run the real `gate` in its own process: exit code, output, wall clock and its own peak RSS.

    A run past `timeout` is killed and shows as such in the outcome (its peak then comes from
    its rusage, which may overstate it).
    """
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as scratch, tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        peak_file = Path(scratch) / "peak-kb"
        process = subprocess.Popen(
            [sys.executable, "-c", MEASURED_GATE, *args],
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            env={**os.environ, "PYTHONPATH": str(REPO), "GATE_TEST_PEAK_FILE": str(peak_file), **(env or {})},
        )
        killer = threading.Timer(timeout, process.kill)
        killer.start()
        try:
            _, status, usage = os.wait4(process.pid, 0)
        finally:
            killer.cancel()
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        outcome = Outcome(process.returncode, out.read().decode(errors="replace"), err.read().decode(errors="replace"))
        peak_kb = int(peak_file.read_text()) if peak_file.exists() else usage.ru_maxrss
    return outcome, Bounds(time.monotonic() - started, peak_kb * 1024)


def closed_run(
    cwd: Path,
    args: Iterable[str],
    causes: Iterable[str],
    *,
    codes: tuple[int, ...] = (2,),
    seconds: float = 15.0,
    timeout: float = 60.0,
) -> Outcome:
    """`gate ARGS` in its own process must fail closed with `codes`, naming `causes`, within bounds."""
    outcome, bounds = gate_process(cwd, *args, timeout=timeout)
    fails_closed(outcome, bounds, causes, codes=codes, seconds=seconds, memory=PROCESS_MEMORY_BUDGET)
    return outcome
