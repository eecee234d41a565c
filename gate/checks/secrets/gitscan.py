"""Secrets in git: a PR's added lines, a commit range, or every commit of every ref.

The gate streams `git log -p -U0` (or `git diff -U0`) once and never splits it into lines in
Python: the prefilter runs over big chunks of the patch, and only a line it points at is placed
(commit, file, new-side line number) by looking back for the nearest commit, `diff --git` and
`@@` headers, which content lines can never imitate (they start with `+`, `-`, ` ` or `\\`).
Chunks end at commit boundaries and are scanned by a pool of processes once the history is big
enough to pay for starting them.

git runs with external diff drivers, textconv filters, hooks and fsmonitor turned off: nothing
the scanned repository configures is executed.
"""

from __future__ import annotations

import contextlib
import os
import queue
import subprocess
import tempfile
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import IO

from gate.checks.secrets.gitcli import git_command, git_failure, run_git
from gate.checks.secrets.patches import COMMIT_MARK, FIELD_MARK, Occurrence, PatchScanner, Skipped, _scan_chunk
from gate.checks.secrets.scanner import shared_engine
from gate.errors import CheckFailure, InputError

# Patch bytes read from git before the scan fans out to worker processes; smaller histories are
# scanned in this process, where starting workers would cost more than it saves.
PARALLEL_AFTER = 8 << 20
CHUNK = 4 << 20
READ_AHEAD = 16
READ_BLOCK = 1 << 20


# Called with the number of commits scanned so far.
ProgressFn = Callable[[int], None]


def count_commits(root: Path, revisions: Sequence[str]) -> int | None:
    """How many commits a history scan will read, for its progress line; None when git cannot say
    (the scan itself then reports why)."""
    try:
        ended = list(revisions) if "--" in revisions else [*revisions, "--"]
        return int(run_git(root, "rev-list", "--count", *ended, timeout=60))
    except (InputError, CheckFailure, ValueError):
        return None


def scan_patch_stream(
    root: Path,
    args: Sequence[str],
    *,
    max_file_bytes: int,
    jobs: int,
    progress: ProgressFn | None = None,
) -> tuple[list[Occurrence], list[Skipped]]:
    """Run `git ARGS` (a log or diff with PATCH_FLAGS) and scan its output as it streams.

    Memory stays bounded by the chunk size times the jobs in flight, whatever the history's size.
    """
    with tempfile.TemporaryFile() as errors:
        return _scan_stream(root, args, errors, max_file_bytes=max_file_bytes, jobs=jobs, progress=progress)


