"""Which manifests and lock files the deps check reads, and the reader of each.

Discovery walks the project (bounded, no symlinks, installed trees pruned); files gate.yml names
must be inside the project and of a kind the gate reads, else the run is bad input (exit 2).
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Callable, Iterator
from pathlib import Path

from gate.checks.base import Progress
from gate.checks.deps.pinned import Pinned
from gate.errors import InputError, Position

PRUNED_DIRS = frozenset(
    {
        "node_modules",
        ".git",
        ".hg",
        ".svn",
        ".venv",
        "venv",
        "env",
        "__pycache__",
        ".tox",
        ".nox",
        "site-packages",
        ".mypy_cache",
        ".ruff_cache",
        ".pytest_cache",
        "bower_components",
        ".yarn",
        ".pnpm-store",
    }
)
MAX_WALKED = 200_000
PYTHON_LOCKS = ("uv.lock", "poetry.lock", "Pipfile.lock", "pylock.toml")
JS_LOCKS = frozenset({"package-lock.json", "npm-shrinkwrap.json", "pnpm-lock.yaml", "yarn.lock"})

Reader = Callable[[Path, Path], Iterator[Pinned]]


def reader_for(name: str, parent: str) -> Reader | None:
    from gate.checks.deps import npm, python

    fixed: dict[str, Reader] = {
        "uv.lock": python.read_uv_lock,
        "poetry.lock": python.read_poetry_lock,
        "Pipfile.lock": python.read_pipfile_lock,
        "pylock.toml": python.read_pylock,
        "pyproject.toml": python.read_pyproject,
        "package-lock.json": npm.read_package_lock,
        "npm-shrinkwrap.json": npm.read_package_lock,
        "pnpm-lock.yaml": npm.read_pnpm_lock,
        "yarn.lock": npm.read_yarn_lock,
    }
    if name in fixed:
        return fixed[name]
    if fnmatch.fnmatchcase(name, "pylock.*.toml"):
        return python.read_pylock
    if name.endswith(".txt") and (name.startswith("requirements") or parent == "requirements"):
        return lambda root, path: python.read_requirements(root, path)
    return None


def discover(root: Path, exclude: list[str]) -> tuple[list[Path], list[Path]]:
    """Manifests and lock files under root, skipping installed trees and symlinks; and each
    package.json that no lock file in its folder or above covers."""
    found: list[Path] = []
    unlocked: list[Path] = []
    locked_dirs: set[Path] = set()
    walked = 0
    for dirpath, dirnames, filenames in os.walk(root):  # top-down: parents before children
        walked += len(filenames) + len(dirnames)
        if walked > MAX_WALKED:
            raise InputError(
                f"more than {MAX_WALKED} entries under the project root; list the lock files instead",
                hint="set checks.deps.files in gate.yml",
            )
        here = Path(dirpath)
        dirnames[:] = sorted(
            d for d in dirnames if d not in PRUNED_DIRS and not d.startswith(".") and not (here / d).is_symlink()
        )
        names = {n for n in filenames if not (here / n).is_symlink()}
        relative_dir = here.relative_to(root).as_posix()
        if any(fnmatch.fnmatchcase(relative_dir, pattern) for pattern in exclude):
            continue
        if names & JS_LOCKS:
            locked_dirs.add(here)
        elif "package.json" in names and not any(parent in locked_dirs for parent in here.parents):
            unlocked.append(here / "package.json")
        for name in sorted(names):
            path = here / name
            relative = path.relative_to(root).as_posix()
            if reader_for(name, here.name) is None or any(fnmatch.fnmatchcase(relative, p) for p in exclude):
                continue
            if name == "pyproject.toml" and (
                names & set(PYTHON_LOCKS) or any(n.startswith("requirements") and n.endswith(".txt") for n in names)
            ):
                continue  # the lock beside it says what is installed; its ranges say nothing more
            found.append(path)
    return found, unlocked


def explicit(root: Path, files: list[str]) -> list[Path]:
    paths = []
    for relative in files:
        path = (root / relative).resolve()  # follows symlinks, so a link out of the tree is caught too
        if not path.is_relative_to(root):
            raise InputError(
                f"checks.deps.files: {relative} is outside the project", hint="list files inside the project root"
            )
        if not path.is_file():
            raise InputError(f"checks.deps.files: {relative} does not exist or is not a file", Position(relative))
        if reader_for(path.name, path.parent.name) is None:
            raise InputError(
                f"checks.deps.files: {relative} is not a manifest or lock file the gate reads",
                hint="requirements*.txt, pyproject.toml, pylock.toml, uv.lock, poetry.lock, Pipfile.lock, "
                "package-lock.json, npm-shrinkwrap.json, pnpm-lock.yaml, yarn.lock",
            )
        paths.append(path)
    return paths


def read_pins(root: Path, files: list[Path], progress: Progress) -> list[Pinned]:
    """Every package the files pin, each place once: a requirements file may include another."""
    pins: list[Pinned] = []
    seen: set[tuple[str, int | None, str]] = set()
    for path in files:
        progress.update(f"reading {path.relative_to(root).as_posix()}")
        reader = reader_for(path.name, path.parent.name)
        assert reader is not None
        for pinned in reader(root, path):
            if (pinned.path, pinned.line, pinned.name) not in seen:  # a file included by another
                seen.add((pinned.path, pinned.line, pinned.name))
                pins.append(pinned)
    return pins
