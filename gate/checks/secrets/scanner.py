"""Scanning text for secrets: a keyword prefilter in front of detect-secrets' plugins and filters.

Most lines of a repository hold no keyword any detector needs, so the prefilter (prefilter.py)
finds the lines that could over a whole buffer at C speed, and only those lines reach the
plugins, and then only the plugins whose keyword, trigger or run was there. It is exact: a line it
skips could not have produced a finding. A line seen before is not scanned again.

Lines longer than MAX_LINE (minified bundles, one-line JSON) are scanned in bounded windows around
the prefilter hits. With bounded patterns that bounds the time per window (detect-secrets' keyword
regexes are superlinear: a hostile 1 KB line costs about 0.3 s, a 4 KB one about 3 s, hence the
small windows), and the time for a long line grows linearly with its length.

`scan_text` is the entry point other checks use (e.g. for a deployed JS bundle); it has no side
effect at import and loads detect-secrets on first use.
"""

from __future__ import annotations

import base64
import binascii
import re
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from gate.checks.secrets.detectors import Detector, default_detectors, filter_data
from gate.checks.secrets.filters import is_false_positive, is_local_url
from gate.checks.secrets.findings import finding_for
from gate.checks.secrets.hits import MAX_LINE, Hit, LineHit, paired
from gate.checks.secrets.keybody import key_body
from gate.checks.secrets.prefilter import Candidates, Prefilter
from gate.checks.secrets.silencing import silence_reason

if TYPE_CHECKING:
    from gate.model import Finding

WINDOW_BEFORE = 128
WINDOW_AFTER = 512
CACHE_LIMIT = 100_000

_SECRET_KIND = re.compile(rb"^kind:[ \t]{0,10}[\"']?Secret[\"']?[ \t]*\r?$", re.MULTILINE)
_DATA_ENTRY = re.compile(
    rb"[ \t]{1,40}(?P<key>[A-Za-z0-9_.-]{1,253}):[ \t]{0,10}[\"']?"
    rb"(?P<value>[A-Za-z0-9+/]{8,1000000}={0,2})[\"']?[ \t]*\r?"
)
_TRAILING_COMMENT = re.compile(r"\s+#.*\Z", re.DOTALL)


