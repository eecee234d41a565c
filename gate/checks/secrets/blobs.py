"""Reading blobs as committed (`git cat-file --batch`, no attributes applied), and which strings
the files of HEAD hold."""

from __future__ import annotations

import contextlib
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO

from gate.checks.secrets.gitcli import git_command, run_git
from gate.errors import CheckFailure


def _blob_contents(root: Path, shas: Sequence[str], max_bytes: int) -> Iterator[bytes | None]:
    """Each blob's bytes in order, or None for one over `max_bytes` (read past, never held)."""
    if not shas:
        return
    with _cat_file(root, [sha.encode() for sha in shas]) as stdout:
        for _ in shas:
            kept = bytearray()
            for block in _object_blocks(stdout, "what a tag holds was not scanned"):
                if len(kept) <= max_bytes:
                    kept += block
            yield bytes(kept) if len(kept) <= max_bytes else None


# git's own test for a binary file: a NUL byte in the first 8000.
_BINARY_PROBE = 8000
_BLOB_BLOCK = 1 << 20


def present_at_head(root: Path, needles: Sequence[str], timeout: float = 300) -> set[str]:
    """Which of these strings occur anywhere in a text file of HEAD's tree.

    Reads every blob of HEAD once (`git ls-tree`, `git cat-file --batch`: contents as committed,
    no attributes applied) and looks for all strings at once with Aho-Corasick. `git grep -F -o`
    does the same but slows down with the number of strings (seconds per thousand).
    """
    import ahocorasick

    wanted = {needle.encode("utf-8", "surrogateescape").decode("latin-1") for needle in needles if needle}
    if not wanted:
        return set()
    automaton = ahocorasick.Automaton()
    for needle in wanted:
        automaton.add_word(needle, needle)
    automaton.make_automaton()
    overlap = max(map(len, wanted)) - 1
    listing = run_git(root, "ls-tree", "-r", "-z", "--full-tree", "HEAD", timeout=timeout)
    blobs = [
        entry.split(b"\t", 1)[0].split()[2]
        for entry in listing.split(b"\0")
        if entry and entry.split(b" ", 2)[1:2] == [b"blob"] and not entry.startswith(b"120000")
    ]
    found: set[str] = set()
    deadline = time.monotonic() + timeout
    for content in _blob_blocks(root, blobs, overlap, deadline):
        found.update(needle for _, needle in automaton.iter(content))
        if len(found) == len(wanted):
            break
    return {needle.encode("latin-1").decode("utf-8", "surrogateescape") for needle in found} & set(needles)


def _blob_blocks(root: Path, shas: Sequence[bytes], overlap: int, deadline: float) -> Iterator[str]:
    """The text blobs' contents as latin-1 strings, in blocks sharing `overlap` bytes, so a
    match across an edge is whole in one of them; binary blobs are skipped."""
    unknown = "whether a secret is still present at HEAD is unknown"
    with _cat_file(root, shas) as stdout:
        for _ in shas:
            if time.monotonic() > deadline:
                raise CheckFailure(f"reading HEAD's files took too long: {unknown}")
            binary: bool | None = None
            carry = b""
            for more in _object_blocks(stdout, unknown):
                binary = b"\0" in more[:_BINARY_PROBE] if binary is None else binary
                if binary:
                    continue  # read past: the next object starts after it
                block = carry + more
                yield block.decode("latin-1")
                carry = block[max(0, len(block) - overlap) :] if overlap else b""


@contextlib.contextmanager
def _cat_file(root: Path, shas: Sequence[bytes]) -> Iterator[IO[bytes]]:
    """`git cat-file --batch` fed these objects from a thread (so a full pipe never stalls it);
    the caller reads each object in order with `_object_blocks`."""
    process = subprocess.Popen(
        git_command(root, "cat-file", "--batch"),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert process.stdin is not None and process.stdout is not None

    def feed() -> None:
        with contextlib.suppress(BrokenPipeError, ValueError):
            for sha in shas:
                process.stdin.write(sha + b"\n")  # type: ignore[union-attr]
            process.stdin.close()  # type: ignore[union-attr]

    feeder = threading.Thread(target=feed, name="git-cat-file-feed", daemon=True)
    feeder.start()
    try:
        yield process.stdout
    finally:
        process.kill()
        process.wait()
        process.stdout.close()


def _object_blocks(stdout: IO[bytes], unknown: str) -> Iterator[bytes]:
    """The next object's bytes in blocks of at most a MB; read it to the end before the next."""
    header = stdout.readline().split()
    if len(header) != 3:
        raise CheckFailure(f"git cat-file failed, so {unknown}")
    remaining = int(header[2])
    while remaining > 0:
        block = stdout.read(min(remaining, _BLOB_BLOCK))
        if not block:
            raise CheckFailure(f"git cat-file stopped mid-file, so {unknown}")
        remaining -= len(block)
        yield block
    stdout.read(1)  # the newline after each object
