"""The patch stream a scan reads (`git log -p -U0` or `git diff -U0`) and the secrets on its added
lines, each placed (commit, file, new-side line number) by the nearest headers before it."""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from gate.checks.secrets.hits import MAX_LINE, Hit
from gate.checks.secrets.scanner import Engine, shared_engine
from gate.checks.secrets.silencing import silence_reason

COMMIT_MARK = b"\x00"
FIELD_MARK = b"\x1f"
LOG_FORMAT = "--format=%x00%H%x1f%an%x1f%aI"


_HUNK = re.compile(rb"@@ -\d+(?:,\d+)? \+(\d+)(?:,\d+)? @@")


PATCH_FLAGS = ("-p", "-U0", "--no-color", "--no-ext-diff", "--no-textconv", "-M", "--src-prefix=a/", "--dst-prefix=b/")


@dataclass(frozen=True)
class Commit:
    sha: str
    author: str
    date: str


@dataclass(frozen=True)
class Occurrence:
    """One secret on one added line: where, and in which commit (None for a plain diff)."""

    hit: Hit
    path: str
    commit: Commit | None


@dataclass(frozen=True)
class Skipped:
    """Something in the patch stream the scan could not look at, and why."""

    path: str
    commit: str | None
    reason: str


def _unquote(raw: bytes) -> str:
    """A path as git prints it, C-quoted when it holds quotes, backslashes or control bytes."""
    if not raw.startswith(b'"'):
        return raw.decode("utf-8", "replace")
    body = raw[1:-1] if raw.endswith(b'"') else raw[1:]
    out = bytearray()
    index = 0
    escapes = {
        ord("n"): 10,
        ord("t"): 9,
        ord('"'): 34,
        ord("\\"): 92,
        ord("a"): 7,
        ord("b"): 8,
        ord("f"): 12,
        ord("r"): 13,
        ord("v"): 11,
    }
    while index < len(body):
        byte = body[index]
        if byte == 92 and index + 1 < len(body):
            following = body[index + 1]
            if 48 <= following <= 55 and index + 3 < len(body) + 1:
                out.append(int(body[index + 1 : index + 4], 8) & 0xFF)
                index += 4
                continue
            out.append(escapes.get(following, following))
            index += 2
            continue
        out.append(byte)
        index += 1
    return out.decode("utf-8", "replace")


