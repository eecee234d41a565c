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

import bisect
import contextlib
import os
import queue
import re
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from gate.checks.secrets.scanner import MAX_LINE, Engine, Hit, shared_engine, silence_reason
from gate.config.paths import nearest_git_folder
from gate.errors import CheckFailure, InputError

COMMIT_MARK = b"\x00"
FIELD_MARK = b"\x1f"
LOG_FORMAT = "--format=%x00%H%x1f%an%x1f%aI"
# Patch bytes read from git before the scan fans out to worker processes; smaller histories are
# scanned in this process, where starting workers would cost more than it saves.
PARALLEL_AFTER = 8 << 20
CHUNK = 4 << 20
READ_AHEAD = 16
READ_BLOCK = 1 << 20
_HUNK = re.compile(rb"@@ -\d+(?:,\d+)? \+(\d+)(?:,\d+)? @@")
_SAFE_CONFIG = (
    "-c",
    "core.hooksPath=/dev/null",
    "-c",
    "core.fsmonitor=false",
    "-c",
    "core.quotePath=false",
    "-c",
    "diff.external=",
    "-c",
    "color.ui=never",
    "-c",
    "log.showSignature=false",
)
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


def revisions(*names: str) -> list[str]:
    """Revisions as git's last arguments: after `--end-of-options`, so none can act as an option,
    and before `--`, so none is taken for a path. gate.yml checked their form; this holds even
    for a value that reached here some other way."""
    return ["--end-of-options", *names, "--"]


def git_command(root: Path, *args: str) -> list[str]:
    # Objects as stored: a `refs/replace/` ref would otherwise swap a commit holding a key for a
    # clean one wherever git reads it (the swapped-in commit is still scanned, through its ref).
    return ["git", "--no-replace-objects", "-C", str(root), *_SAFE_CONFIG, *args]


def run_git(root: Path, *args: str, timeout: float = 120, stdin: bytes | None = None) -> bytes:
    """A short git command; a failure is the user's input (bad revision) unless git is missing."""
    try:
        completed = subprocess.run(
            git_command(root, *args), input=stdin, capture_output=True, timeout=timeout, check=False
        )
    except FileNotFoundError as error:
        raise CheckFailure("git is not installed, so the repository's history could not be scanned") from error
    except subprocess.TimeoutExpired as error:
        raise CheckFailure(f"git {args[0]} did not finish within {timeout:g}s") from error
    if completed.returncode != 0:
        raise git_failure(" ".join(args[:2]), completed.stderr, completed.returncode)
    return completed.stdout


# git's words for a repository it cannot read, as opposed to a revision the user named wrong.
_DAMAGED = re.compile(
    r"corrupt|unable to read|failed to read object|inflate|packfile|loose object|missing blob|bad object"
)


def git_failure(what: str, stderr: bytes, code: int) -> InputError | CheckFailure:
    """A bad revision is the user's input (exit 2); a damaged repository means the scan could not
    finish (exit 3): nothing in the unreadable objects was scanned."""
    lines = stderr.decode("utf-8", "replace").strip().splitlines()
    last = lines[-1] if lines else f"exit {code}"
    if any(_DAMAGED.search(line) for line in lines):
        return CheckFailure(f"git {what} failed: {last}; the repository is damaged, so its history was not scanned")
    return InputError(
        f"git {what} failed: {last}",
        hint="check the revision names; in GitHub Actions use actions/checkout with fetch-depth: 0",
    )


def git_says(stderr: bytes, code: int) -> str:
    """git's own reason: its first `fatal:`/`error:` line (later lines are advice)."""
    lines = [line.strip() for line in stderr.decode("utf-8", "replace").splitlines() if line.strip()]
    reasons = [line for line in lines if line.startswith(("fatal:", "error:"))]
    return (reasons or lines or [f"git exited with {code}"])[0]


