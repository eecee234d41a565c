"""Where the backup comes from: a file inside the project (or a folder the workflow allows), or the
output of a declared command; and what format it is in.

The file is untrusted. It is never followed out of the tree through a symlink, never read past its
size bound, and an absolute path is only accepted inside a folder listed in GATE_BACKUP_DIRS, which
the workflow sets (gate.yml arrives with the pull request, so it cannot widen where the gate reads).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from pathlib import Path

from gate.bounded_process import run_bounded
from gate.config.paths import inside
from gate.errors import CheckFailure, InputError

ALLOWED_DIRS_VARIABLE = "GATE_BACKUP_DIRS"
FORMATS = ("auto", "custom", "plain", "sqlite")
_CUSTOM_MAGIC = b"PGDMP"
_SQLITE_MAGIC = b"SQLite format 3\x00"


def declared_file(root: Path, declared: str, environ: Mapping[str, str], max_bytes: int) -> Path:
    """The backup file gate.yml names, checked to be where the gate may read it."""
    candidate = Path(declared)
    if candidate.is_absolute():
        allowed = [Path(p).resolve() for p in environ.get(ALLOWED_DIRS_VARIABLE, "").split(os.pathsep) if p]
        resolved = candidate.resolve()
        if not any(resolved.is_relative_to(folder) for folder in allowed):
            raise InputError(
                f"backup {declared} is outside the project and no folder in {ALLOWED_DIRS_VARIABLE} holds it",
                hint=f"keep the backup in the repository or workspace, or set {ALLOWED_DIRS_VARIABLE} in the "
                "workflow to the folder a previous step downloads it to",
            )
    else:
        resolved = (root / candidate).resolve()
        if not inside(root, declared):
            raise InputError(f"backup {declared} is outside the project (or a symlink out of it); it is not read")
    if not resolved.is_file():
        raise InputError(f"backup {declared} named in checks.restore.backup does not exist or is not a file")
    size = resolved.stat().st_size
    if size > max_bytes:
        raise InputError(
            f"backup {declared} is {size} bytes, over checks.restore.max_size_mb ({max_bytes} bytes)",
            hint="raise max_size_mb if the backup really is that large",
        )
    return resolved


def command_output(
    argv: list[str], root: Path, into: Path, timeout: float, max_bytes: int, environ: dict[str, str]
) -> Path:
    """Run the declared backup command (no shell) and keep its standard output as the backup.

    The program must be installed on the runner: one inside the scanned tree would be code from the
    pull request.
    """
    program = shutil.which(argv[0]) if "/" not in argv[0] else argv[0]
    if program is None:
        raise InputError(f"checks.restore.command: {argv[0]} is not installed on this machine (not on PATH)")
    if Path(program).resolve().is_relative_to(root.resolve()):
        raise InputError(
            f"checks.restore.command: {argv[0]} is inside the scanned project; the gate runs nothing from the repo",
            hint="call an installed tool (pg_dump, sqlite3, a cloud CLI) instead of a script in the repository",
        )
    target = into / "command-output"
    done = run_bounded(
        [program, *argv[1:]], what=f"backup command {argv[0]}", cwd=root, env=environ, timeout=timeout,
        max_bytes=max_bytes, stdout_file=target,
    )  # fmt: skip
    if done.code != 0:
        raise CheckFailure(f"backup command {argv[0]} failed (exit {done.code}): {done.last_words()}")
    return target


def detect_format(path: Path, declared: str) -> str:
    """The declared format, or what the file's first bytes say it is."""
    with path.open("rb") as handle:
        head = handle.read(16)
    if declared != "auto":
        return declared
    if head.startswith(_CUSTOM_MAGIC):
        return "custom"
    if head.startswith(_SQLITE_MAGIC):
        return "sqlite"
    return "plain"
