"""Secrets in files on disk: the working tree and build output folders, source maps included.

Files are opened without following symlinks; a symlink is never followed out of the tree, a file
over the size cap or a submodule is listed as not scanned rather than silently passed.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from gate.checks.secrets import sourcemap
from gate.checks.secrets.gitcli import is_repository, run_git
from gate.checks.secrets.hits import Hit
from gate.checks.secrets.patches import Skipped
from gate.checks.secrets.scanner import Engine
from gate.config.paths import inside

BINARY_SNIFF = 8000
# Never walked: git's own data and installed dependencies (outside a repository too).
SKIP_DIRS = frozenset({".git", "node_modules"})
# Also skipped inside build output: build caches are huge, binary, and not what gets deployed.
BUILD_SKIP_DIRS = SKIP_DIRS | {"cache", ".cache"}
BUNDLE_SUFFIXES = (".js", ".mjs", ".cjs", ".css", ".jsbundle", ".bundle")


@dataclass(frozen=True)
class FileHit:
    """A secret in a file; `original` names the source file and line a source map points to."""

    hit: Hit
    path: str
    original: tuple[str, int] | None = None


def tree_files(root: Path) -> Iterator[str]:
    """Tracked files and untracked files git does not ignore; every file when not a repository."""
    if is_repository(root):
        listing = run_git(root, "ls-files", "-z", "--cached", "--others", "--exclude-standard", timeout=300)
        seen: set[str] = set()
        for raw in listing.split(b"\0"):
            if raw:
                path = raw.decode("utf-8", "surrogateescape")
                if path not in seen:
                    seen.add(path)
                    yield path
        return
    yield from walk(root, root)


def walk(root: Path, folder: Path, skip: frozenset[str] = SKIP_DIRS) -> Iterator[str]:
    """Files under a folder, relative to root, never entering symlinked folders: those are
    listed like files, so one pointing out of the tree is reported as not scanned."""
    for current, dirs, names in os.walk(folder, followlinks=False):
        links = [d for d in dirs if os.path.islink(os.path.join(current, d))]
        dirs[:] = sorted(d for d in dirs if d not in skip and d not in links)
        for name in sorted([*names, *links]):
            yield Path(current, name).relative_to(root).as_posix()


def read_file(
    root: Path, relative: str, max_bytes: int, folders: dict[str, bool] | None = None
) -> bytes | Skipped | None:
    """The file's bytes; Skipped when it cannot be scanned; None when there is nothing to scan.

    `folders` remembers, for one scan, which folders resolve inside the tree: a tree of many
    files has few folders, so each is resolved once."""
    from detect_secrets.filters.heuristic import is_non_text_file

    path = root / relative
    try:
        info = os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None  # listed by git but deleted in the working tree
    except OSError as error:
        # A path longer than PATH_MAX, a folder without permission: git has it, the scan cannot.
        return Skipped(relative, None, f"it could not be read ({error.strerror})")
    folders = {} if folders is None else folders
    folder = str(Path(relative).parent)
    if folder not in folders:
        folders[folder] = inside(root, folder)
    if not folders[folder]:
        # git lists `dir/f` from the index; in the working tree `dir` may now be a symlink out.
        return Skipped(relative, None, "a folder on its path is a symlink out of the repository; not followed")
    if stat.S_ISLNK(info.st_mode):
        if not inside(root, relative):
            return Skipped(relative, None, "it is a symlink pointing outside the repository; not followed")
        return None  # the target inside the tree is scanned as itself
    if stat.S_ISDIR(info.st_mode):
        return Skipped(relative, None, "it is a submodule (or nested repository); scan it in its own repository")
    # detect-secrets counts source maps as non-text; for a web app they are the source code.
    if not stat.S_ISREG(info.st_mode) or (is_non_text_file(relative) and not relative.endswith(".map")):
        return None
    if info.st_size > max_bytes:
        return Skipped(relative, None, f"it is {info.st_size} bytes, over the {max_bytes}-byte cap (max_file_size)")
    try:
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError as error:
        return Skipped(relative, None, f"it could not be read ({error.strerror})")
    with os.fdopen(descriptor, "rb") as handle:
        data = handle.read(max_bytes + 1)
    if b"\0" in data[:BINARY_SNIFF]:
        return None
    return data


def scan_files(engine: Engine, root: Path, paths: Sequence[str], max_bytes: int) -> tuple[list[FileHit], list[Skipped]]:
    hits: list[FileHit] = []
    skipped: list[Skipped] = []
    folders: dict[str, bool] = {}
    for relative in paths:
        data = read_file(root, relative, max_bytes, folders)
        if data is None:
            continue
        if isinstance(data, Skipped):
            skipped.append(data)
            continue
        if relative.endswith(".map"):
            hits.extend(_scan_map(engine, relative, data))
            continue
        found = list(engine.scan_buffer(data, relative))
        if relative.endswith(BUNDLE_SUFFIXES):
            hits.extend(_scan_inline_map(engine, relative, data))
        if found and relative.endswith(BUNDLE_SUFFIXES):
            hits.extend(_with_originals(root, relative, data, found, max_bytes))
        else:
            hits.extend(FileHit(hit, relative) for hit in found)
    return hits, skipped


def build_files(root: Path, folders: Sequence[str]) -> tuple[list[str], list[Skipped]]:
    """Every file of the build folders that exist, gitignored or not; a folder that is (or lies
    behind) a symlink out of the repository is listed as not scanned instead of walked."""
    paths: list[str] = []
    skipped: list[Skipped] = []
    for folder in folders:
        base = root / folder
        if not (base.is_dir() or base.is_symlink()):
            continue
        if not inside(root, folder):
            reason = "this build folder resolves outside the repository through a symlink; not followed"
            skipped.append(Skipped(folder, None, reason))
        elif not base.is_symlink():
            paths.extend(walk(root, base, BUILD_SKIP_DIRS))
    return paths, skipped


def _scan_inline_map(engine: Engine, relative: str, data: bytes) -> Iterator[FileHit]:
    """A bundle that carries its map inline ships every embedded source to every visitor."""
    reference = sourcemap.map_reference(data)
    if reference and reference.startswith("data:"):
        parsed = sourcemap.parse_data_url(reference)
        if parsed is not None:
            yield from _map_hits(engine, relative, parsed, _line_of(data, data.rfind(b"sourceMappingURL=")))


def _line_of(data: bytes, position: int) -> int:
    return data.count(b"\n", 0, max(position, 0)) + 1


def _scan_map(engine: Engine, relative: str, data: bytes) -> Iterator[FileHit]:
    """Secrets in the sources a map embeds (`sourcesContent`), each placed in its original file."""
    parsed = sourcemap.parse(data)
    if parsed is None:
        yield from (FileHit(hit, relative) for hit in engine.scan_buffer(data, relative))
        return
    yield from _map_hits(engine, relative, parsed, _line_of(data, data.find(b'"sourcesContent"')))


def _map_hits(engine: Engine, relative: str, parsed: sourcemap.SourceMap, line: int) -> Iterator[FileHit]:
    """Hits in embedded sources, placed on `line` of the map or bundle (where the embedded text
    is), each naming the original file and line."""
    for source, content in zip(parsed.sources, parsed.contents, strict=True):
        if content is None:
            continue
        for hit in engine.scan_buffer(content.encode("utf-8", "surrogateescape"), source):
            yield FileHit(replace(hit, line=line, column=1), relative, (source, hit.line))


def _with_originals(root: Path, relative: str, data: bytes, found: list[Hit], max_bytes: int) -> Iterator[FileHit]:
    """Bundle hits, each traced through the bundle's source map to the file it came from."""
    parsed = None
    reference = sourcemap.map_reference(data)
    candidates = [reference] if reference else []
    candidates.append(Path(relative).name + ".map")
    for name in candidates:
        if name.startswith("data:"):
            parsed = sourcemap.parse_data_url(name)
        else:
            map_path = (Path(relative).parent / name).as_posix()
            if ".." in Path(map_path).parts:
                continue
            map_data = read_file(root, map_path, max_bytes)
            parsed = sourcemap.parse(map_data) if isinstance(map_data, bytes) else None
        if parsed is not None:
            break
    for hit in found:
        original = parsed.original(hit.line, hit.column - 1) if parsed is not None else None
        yield FileHit(hit, relative, original)