def is_repository(root: Path) -> bool:
    """Whether root is inside a git work tree; raises CheckFailure when git refuses one.

    Not a repository means no `.git` anywhere up the tree (and no GIT_DIR): there is no history.
    A `.git` that git will not read (dubious ownership, a garbage HEAD, a format it does not know)
    is a repository whose history cannot be looked at, and skipping it would pass unseen commits;
    so would git quietly using a repository further up in its place.
    """
    resolved = root.resolve()
    nearest = nearest_git_folder(resolved)
    pointed = bool(os.environ.get("GIT_DIR"))
    try:
        completed = subprocess.run(
            git_command(root, "rev-parse", "--is-inside-work-tree", "--show-toplevel"),
            capture_output=True,
            timeout=60,
            check=False,
        )
    except FileNotFoundError as error:
        if nearest is None and not pointed:
            return False
        raise CheckFailure(f"{nearest or root} is a git repository but git is not installed") from error
    except subprocess.TimeoutExpired as error:
        raise CheckFailure("git rev-parse did not finish within 60s") from error
    lines = completed.stdout.splitlines()
    if completed.returncode != 0 and lines[:1] == [b"false"]:
        return False  # inside a .git folder or a bare repository: no work tree to list
    if completed.returncode != 0:
        if nearest is None and not pointed:
            return False
        raise CheckFailure(
            f"git refuses the repository at {nearest or root}: {git_says(completed.stderr, completed.returncode)}; "
            "its history and files were not scanned"
        )
    if lines[:1] != [b"true"]:
        return False
    toplevel = Path(os.fsdecode(lines[1])).resolve() if len(lines) > 1 else None
    if nearest is not None and not pointed and toplevel != nearest:
        raise CheckFailure(
            f"git does not accept {nearest / '.git'} and reads {toplevel} instead; "
            "the repository's history and files were not scanned"
        )
    return True


def has_commits(root: Path) -> bool:
    completed = subprocess.run(
        git_command(root, "rev-parse", "--verify", "-q", "HEAD"), capture_output=True, timeout=30, check=False
    )
    return completed.returncode == 0


def is_shallow(root: Path) -> bool:
    return run_git(root, "rev-parse", "--is-shallow-repository").strip() == b"true"


def has_grafts(root: Path) -> bool:
    """`.git/info/grafts` rewrites parents (deprecated, still obeyed): commits it cuts off a
    branch are walked by no ref, so the history scan cannot vouch for them."""
    grafts = Path(os.fsdecode(run_git(root, "rev-parse", "--git-path", "info/grafts").strip()))
    return (grafts if grafts.is_absolute() else root / grafts).exists()


def log_args(revisions: Sequence[str]) -> list[str]:
    """`git log` arguments for a history scan of these revisions (end them with `--`).

    Merges show no diff here, as in `git log -p`; `merge_args` adds the few that need one."""
    return ["log", *PATCH_FLAGS, LOG_FORMAT, *revisions]


def merge_args(root: Path, scope: Sequence[str]) -> list[list[str]]:
    """`git log` arguments showing what merges add that none of their parents has: a key typed
    into a conflict resolution, or slipped into a merge by hand, is in no other commit.

    A dense combined diff (`--cc`) says cheaply which merges have such lines (most have none);
    only those are then shown against the merge git would make by itself (`remerge`), in the
    two-way form the scan reads. git does not remerge octopus merges (three or more parents), so
    those are shown against their first parent, repeating what the merged branches brought.
    """
    two_way: list[str] = []
    octopus: list[str] = []
    for sha, parents in _merges_adding_lines(root, scope):
        (octopus if parents > 2 else two_way).append(sha)
    batch = 1000  # commit ids per command line, far below any system's argument limit
    return [
        ["log", *PATCH_FLAGS, how, LOG_FORMAT, "--no-walk=unsorted", *revisions(*shas[start : start + batch])]
        for how, shas in (("--diff-merges=remerge", two_way), ("--diff-merges=first-parent", octopus))
        for start in range(0, len(shas), batch)
    ]