class PatchScanner:
    """Finds secrets on the added lines of one chunk of `git log -p` / `git diff` output."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # Long on purpose: one pass over the chunk places each candidate line by the headers before it,
    # carrying hunk and line-count state from one candidate to the next (read once, however big).
    def scan(self, buf: bytes, max_file_bytes: int) -> tuple[list[Occurrence], list[Skipped]]:
        commits = [m.start() for m in re.finditer(re.escape(COMMIT_MARK), buf)]
        file_starts = [m.start() for m in re.finditer(rb"\ndiff --git ", buf)]
        occurrences: list[Occurrence] = []
        skipped: list[Skipped] = []
        files: dict[int, str | None] = {}
        hunks: dict[int, int] = {}
        commit_info: dict[int, Commit] = {}
        last: tuple[int, int, int] | None = None
        hunk_start = scanned_to = -1
        oversized: set[int] = set()
        candidates = self.engine.candidates(buf, line_prefix=b"+")
        for file_start, file_end in self._sections(buf, file_starts):
            if file_end - file_start > max_file_bytes:
                oversized.add(file_start)
                path = self._file_path(buf, file_start)
                if path is not None:  # None: a deletion or binary change, which adds no text
                    commit = self._commit(buf, commits, file_start, commit_info)
                    reason = f"its diff is {file_end - file_start} bytes, over the cap"
                    skipped.append(Skipped(path, commit.sha if commit else None, reason))
                continue
            files[file_start] = self._file_path(buf, file_start)
            restricted = self.engine.restricted_for(files[file_start] or "")
            if restricted:
                self.engine.add_every_line(candidates, buf, file_start + 1, file_end, restricted)
        for line_start, spots in sorted(candidates.items()):
            if buf[line_start : line_start + 1] != b"+":
                continue
            # The headers this line falls under: the last of each kind before it. Content lines
            # start with `+`, `-`, ` ` or `\\`, so none of them can pass for a header.
            file_start = _last_before(file_starts, line_start)
            commit_start = _last_before(commits, line_start)
            if file_start == -1 or file_start < commit_start:
                continue
            # Candidates come in order: the hunk header is the last one between the previous
            # candidate (or this file's start) and this line, else the previous one's. So the
            # chunk is read once however many candidates a big hunk holds.
            header = buf.rfind(b"\n@@ ", max(scanned_to, file_start), line_start)
            scanned_to = line_start
            if header != -1:
                hunk_start = header
            if hunk_start < file_start:
                continue
            body_start = buf.find(b"\n", hunk_start + 1) + 1
            if line_start < body_start:
                continue
            if file_start in oversized:
                continue
            new_path = files[file_start]
            if new_path is None:
                continue
            found = self.engine.scan_candidate(buf, line_start, spots, new_path, prefix=1)
            if not found:
                continue
            if hunk_start not in hunks:
                match = _HUNK.match(buf, hunk_start + 1)
                hunks[hunk_start] = int(match.group(1)) if match else 0
            # New-side line number: the hunk's start plus the lines before this one that are not
            # removals; counted from the previous line placed in the same hunk, not from its top.
            # Only lines with a find are placed: most candidates hold none (dense histories).
            counted_from, counted = (body_start, hunks[hunk_start])
            if last is not None and last[0] == hunk_start and last[1] <= line_start:
                counted_from, counted = last[1], last[2]
            line = (
                counted
                + buf.count(b"\n", counted_from, line_start)
                - buf.count(b"\n-", counted_from - 1, line_start)
                - buf.count(b"\n\\", counted_from - 1, line_start)
            )
            last = (hunk_start, line_start, line)
            commit = self._commit(buf, commits, line_start, commit_info)
            previous = _added_previous(buf, line_start, body_start)
            for hit, text in found:
                material = self.engine.material(hit, buf, line_start, b"+")
                if material is None:
                    continue
                occurrences.append(
                    Occurrence(
                        Hit(
                            detector=hit.detector,
                            secret=hit.secret,
                            line=line,
                            column=hit.column + 1,
                            silenced=silence_reason(text, previous, new_path),
                            material=material,
                        ),
                        new_path,
                        commit,
                    )
                )
        return occurrences, skipped

    @staticmethod
    def _sections(buf: bytes, starts: Sequence[int]) -> Iterator[tuple[int, int]]:
        """(start, end) of each file's diff in the chunk, given where each starts."""
        for index, start in enumerate(starts):
            end = starts[index + 1] if index + 1 < len(starts) else len(buf)
            following_commit = buf.find(COMMIT_MARK, start, end)
            yield start, following_commit if following_commit != -1 else end

    @staticmethod
    def _file_path(buf: bytes, file_start: int) -> str | None:
        """The new-side path of a file diff, or None when it has no added text (deleted, binary)."""
        header_end = buf.find(b"\n@@ ", file_start + 1)
        next_file = buf.find(b"\ndiff --git ", file_start + 1)
        if header_end == -1 or (next_file != -1 and next_file < header_end):
            return None
        plus = buf.rfind(b"\n+++ ", file_start, header_end + 1)
        if plus == -1:
            return None
        # git ends the name with a tab when it holds a space; a name with a real tab is quoted.
        raw = buf[plus + 5 : buf.find(b"\n", plus + 1)].removesuffix(b"\t")
        if raw == b"/dev/null":
            return None
        path = _unquote(raw)
        return path[2:] if path.startswith("b/") else path

    @staticmethod
    def _commit(buf: bytes, commits: Sequence[int], position: int, cache: dict[int, Commit]) -> Commit | None:
        if not commits:
            return None
        start = commits[bisect.bisect_right(commits, position) - 1]
        if start not in cache:
            header = buf[start + 1 : buf.find(b"\n", start)].decode("utf-8", "replace").split("\x1f")
            header += [""] * (3 - len(header))
            cache[start] = Commit(sha=header[0], author=header[1], date=header[2])
        return cache[start]


def _last_before(positions: Sequence[int], position: int) -> int:
    """The greatest of the sorted `positions` below `position`, or -1."""
    index = bisect.bisect_left(positions, position)
    return positions[index - 1] if index else -1


def _added_previous(buf: bytes, line_start: int, body_start: int) -> str:
    """The added or context line just before a line of a hunk, without its prefix."""
    previous = b""
    if line_start > body_start:
        previous_start = buf.rfind(b"\n", 0, line_start - 1) + 1
        if buf[previous_start : previous_start + 1] in (b"+", b" "):
            previous = buf[previous_start + 1 : line_start - 1][:MAX_LINE]
    return previous.decode("utf-8", "replace")


def _scan_chunk(chunk: bytes, max_file_bytes: int) -> tuple[list[Occurrence], list[Skipped]]:
    """Worker entry point: runs in a pool process with that process's own engine and line cache."""
    return PatchScanner(shared_engine()).scan(chunk, max_file_bytes)
