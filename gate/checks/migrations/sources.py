"""Where migrations come from: files matched by gate.yml's globs, and a declared command's output.

Trust model: the files are the repository's (strangers' input: size bounded, no symlink followed,
no path out of the tree). The command is the only thing the check runs, and it comes from
gate.yml alone, never from the repository's other files; in a pull request gate.yml itself is the
PR's, so the command runs only when the base commit's gate.yml declares the very same one
(`trusted_command`). It runs without a shell, in the repository, with stdin closed, a deadline and
a bound on what it prints; its whole process group is killed past either.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from gate.bounded_process import run_bounded
from gate.checks.secrets import gitcli
from gate.errors import CheckFailure, InputError, Position
from gate.safeio import UnreadableFile, read_regular

_UNSAFE_GLOB = "a migrations glob is relative to the repository and stays inside it (no leading /, no ..)"


def check_glob(pattern: str, where: str) -> None:
    pure = PurePosixPath(pattern)
    if pure.is_absolute() or ".." in pure.parts or "\\" in pattern:
        raise InputError(f"{where} = {pattern!r} points outside the repository", hint=_UNSAFE_GLOB)


def matched_files(root: Path, patterns: Sequence[str], where: str, *, skip_links: bool = False) -> list[str]:
    """Repository-relative paths the globs match, sorted (migrations apply in name order).

    A symlink among them is refused (exit 2), not skipped: a migration left out would pass unjudged.
    Code searched only for hints (`skip_links`) leaves links out instead.
    """
    base = root.resolve()
    found: set[str] = set()
    for pattern in patterns:
        check_glob(pattern, where)
        for path in root.glob(pattern):
            relative = path.relative_to(root).as_posix()
            if any((root / part).is_symlink() for part in _prefixes(relative)):
                if skip_links:
                    continue
                raise InputError(
                    f"{relative} is a symlink; the gate follows no link, so it cannot judge this migration",
                    Position(relative),
                    hint="commit the migration itself instead of a link to it",
                )
            # Not only regular files: a FIFO or device is kept so reading it refuses it by name.
            if not path.is_dir() and path.resolve().is_relative_to(base):
                found.add(relative)
    return sorted(found)


def _prefixes(relative: str) -> list[str]:
    parts = PurePosixPath(relative).parts
    return ["/".join(parts[: index + 1]) for index in range(len(parts))]


def read_migration(root: Path, relative: str, max_bytes: int) -> str:
    """A migration's text; a FIFO, device or file over `max_bytes` cannot be judged (exit 2)."""
    try:
        data = read_regular(root / relative, max_bytes)
    except UnreadableFile as error:
        hint = (
            "split the migration, or raise checks.migrations.max_bytes if it really is this large"
            if error.oversized
            else "commit the migration as a regular file"
        )
        raise InputError(f"the migration cannot be judged: {error.reason}", Position(relative), hint=hint) from None
    return data.decode("utf-8", "replace")


def added_files(root: Path, revisions: str) -> set[str]:
    """Paths a commit range adds (`base...head`); the range goes to git after --end-of-options."""
    if revisions.startswith("-"):
        raise InputError(f"checks.migrations.diff = {revisions!r} is not a revision range")
    output = gitcli.run_git(
        root, "diff", "--name-only", "--no-renames", "--diff-filter=A", "-z", "--end-of-options", revisions, "--"
    )
    return {name.decode("utf-8", "surrogateescape") for name in output.split(b"\0") if name}


def base_of(revisions: str) -> str:
    return revisions.split("...", 1)[0] if "..." in revisions else revisions.split("..", 1)[0]


def commit_of(root: Path, revision: str) -> str:
    return gitcli.run_git(root, "rev-parse", "--verify", "--end-of-options", f"{revision}^{{commit}}").strip().decode()


def trusted_command(root: Path, config_path: Path | None, base: str, command: Sequence[str]) -> bool:
    """Whether the base commit's gate.yml declares exactly this command (a PR cannot choose what runs)."""
    if config_path is None:
        return False
    try:
        relative = config_path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return False
    try:
        text = gitcli.run_git(root, "show", "--end-of-options", f"{base}:{relative}", timeout=30)
    except InputError:
        return False  # no gate.yml at the base: nothing trusted declares a command
    try:
        declared: Any = yaml.safe_load(text[: 1 << 20])
    except yaml.YAMLError:
        return False
    for key in ("checks", "migrations", "command"):
        declared = declared.get(key) if isinstance(declared, Mapping) else None
    return isinstance(declared, list) and [str(part) for part in declared] == list(command)


def run_command(root: Path, argv: Sequence[str], environ: Mapping[str, str], timeout: float, max_bytes: int) -> str:
    """The command's stdout; over the deadline or the byte bound, or failing, it is a CheckFailure."""
    what = f"the migrations command {' '.join(argv)[:200]!r}"
    try:
        done = run_bounded(
            argv, what=what, cwd=root, env=environ, timeout=timeout, max_bytes=max_bytes,
            bound=f"checks.migrations.max_bytes ({max_bytes} bytes)",
        )  # fmt: skip
    except CheckFailure as failure:
        raise CheckFailure(f"{failure}; its SQL was not judged") from None
    if done.code != 0:
        raise CheckFailure(f"{what} failed (exit {done.code}): {done.last_words()}")
    return done.stdout.decode("utf-8", "replace")