def _merges_adding_lines(root: Path, scope: Sequence[str]) -> list[tuple[str, int]]:
    """(sha, number of parents) of each merge whose dense combined diff has a hunk."""
    args = ["log", "--merges", "--cc", "-U0", "--no-color", "--no-ext-diff", "--no-textconv", "--format=%x00%H %P"]
    with tempfile.TemporaryFile() as errors:
        try:
            process = subprocess.Popen(
                git_command(root, *args, *scope), stdout=subprocess.PIPE, stderr=errors, stdin=subprocess.DEVNULL
            )
        except FileNotFoundError as error:
            raise CheckFailure("git is not installed, so the repository's history could not be scanned") from error
        assert process.stdout is not None
        found: list[tuple[str, int]] = []
        current: tuple[str, int] | None = None
        at_line_start = True
        try:
            # Lines are read in bounded pieces; only a piece that starts a line can be a header.
            while piece := process.stdout.readline(1 << 16):
                if at_line_start and piece.startswith(COMMIT_MARK):
                    ids = piece[1:].decode("ascii", "replace").split()
                    current = (ids[0], len(ids) - 1) if ids else None
                elif at_line_start and piece.startswith(b"@@@") and current is not None:
                    found.append(current)
                    current = None  # one hunk is enough to show the merge
                at_line_start = piece.endswith(b"\n")
            if process.wait() != 0:
                errors.seek(0)
                raise git_failure("log --merges", errors.read(), process.returncode)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
            process.stdout.close()
    return found


@dataclass(frozen=True)
class _TaggedObject:
    ref: str
    sha: str
    kind: str  # blob or tree: what the ref names once tags are peeled
    tagger: str
    date: str


def scan_tagged(root: Path, engine: Engine, max_file_bytes: int) -> tuple[list[Occurrence], list[Skipped]]:
    """Blobs and trees that a ref names directly or through tags: no commit holds them, so
    `git log --all` never shows them, yet every clone fetches them with the tag."""
    listing = run_git(
        root, "for-each-ref", "--format=%(refname)%00%(objectname)%00%(taggername)%00%(taggerdate:iso-strict)"
    )
    refs = [line.split(b"\0") for line in listing.splitlines() if line.count(b"\0") == 3]
    peeled = run_git(
        root,
        "cat-file",
        "--batch-check=%(objectname) %(objecttype)",
        stdin=b"".join(fields[1] + b"^{}\n" for fields in refs),
    ).splitlines()
    tagged: list[_TaggedObject] = []
    skipped: list[Skipped] = []
    for fields, answer in zip(refs, peeled, strict=False):
        ref = fields[0].decode("utf-8", "replace")
        sha, _, kind = answer.decode("utf-8", "replace").partition(" ")
        if kind in ("blob", "tree"):
            tagger, date = (field.decode("utf-8", "replace") for field in fields[2:4])
            tagged.append(_TaggedObject(ref, sha, kind, tagger, date))
        elif kind != "commit":
            skipped.append(Skipped(ref, None, f"the object it names could not be read ({answer.decode()[:80]})"))
    occurrences: list[Occurrence] = []
    for item in tagged:
        commit = Commit(sha=item.sha, author=item.tagger or item.ref, date=item.date)
        files = [(item.ref, item.sha)]
        if item.kind == "tree":
            entries = run_git(root, "ls-tree", "-r", "-z", "--full-tree", item.sha).split(b"\0")
            files = [
                (f"{item.ref}:{name.decode('utf-8', 'replace')}", meta.split()[2].decode())
                for meta, _, name in (entry.partition(b"\t") for entry in entries if entry)
                if meta.split()[1:2] == [b"blob"] and not meta.startswith(b"120000")
            ]
        contents = _blob_contents(root, [sha for _, sha in files], max_file_bytes)
        for (path, _), content in zip(files, contents, strict=True):
            if content is None:
                skipped.append(Skipped(path, item.sha, f"it is over the {max_file_bytes}-byte cap (max_file_size)"))
            elif b"\0" not in content[:_BINARY_PROBE]:
                occurrences.extend(Occurrence(hit, path, commit) for hit in engine.scan_buffer(content, path))
    return occurrences, skipped


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
