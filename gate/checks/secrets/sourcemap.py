"""Just enough of Source Map v3 to say which original file and line a bundle position came from.

Index maps (`sections`) are not supported: such a map is scanned as plain text instead.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import json
import re
from dataclasses import dataclass, field

_BASE64 = {c: i for i, c in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")}
_REFERENCE = re.compile(rb"[#@]\s{0,4}sourceMappingURL=([^\s'\"*]{1,100000})")


@dataclass
class SourceMap:
    sources: list[str]
    contents: list[str | None]
    mappings: str
    # Per generated line (0-based): sorted generated columns and their (source, original line).
    _lines: list[tuple[list[int], list[tuple[int, int]]]] | None = field(default=None, repr=False)

    def original(self, line: int, column: int) -> tuple[str, int] | None:
        """The original (source path, 1-based line) for a 1-based generated line, 0-based column."""
        if self._lines is None:
            self._lines = _decode(self.mappings)
        if not 0 < line <= len(self._lines):
            return None
        columns, targets = self._lines[line - 1]
        index = bisect.bisect_right(columns, column) - 1
        if index < 0:
            return None
        source, original_line = targets[index]
        if not 0 <= source < len(self.sources):
            return None
        return self.sources[source], original_line + 1


def _vlq(segment: str) -> list[int]:
    values: list[int] = []
    value = shift = 0
    for char in segment:
        digit = _BASE64.get(char)
        if digit is None:
            raise ValueError(f"not base64: {char!r}")
        value += (digit & 31) << shift
        if digit & 32:
            shift += 5
            continue
        values.append(-(value >> 1) if value & 1 else value >> 1)
        value = shift = 0
    return values


def _decode(mappings: str) -> list[tuple[list[int], list[tuple[int, int]]]]:
    lines: list[tuple[list[int], list[tuple[int, int]]]] = []
    source = original_line = 0
    for text in mappings.split(";"):
        column = 0
        columns: list[int] = []
        targets: list[tuple[int, int]] = []
        for segment in text.split(","):
            if not segment:
                continue
            try:
                fields = _vlq(segment)
            except ValueError:
                continue
            column += fields[0]
            if len(fields) >= 4:
                source += fields[1]
                original_line += fields[2]
                columns.append(column)
                targets.append((source, original_line))
        order = sorted(range(len(columns)), key=columns.__getitem__)
        lines.append(([columns[i] for i in order], [targets[i] for i in order]))
    return lines


def parse(data: bytes) -> SourceMap | None:
    try:
        raw = json.loads(data)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    if not isinstance(raw, dict) or not isinstance(raw.get("sources"), list) or "sections" in raw:
        return None
    root = raw.get("sourceRoot") if isinstance(raw.get("sourceRoot"), str) else ""
    sources = [f"{root.rstrip('/')}/{s}" if root else s for s in raw["sources"] if isinstance(s, str)]
    if len(sources) != len(raw["sources"]):
        return None
    contents = raw.get("sourcesContent")
    if not isinstance(contents, list) or len(contents) != len(sources):
        contents = [None] * len(sources)
    return SourceMap(
        sources=[_clean(s) for s in sources],
        contents=[c if isinstance(c, str) else None for c in contents],
        mappings=str(raw["mappings"]) if isinstance(raw.get("mappings"), str) else "",
    )


def _clean(source: str) -> str:
    """`webpack://app/./src/x.ts` -> `src/x.ts`: the path a developer would open."""
    for scheme in ("webpack://", "webpack-internal://", "file://"):
        if source.startswith(scheme):
            source = source[len(scheme) :]
            source = source.split("/", 1)[1] if "/" in source and not source.startswith((".", "/")) else source
    while source.startswith(("./", "../")):
        source = source.split("/", 1)[1]
    return source.lstrip("/") or source


def map_reference(bundle: bytes) -> str | None:
    """The `sourceMappingURL` a bundle names in its last comment, if any."""
    tail = bundle[-100_100:]
    matches = list(_REFERENCE.finditer(tail))
    return matches[-1].group(1).decode("utf-8", "replace") if matches else None


def parse_data_url(url: str) -> SourceMap | None:
    """An inline map: `data:application/json;base64,...`."""
    header, _, payload = url.partition(",")
    if not header.endswith(";base64"):
        return None
    try:
        return parse(base64.b64decode(payload, validate=False))
    except (binascii.Error, ValueError):
        return None
