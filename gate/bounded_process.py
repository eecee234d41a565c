"""Runs a program the gate does not control under a deadline and a bound on what it prints.

The migrations check runs the user's declared command (Alembic's --sql, Django's sqlmigrate), the
restore check the declared backup command and pg_restore, whose SQL of a compressed dump can be
many times the dump's size. Each runs here: no shell, stdin closed, in its own process group (so a
child it forks dies with it), the environment the caller passes and nothing else. Past the
deadline or the bound the whole group is killed and the run fails closed (CheckFailure, exit 3).
"""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from gate.errors import CheckFailure

_CHUNK = 65536
STDERR_KEPT = 64 * 1024  # the end of standard error, where a failing tool says why


@dataclass(frozen=True)
class Finished:
    """A run that ended on its own: its exit code, its output (unless it went to a file), its stderr's end."""

    code: int
    stdout: bytes
    stderr: str

    def last_words(self, lines: int = 3) -> str:
        return " / ".join(self.stderr.strip().splitlines()[-lines:])


def run_bounded(
    argv: Sequence[str],
    *,
    what: str,
    cwd: Path,
    env: Mapping[str, str],
    timeout: float,
    max_bytes: int,
    bound: str | None = None,
    stdout_file: Path | None = None,
) -> Finished:
    """Run `argv` to its end. Its standard output is kept in memory, or written to `stdout_file`.

    `what` names the program in every message; `bound` names the limit `max_bytes` comes from
    (e.g. "checks.migrations.max_bytes (5000000 bytes)").
    """
    try:
        process = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
    except OSError as error:
        raise CheckFailure(f"{what} could not start: {error.strerror or error}") from error
    deadline = time.monotonic() + timeout
    streams = _Streams(max_bytes)
    try:
        with contextlib.ExitStack() as files:
            sink = files.enter_context(stdout_file.open("wb")) if stdout_file else None
            problem = streams.pump(process, deadline, sink)
        if problem == "deadline":
            raise CheckFailure(f"{what} did not finish within {timeout:g}s")
        if problem == "bound":
            raise CheckFailure(f"{what} wrote more than {bound or f'{max_bytes} bytes'}; stopped")
        try:
            code = process.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            raise CheckFailure(f"{what} did not finish within {timeout:g}s") from None
    finally:
        if process.returncode is None:
            _kill_group(process)
    return Finished(code, bytes(streams.kept), streams.stderr.decode("utf-8", "replace"))


@dataclass
class _Streams:
    max_bytes: int
    kept: bytearray = field(default_factory=bytearray)
    stderr: bytearray = field(default_factory=bytearray)
    written: int = 0

    def pump(self, process: subprocess.Popen[bytes], deadline: float, sink: BinaryIO | None) -> str | None:
        """Read both pipes until they close; "deadline" or "bound" when the run must be stopped."""
        assert process.stdout is not None and process.stderr is not None
        with process.stdout, process.stderr, selectors.DefaultSelector() as selector:
            selector.register(process.stdout, selectors.EVENT_READ, self.stdout)
            selector.register(process.stderr, selectors.EVENT_READ, self.error)
            while selector.get_map():
                left = deadline - time.monotonic()
                if left <= 0:
                    return "deadline"
                for key, _ in selector.select(min(left, 1.0)):
                    chunk = os.read(key.fd, _CHUNK)
                    if not chunk:
                        selector.unregister(key.fileobj)
                    elif not key.data(chunk, sink):
                        return "bound"
                del self.stderr[:-STDERR_KEPT]
        return None

    def error(self, chunk: bytes, sink: BinaryIO | None) -> bool:
        self.stderr.extend(chunk)
        return True

    def stdout(self, chunk: bytes, sink: BinaryIO | None) -> bool:
        self.written += len(chunk)
        if self.written > self.max_bytes:
            return False
        if sink is None:
            self.kept.extend(chunk)
        else:
            sink.write(chunk)
        return True


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
