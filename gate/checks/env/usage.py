"""Which variables the code reads, found by pattern (the scanned code is never run)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gate.safeio import UnreadableFile, read_regular

MAX_SOURCE_BYTES = 2 * 1024 * 1024
MAX_FILES = 50_000


@dataclass(frozen=True)
class Usage:
    name: str
    path: str
    line: int


@dataclass(frozen=True)
class CodePatterns:
    by_extension: Mapping[str, tuple[re.Pattern[str], ...]]
    skip_dirs: frozenset[str]

    @classmethod
    def from_rules(cls, rules: Mapping[str, Any]) -> CodePatterns:
        compiled: dict[str, list[re.Pattern[str]]] = {}
        for entry in rules["code_patterns"]:
            compiled.setdefault(entry["language"], []).append(re.compile(entry["pattern"]))
        by_extension = {
            ext: tuple(compiled.get(language, ()))
            for language, extensions in rules["code_extensions"].items()
            for ext in extensions
        }
        return cls(by_extension, frozenset(rules["skip_dirs"]))


def _names(match: re.Match[str]) -> Iterator[str]:
    if "names" in match.re.groupindex and match.group("names") is not None:
        for part in match.group("names").split(","):
            # `{ A, B: alias, C = "default" }` reads A, B and C.
            name = part.split(":")[0].split("=")[0].strip()
            if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
                yield name
    else:
        yield match.group(1)


def scan_text(text: str, path: str, patterns: Sequence[re.Pattern[str]]) -> Iterator[Usage]:
    for pattern in patterns:
        for match in pattern.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            for name in _names(match):
                yield Usage(name, path, line)


def scan_tree(
    root: Path, roots: Sequence[str], patterns: CodePatterns, unreadable: list[tuple[str, str]] | None = None
) -> Iterator[Usage]:
    """Walk the code folders without following symlinks or reading huge files.

    A source file that cannot be read (a FIFO, a device, a permission error) is never opened
    and goes to `unreadable` with the reason, so the variables it reads are known to be unknown.
    """
    seen = 0
    for start in roots:
        base = (root / start).resolve()
        if not base.is_relative_to(root.resolve()) or not base.is_dir():
            continue
        for folder, dirs, files in os.walk(base, followlinks=False):
            dirs[:] = sorted(d for d in dirs if d not in patterns.skip_dirs)
            for file_name in sorted(files):
                ext = os.path.splitext(file_name)[1]
                compiled = patterns.by_extension.get(ext)
                if not compiled:
                    continue
                path = Path(folder) / file_name
                if path.is_symlink():
                    continue
                seen += 1
                if seen > MAX_FILES:
                    return
                relative = path.relative_to(root.resolve()).as_posix()
                try:
                    text = read_regular(path, MAX_SOURCE_BYTES).decode("utf-8", "replace")
                except UnreadableFile as error:
                    # Huge files are bundles or generated code, skipped on purpose.
                    if not error.oversized and unreadable is not None:
                        unreadable.append((relative, error.reason))
                    continue
                except OSError as error:
                    if unreadable is not None:
                        unreadable.append((relative, error.strerror or str(error)))
                    continue
                yield from scan_text(text, relative, compiled)