class Engine:
    """Detectors, prefilter and line cache. One per process; not shared between threads."""

    def __init__(
        self, detectors: Sequence[Detector] | None = None, *, prefilter: bool = True, cache: bool = True
    ) -> None:
        self.detectors = tuple(detectors if detectors is not None else default_detectors())
        self.prefilter = prefilter
        self._use_cache = cache
        self._cache: dict[tuple[str, str, frozenset[int]], tuple[LineHit, ...]] = {}
        self._kinds: dict[str, tuple[str, frozenset[int]]] = {}
        # Detectors limited to some files (.env) skip the prefilter: in those files every line is
        # a candidate for them, and their common keywords stay out of everybody else's way.
        self._restricted = frozenset(i for i, d in enumerate(self.detectors) if d.files is not None and d.every_line)
        self._prefilter = Prefilter(self.detectors, self._restricted)
        self._all = frozenset(i for i, d in enumerate(self.detectors) if d.scanned)
        # Most detectors apply to every file; only the few limited to some are asked per path
        # (a history adding a new file per commit asked all of them for every one).
        self._limited = frozenset(i for i in self._all if self.detectors[i].files is not None)
        self._everywhere = self._all - self._limited

    def candidates(self, buf: bytes, line_prefix: bytes = b"") -> Candidates:
        """Line start offset -> (start, end, detectors) of each keyword, trigger or run on that line
        (only lines starting with `line_prefix`, once the prefilter is on)."""
        found: Candidates = {}
        if not self.prefilter:
            start = 0
            while start < len(buf):
                end = buf.find(b"\n", start)
                end = len(buf) if end == -1 else end
                found[start] = [(start, end, self._all)]
                start = end + 1
            return found
        return self._prefilter.candidates(buf, MAX_LINE, line_prefix)

    def restricted_for(self, path: str) -> frozenset[int]:
        """The file-limited detectors that apply to this path (they see every line of it)."""
        return frozenset(i for i in self._restricted if self.detectors[i].applies_to(path))

    def add_every_line(
        self,
        found: Candidates,
        buf: bytes,
        start: int,
        end: int,
        detectors: frozenset[int],
    ) -> None:
        """Make each line starting in [start, end) a candidate for these detectors."""
        line_start = start
        while line_start < end:
            line_end = buf.find(b"\n", line_start)
            line_end = len(buf) if line_end == -1 else line_end
            found.setdefault(line_start, []).append((line_start, min(line_end, line_start + MAX_LINE), detectors))
            line_start = line_end + 1

    def _kind(self, path: str) -> tuple[str, frozenset[int]]:
        """What about a path changes the result of a line: its file type and which detectors apply."""
        kind = self._kinds.get(path)
        if kind is None:
            from detect_secrets.util.filetype import determine_file_type

            name = path.rsplit("/", 1)[-1]
            applicable = self._everywhere | frozenset(i for i in self._limited if self.detectors[i].applies_to(path))
            lock = name in filter_data().lock_files
            swagger = "swagger" in path
            kind = (f"{determine_file_type(path).name}:{lock}:{swagger}", applicable)
            if len(self._kinds) > CACHE_LIMIT:
                self._kinds.clear()
            self._kinds[path] = kind
        return kind

    def scan_line(self, line: str, path: str, only: Iterable[int] | None = None) -> tuple[LineHit, ...]:
        """Run the chosen detectors (all by default) and the filters over one line."""
        kind, applicable = self._kind(path)
        chosen = applicable if only is None else applicable & frozenset(only)
        line = line.rstrip()
        key = (line, kind, chosen)
        if self._use_cache:
            cached = self._cache.get(key)
            if cached is not None:
                return cached
        raw: list[LineHit] = []
        for index in sorted(chosen):
            detector = self.detectors[index]
            for potential in detector.plugin.analyze_line(filename=path, line=line, line_number=0, context=None):
                secret = potential.secret_value
                if detector.generic and secret:
                    # detect-secrets reads a YAML value's trailing `# comment` as part of it.
                    secret = _TRAILING_COMMENT.sub("", secret)
                if not secret:
                    continue
                column = max(line.find(secret), 0)
                if is_false_positive(detector, secret, line, path, column):
                    continue
                if detector.local is not None and is_local_url(secret, line):
                    raw.append(LineHit(detector.local, secret, column))
                else:
                    raw.append(LineHit(index, secret, column))
        hits = self._without_overlaps(raw)
        if self._use_cache:
            if len(self._cache) > CACHE_LIMIT:
                self._cache.clear()
            self._cache[key] = hits
        return hits

    def _without_overlaps(self, raw: list[LineHit]) -> tuple[LineHit, ...]:
        """Where detectors overlap, keep the specific one: keyed before generic, longer first."""
        raw.sort(key=lambda h: (self.detectors[h.detector].generic, -len(h.secret), h.column, h.detector))
        kept: list[LineHit] = []
        for hit in raw:
            end = hit.column + len(hit.secret)
            if all(end <= other.column or hit.column >= other.column + len(other.secret) for other in kept):
                kept.append(hit)
        kept.sort(key=lambda h: (h.column, h.detector))
        return tuple(kept)

    def scan_candidate(
        self,
        buf: bytes,
        line_start: int,
        spots: Sequence[tuple[int, int, frozenset[int]]],
        path: str,
        prefix: int = 0,
    ) -> list[tuple[LineHit, str]]:
        """Scan one prefiltered line of `buf`; returns each hit with the text it was found in.

        The line's text starts `prefix` bytes in (1 for a patch's `+`). Columns are 0-based
        characters from the start of the text.
        """
        line_start += prefix
        line_end = buf.find(b"\n", line_start)
        line_end = len(buf) if line_end == -1 else line_end
        chosen = frozenset().union(*(detectors for _, _, detectors in spots))
        if line_end - line_start <= MAX_LINE:
            text = buf[line_start:line_end].decode("utf-8", "replace")
            return [(hit, text) for hit in self.scan_line(text, path, chosen)]
        texts: dict[LineHit, str] = {}
        for window_start, window_end, detectors in _windows(spots, line_start, line_end):
            text = buf[window_start:window_end].decode("utf-8", "replace")
            offset = len(buf[line_start:window_start].decode("utf-8", "replace"))
            for hit in self.scan_line(text, path, detectors):
                texts.setdefault(LineHit(hit.detector, hit.secret, hit.column + offset), text)
        # Windows of different detectors may find the same text; the line keeps one finding.
        return [(hit, texts[hit]) for hit in self._without_overlaps(list(texts))]

    def scan_buffer(self, buf: bytes, path: str) -> Iterator[Hit]:
        """Every secret in a whole file's bytes, with 1-based line and column; the two halves of
        one credential are one hit."""
        yield from paired(list(self._scan_buffer(buf, path)), self.detectors)

    def _scan_buffer(self, buf: bytes, path: str) -> Iterator[Hit]:
        decoded = {hit.line: hit for hit in self._secret_manifest_hits(buf, path)}
        spots_by_line = self.candidates(buf)
        restricted = self.restricted_for(path)
        if restricted and self.prefilter:
            self.add_every_line(spots_by_line, buf, 0, len(buf), restricted)
        line_number, counted_to = 1, 0
        for line_start in sorted(spots_by_line):
            line_number += buf.count(b"\n", counted_to, line_start)
            counted_to = line_start
            if line_number in decoded:
                continue  # the decoded value's find stands for the line
            found = self.scan_candidate(buf, line_start, spots_by_line[line_start], path)
            if not found:
                continue
            previous = _previous_line(buf, line_start)
            for hit, text in found:
                material = self.material(hit, buf, line_start)
                if material is None:
                    continue
                yield Hit(
                    detector=hit.detector,
                    secret=hit.secret,
                    line=line_number,
                    column=hit.column + 1,
                    silenced=silence_reason(text, previous, path),
                    material=material,
                )
        yield from decoded.values()

    def _secret_manifest_hits(self, buf: bytes, path: str) -> Iterator[Hit]:
        """Secrets in the base64 `data:` values of a Kubernetes Secret manifest, found in the
        decoded text (so a value has one fingerprint, encoded or not) and placed on the entry's
        line, at its value."""
        if not path.endswith((".yaml", ".yml")) or not _SECRET_KIND.search(buf):
            return
        data_indent: int | None = None
        lines = buf.split(b"\n")
        for number, line in enumerate(lines, 1):
            stripped = line.strip()
            indent = len(line) - len(line.lstrip())
            if data_indent is not None and stripped and indent <= data_indent:
                data_indent = None
            if stripped in (b"data:", b"binaryData:"):
                data_indent = indent
                continue
            match = _DATA_ENTRY.fullmatch(line) if data_indent is not None else None
            if match is None:
                continue
            try:
                value = base64.b64decode(match.group("value"), validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                continue
            key = match.group("key").decode()
            text = value if "\n" in value.strip() else f"{key}: {value.strip()}"
            previous = lines[number - 2].decode("utf-8", "replace") if number > 1 else ""
            for hit in self.scan_buffer(text.encode("utf-8", "surrogateescape"), path):
                yield replace(
                    hit,
                    line=number,
                    column=match.start("value") + 1,
                    silenced=silence_reason(line.decode("utf-8", "replace"), previous, path),
                )
                break  # one finding per entry

    def material(self, hit: LineHit, buf: bytes, line_start: int, prefix: bytes = b"") -> str | None:
        """What identifies the hit on the line starting at `line_start` (whose text starts after
        `prefix`, `+` in a patch): the secret itself, or for a key header the key body after it.
        None when a header has no key body after it: prose naming a header, a `...` example."""
        if self.detectors[hit.detector].body is None:
            return hit.secret
        return key_body(buf, line_start, hit, prefix)


def _previous_line(buf: bytes, line_start: int) -> str:
    """The line before the one starting at `line_start`, cut to MAX_LINE."""
    if not line_start:
        return ""
    previous_start = buf.rfind(b"\n", 0, max(line_start - 1, 0)) + 1
    return buf[previous_start : max(line_start - 1, previous_start)][:MAX_LINE].decode("utf-8", "replace")


def _windows(
    spots: Sequence[tuple[int, int, frozenset[int]]], line_start: int, line_end: int
) -> list[tuple[int, int, frozenset[int]]]:
    """Bounded windows around the prefilter hits of a long line, merged per set of detectors.

    Each detector only sees windows around its own keywords or runs: a long run of letters
    (a data URI, a long identifier) must not widen the window of detect-secrets' keyword
    finder, whose time grows faster than the window.
    """
    by_detectors: dict[frozenset[int], list[tuple[int, int]]] = {}
    for start, end, detectors in spots:
        by_detectors.setdefault(detectors, []).append((start, end))
    merged: list[tuple[int, int, frozenset[int]]] = []
    for detectors, ranges in by_detectors.items():
        current: tuple[int, int] | None = None
        for start, end in sorted(ranges):
            window = (max(line_start, start - WINDOW_BEFORE), min(line_end, end + WINDOW_AFTER))
            if current is not None and window[0] <= current[1] and window[1] - current[0] <= MAX_LINE:
                current = (current[0], max(current[1], window[1]))
                continue
            if current is not None:
                merged.append((*current, detectors))
            current = window
        if current is not None:
            merged.append((*current, detectors))
    return sorted(merged, key=lambda w: (w[0], w[1]))


_ENGINE: Engine | None = None
_ENGINE_LOCK = threading.Lock()


def shared_engine() -> Engine:
    """The process's engine, built on first use (loading detect-secrets is not free)."""
    global _ENGINE
    with _ENGINE_LOCK:
        if _ENGINE is None:
            _ENGINE = Engine()
        return _ENGINE


def scan_text(text: str, path: str) -> list[Finding]:
    """Scan one blob (a file, a minified bundle, a source map) with the check's detectors and filters.

    Findings have check "secrets", location `path` with 1-based line and column, redacted
    evidence, and a fingerprint of rule + hashed secret, so they match the same secret found in
    the repository. Lines silenced in source carry their suppression.
    """
    engine = shared_engine()
    buf = text.encode("utf-8", "surrogateescape")
    return [finding_for(engine.detectors[hit.detector], hit, path=path) for hit in engine.scan_buffer(buf, path)]
