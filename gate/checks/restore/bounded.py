"""Runs a program whose standard output goes to a file, killed at a deadline or a size bound.

Both the declared backup command and pg_restore (whose SQL of a compressed dump can be many times
the dump's size) write through here, so neither can fill the disk or hang the run.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Mapping
from pathlib import Path

from gate.errors import CheckFailure

_POLL = 0.05


def run_to_file(
    argv: list[str], out: Path, *, what: str, timeout: float, max_bytes: int, cwd: Path, env: Mapping[str, str]
) -> tuple[int, str]:
    """The exit code and the last 64 KiB of standard error; CheckFailure past the deadline or bound."""
    errors = out.with_name(out.name + ".stderr")
    started = time.monotonic()
    # Both streams go to files: a pipe the program fills while the gate polls would stall it.
    with out.open("wb") as stdout, errors.open("wb") as stderr:
        process = subprocess.Popen(argv, stdout=stdout, stderr=stderr, stdin=subprocess.DEVNULL, cwd=cwd, env=dict(env))
        try:
            while process.poll() is None:
                if time.monotonic() - started > timeout:
                    raise CheckFailure(f"{what} did not finish within {timeout:.0f}s")
                _within(out, max_bytes, what)
                time.sleep(_POLL)
        finally:
            if process.poll() is None:
                process.kill()
            process.wait()
    _within(out, max_bytes, what)
    with errors.open("rb") as handle:
        handle.seek(max(0, errors.stat().st_size - 64 * 1024))
        return process.returncode, handle.read().decode("utf-8", "replace")


def _within(out: Path, max_bytes: int, what: str) -> None:
    if out.stat().st_size > max_bytes:
        raise CheckFailure(f"{what} wrote more than {max_bytes} bytes; stopped")