# Long on purpose: one loop owns the git process, its reader thread, the worker pool and the
# chunk buffer, so that its `finally` can stop every one of them whatever fails.
def _scan_stream(
    root: Path,
    args: Sequence[str],
    errors: IO[bytes],
    *,
    max_file_bytes: int,
    jobs: int,
    progress: ProgressFn | None,
) -> tuple[list[Occurrence], list[Skipped]]:
    try:
        process = subprocess.Popen(
            git_command(root, *args), stdout=subprocess.PIPE, stderr=errors, stdin=subprocess.DEVNULL
        )
    except FileNotFoundError as error:
        raise CheckFailure("git is not installed, so the repository's history could not be scanned") from error
    assert process.stdout is not None
    _widen_pipe(process.stdout.fileno())
    occurrences: list[Occurrence] = []
    skipped: list[Skipped] = []
    local = PatchScanner(shared_engine())
    pool: ProcessPoolExecutor | None = None
    pending: list[Future[tuple[list[Occurrence], list[Skipped]]]] = []

    def collect(result: tuple[list[Occurrence], list[Skipped]]) -> None:
        occurrences.extend(result[0])
        skipped.extend(result[1])

    def submit(chunk: bytes) -> None:
        nonlocal pool
        if pool is None and jobs > 1 and total > PARALLEL_AFTER:
            import multiprocessing

            pool = ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn"))
        if pool is None:
            collect(local.scan(chunk, max_file_bytes))
            return
        pending.append(pool.submit(_scan_chunk, chunk, max_file_bytes))
        while len(pending) > 2 * jobs:
            collect(pending.pop(0).result())

    # git writes into a pipe of a few KB; a thread keeps it drained while this one scans, so git
    # and the scan run side by side instead of taking turns.
    blocks: queue.Queue[bytes | None] = queue.Queue(maxsize=READ_AHEAD)

    def pump() -> None:
        try:
            # Whole blocks, not whatever the pipe holds (a few KB): the queue then holds enough
            # read-ahead that git never waits while a chunk is scanned.
            while block := process.stdout.read(READ_BLOCK):  # type: ignore[union-attr]
                blocks.put(block)
        finally:
            blocks.put(None)

    reader = threading.Thread(target=pump, name="git-log-reader", daemon=True)
    reader.start()
    total = scanned = 0
    limit = max(4 * CHUNK, 2 * max_file_bytes)
    dropping = False
    # A leading newline lets the first `diff --git` of a plain diff be found like every other.
    buffer = bytearray(b"\n")
    try:
        while (block := blocks.get()) is not None:
            total += len(block)
            if dropping:
                # Inside one file's diff too large to hold: skip to the next file or commit.
                resume = min(
                    (i for i in (block.find(b"\ndiff --git "), block.find(COMMIT_MARK)) if i != -1), default=-1
                )
                if resume == -1:
                    continue
                dropping, block = False, block[resume:]
            buffer += block
            if len(buffer) < CHUNK:
                continue
            cut = buffer.rfind(COMMIT_MARK)
            if cut <= 0:
                header_end = buffer.find(b"\n") + 1
                header = bytes(buffer[:header_end]) if buffer.startswith(COMMIT_MARK) else b""
                cut = buffer.rfind(b"\ndiff --git ")
                if cut > len(header) and len(buffer) >= 4 * CHUNK:
                    # One commit bigger than the chunk: cut between its files and repeat its header.
                    submit(bytes(buffer[:cut]))
                    del buffer[:cut]
                    buffer[:0] = header
                elif len(buffer) > limit:
                    start = max(cut, 0)
                    path = PatchScanner._file_path(bytes(buffer[start : start + 4096]) + b"\n@@ ", 0)
                    commit = header[1:].split(FIELD_MARK, 1)[0].decode() if header else None
                    if path is not None:
                        skipped.append(Skipped(path, commit, f"its diff is over {limit} bytes"))
                    del buffer[len(header) :]
                    dropping = True
                continue
            scanned += buffer.count(COMMIT_MARK, 0, cut)
            submit(bytes(buffer[:cut]))
            del buffer[:cut]
            if progress is not None:
                progress(scanned)
        if len(buffer) > 1:
            submit(bytes(buffer))
        for future in pending:
            collect(future.result())
        if process.wait() != 0:
            errors.seek(0)
            raise git_failure(args[0], errors.read(), process.returncode)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        while reader.is_alive():
            with contextlib.suppress(queue.Empty):
                blocks.get(timeout=0.1)
        process.stdout.close()
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    return occurrences, skipped


def _widen_pipe(fd: int) -> None:
    """Let git write up to a MB ahead (Linux; elsewhere the pipe keeps its size).

    With the default 64 KB, the reader thread wakes for every 64 KB and must win the GIL back
    from the scanning thread each time; git stalls while it waits.
    """
    with contextlib.suppress(ImportError, AttributeError, OSError):
        import fcntl

        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, READ_BLOCK)


def usable_cores() -> int:
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def default_jobs() -> int:
    """Worker processes worth starting: the cores left once git and this process have one each.

    On two cores a pool only adds start-up and copying to a scan that already keeps pace with
    git in this process (measured with benchmarks/secrets_history.py).
    """
    return max(1, usable_cores() - 2)
