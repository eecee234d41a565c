"""The `git log` commands of a history scan: every commit's patch, and what merges add that none
of their parents has."""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from gate.checks.secrets.gitcli import git_command, git_failure, revisions
from gate.checks.secrets.patches import COMMIT_MARK, LOG_FORMAT, PATCH_FLAGS
from gate.errors import CheckFailure


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
