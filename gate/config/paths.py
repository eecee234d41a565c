"""What gate.yml may name for git and the file system: revisions that cannot pass for options,
paths that stay inside the repository.

gate.yml in a pull request is written by whoever opened it, so a revision such as `--output=F`
must never reach git as an option, and a path must never lead the gate out of the tree, neither
written out (`../x`, `/etc`) nor through a symlink met on the way.
"""

from __future__ import annotations

import os
import re
from pathlib import Path, PurePosixPath

# Whitespace and control bytes have no place in a revision; a leading `-` would make it an option.
_REVISION = re.compile(r"^[^-\s\x00-\x1f\x7f][^\s\x00-\x1f\x7f]*$")
REVISION_HINT = "name a branch, tag or commit (e.g. origin/main, v1.2.0, HEAD~20); it cannot start with '-'"
RANGE_HINT = "write BASE...HEAD (or BASE..HEAD) with branch, tag or commit names; neither may start with '-'"
PATH_HINT = "write a path relative to the project root, without '..' and not absolute"


def is_revision(value: object) -> bool:
    return isinstance(value, str) and _REVISION.match(value) is not None and ".." not in value


def is_revision_range(value: object) -> bool:
    """A single revision, or BASE..HEAD / BASE...HEAD; `auto` is a revision name like any other."""
    if not isinstance(value, str):
        return False
    base, dots, head = value.partition("...") if "..." in value else value.partition("..")
    if not dots:
        return is_revision(value)
    return all(is_revision(side) for side in (base, head) if side) and bool(base or head)


def is_repo_path(value: object) -> bool:
    """Relative, and never climbing out: no `..` part, no drive or leading slash."""
    if not isinstance(value, str) or not value or "\0" in value:
        return False
    pure = PurePosixPath(value.replace("\\", "/"))
    return not pure.is_absolute() and ".." not in pure.parts and not re.match(r"^[A-Za-z]:", value)


def inside(root: Path, relative: str) -> bool:
    """Whether root/relative, every symlink on the way resolved, is root or below it."""
    base = os.path.realpath(root)
    target = os.path.realpath(root / relative)
    return target == base or target.startswith(base.rstrip(os.sep) + os.sep)


def nearest_git_folder(start: Path) -> Path | None:
    """The nearest folder at or above `start` holding a `.git` (folder or gitfile): where git
    looks for a repository. None means the folder is not in any repository."""
    for folder in (start, *start.parents):
        if os.path.lexists(folder / ".git"):
            return folder
    return None
