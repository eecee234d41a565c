"""Running git on the scanned repository: nothing it configures is executed (external diff
drivers, textconv filters, hooks and fsmonitor are off), no value reaches git as an option, and
a repository git refuses is a failure, never an empty history."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from gate.config.paths import nearest_git_folder
from gate.errors import CheckFailure, InputError

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
