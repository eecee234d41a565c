"""The prefilter: which lines of a buffer could hold a secret, and for which detectors.

Every detector declares keywords one of which each of its matches contains, a trigger regex that
finds each of its matches, or a run of characters each match contains (rules/secrets/
detectors.yml). The prefilter looks for those with RE2, whose automaton reads a buffer once per
pattern at a few hundred MB/s whatever the number of alternatives:

1. two passes over the whole buffer (keywords; runs) mark the lines that hold any of them;
2. on each marked line, one RE2 set match names every keyword it holds and one byte translation
   per character class its runs, hence exactly the detectors the line concerns;
3. on a long line (a minified bundle), every occurrence is placed, so the scanner can window
   around each instead of reading the whole line.

Triggers are Python regexes from the rules and are searched for with Python's `re`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import re2

from gate.checks.secrets.detectors import Detector

Spot = tuple[int, int, frozenset[int]]
Candidates = dict[int, list[Spot]]
# A compiled RE2 pattern or set (the binding ships no type information).
Finder = Any

# Runs at least this long are rare in any text, whatever their class, so the finder looks for
# all of them as one run of the union of their classes; shorter ones (a quoted hex string) keep
# their own class, or the finder would stop on every quoted word.
SHARED_RUN_LENGTH = 32
# Distinct sets of keywords found together on a line whose detectors are remembered.
UNION_CACHE = 4096
# Lines (at most a KB each) whose detectors are remembered.
LINE_CACHE = 50_000


def _options() -> re2.Options:
    options = re2.Options()
    # Bytes are matched as bytes: a buffer with invalid UTF-8 is still read to its end.
    options.encoding = re2.Options.Encoding.LATIN1
    options.never_capture = True
    # Where an automaton outgrows its memory RE2 falls back to a slower matcher; that is no
    # error to print on the user's terminal.
    options.log_errors = False
    return options


def _compile(pattern: bytes) -> Finder:
    return re2.compile(pattern, _options())


def _class_bytes(chars: str) -> frozenset[int]:
    member = re.compile(f"[{chars}]".encode())
    return frozenset(byte for byte in range(256) if member.fullmatch(bytes([byte])))


def _class_pattern(members: Iterable[int]) -> bytes:
    return b"[" + b"".join(b"\\x%02x" % byte for byte in sorted(members)) + b"]"


def _keyword_pattern(keyword: bytes) -> bytes:
    """A lower-case keyword in any ASCII case, as `bytes.lower()` sees it (no Unicode folding)."""
    out = bytearray()
    for byte in keyword:
        if 0x61 <= byte <= 0x7A:
            out += b"[%c%c]" % (byte - 32, byte)
        else:
            out += b"\\x%02x" % byte
    return bytes(out)


@dataclass(frozen=True)
class _Run:
    members: frozenset[int]
    length: int
    quoted: bool
    distinct: int = 0

    @property
    def pattern(self) -> bytes:
        return (b"['\"]" if self.quoted else b"") + _class_pattern(self.members) + b"{%d,}" % self.length

    @property
    def table(self) -> bytes:
        """A `bytes.translate` table: the class's bytes become `a`, quotes `q`, the rest `.`."""
        table = bytearray(b"." * 256)
        for byte in self.members:
            table[byte] = ord("a")
        if self.quoted:
            table[ord("'")] = table[ord('"')] = ord("q")
        return bytes(table)

    @property
    def needle(self) -> bytes:
        """What a match looks like in the translated text."""
        return (b"q" if self.quoted else b"") + b"a" * self.length

    def covers(self, other: _Run) -> bool:
        """Every match of `other` lies inside a match of this run."""
        return (
            other.members <= self.members
            and other.length >= self.length
            and (other.quoted or not self.quoted)
            and other.distinct >= self.distinct
        )


class _RunCheck:
    """Finds one run on a line: translated, its presence is one substring test."""

    def __init__(self, run: _Run, detectors: frozenset[int]) -> None:
        self.needle = run.needle
        self.detectors = detectors
        # RE2 keeps a long line linear; Python's `re` costs less per call on a short one.
        self._long_pattern = _compile(run.pattern)
        self._short_pattern = re.compile(run.pattern)
        self._distinct = run.distinct
        self._skip = 1 if run.quoted else 0

    def places(self, line: bytes) -> Iterator[tuple[int, int]]:
        """Where the run is on a long line."""
        for match in self._long_pattern.finditer(line):
            if self._varied(match.group()):
                yield match.start(), match.end()

    def qualifies(self, line: bytes) -> bool:
        """Whether a short line already known to hold the needle holds the run itself."""
        return not self._distinct or any(self._varied(m.group()) for m in self._short_pattern.finditer(line))

    def _varied(self, run: bytes) -> bool:
        return len(set(run[self._skip :])) >= self._distinct


def _run_finder(runs: Sequence[_Run]) -> bytes:
    """One pattern whose matches include every match of every run, in few DFA states.

    A run covered by a shorter one of a wider class adds nothing; the long runs share one
    alternative over the union of their classes. One alternative per run would multiply the
    automaton's states (a counter per run) until RE2 gives up on its DFA.
    """
    leaders: list[_Run] = []
    for run in sorted(runs, key=lambda r: (r.length, -len(r.members))):
        if not any(leader.covers(run) for leader in leaders):
            leaders.append(run)
    finders = [leader for leader in leaders if leader.length < SHARED_RUN_LENGTH]
    shared = [leader for leader in leaders if leader.length >= SHARED_RUN_LENGTH]
    if shared:
        members = frozenset().union(*(r.members for r in shared))
        finders.append(_Run(members, min(r.length for r in shared), all(r.quoted for r in shared)))
    return b"|".join(finder.pattern for finder in finders)


class Prefilter:
    """Finds candidate lines for the detectors that are not limited to some files."""

    def __init__(self, detectors: Sequence[Detector], skip: frozenset[int]) -> None:
        by_keyword: dict[bytes, set[int]] = {}
        by_run: dict[_Run, set[int]] = {}
        self._triggers: list[tuple[re.Pattern[bytes], frozenset[int]]] = []
        for index, detector in enumerate(detectors):
            if index in skip:
                continue
            for keyword in detector.keywords:
                by_keyword.setdefault(keyword, set()).add(index)
            if detector.trigger is not None:
                self._triggers.append((detector.trigger, frozenset({index})))
            if detector.run is not None:
                spec = detector.run
                run = _Run(_class_bytes(spec.chars), spec.length, spec.quoted, spec.distinct)
                by_run.setdefault(run, set()).add(index)
        runs = sorted(by_run, key=lambda r: (r.length, sorted(r.members), r.quoted, r.distinct))
        keywords = sorted(by_keyword)
        # Each keyword alone, for placing it on a long line; all of them as one set, which names
        # those a line holds in one automaton pass. (Runs are cheaper checked by translating the
        # line: counted repetitions blow up a set's automaton.)
        self._keywords = [(_compile(_keyword_pattern(k)), frozenset(by_keyword[k])) for k in keywords]
        self._keyword_set = re2.Set.SearchSet(_options())
        for keyword in keywords:
            self._keyword_set.Add(_keyword_pattern(keyword))
        self._keyword_set.Compile()
        # Runs sharing a translation table differ only in length (sorted, shortest first).
        tables: dict[bytes, list[_RunCheck]] = {}
        for run in runs:
            tables.setdefault(run.table, []).append(_RunCheck(run, frozenset(by_run[run])))
        self._runs = list(tables.items())
        self._keyword_detectors: dict[tuple[int, ...], frozenset[int]] = {}
        self._line_detectors: dict[bytes, frozenset[int]] = {}
        # A keyword holding a shorter one is found wherever the shorter one is. RE2's own case
        # folding is faster than classes per letter; what it folds beyond ASCII the set drops.
        shortest = [k for k in keywords if not any(other != k and other in k for other in keywords)]
        keyword_finder = b"(?i:" + b"|".join(re.escape(k) for k in shortest) + b")" if shortest else b""
        self._finders = [_compile(pattern) for pattern in (keyword_finder, _run_finder(runs)) if pattern]

    def candidates(self, buf: bytes, long_line: int, line_prefix: bytes = b"") -> Candidates:
        """Line start offset -> (start, end, detectors) of what the line holds.

        A line of at most `long_line` bytes gets one spot, the whole line, for all its
        detectors; a longer one gets a spot per occurrence. Only lines starting with
        `line_prefix` count (`+`: the added lines of a patch).
        """
        found: Candidates = {}
        seen: set[int] = set()
        for finder in self._finders:
            for line_start, line_end in _hit_lines(finder, buf, line_prefix):
                if line_start in seen:
                    continue
                seen.add(line_start)
                line = buf[line_start:line_end]
                if len(line) > long_line:
                    spots = [(line_start + a, line_start + b, d) for a, b, d in self._occurrences(line)]
                else:
                    detectors = self._detectors(line)
                    spots = [(line_start, line_end, detectors)] if detectors else []
                if spots:
                    found[line_start] = spots
        for trigger, detectors in self._triggers:
            for match in trigger.finditer(buf):
                line_start = buf.rfind(b"\n", 0, match.start()) + 1
                if buf.startswith(line_prefix, line_start):
                    found.setdefault(line_start, []).append((match.start(), match.end(), detectors))
        return found

    def _detectors(self, line: bytes) -> frozenset[int]:
        """Every detector one of whose keywords or runs is on the line."""
        # A history adds the same line again and again (merges, reverts, copies).
        found = self._line_detectors.get(line)
        if found is None:
            if len(self._line_detectors) >= LINE_CACHE:
                self._line_detectors.clear()
            found = self._line_detectors[line] = self._detectors_uncached(line)
        return found

    def _detectors_uncached(self, line: bytes) -> frozenset[int]:
        indexes = tuple(self._keyword_set.Match(line) or ())
        found = self._keyword_detectors.get(indexes)
        if found is None:
            found = frozenset().union(*(self._keywords[index][1] for index in indexes))
            if len(self._keyword_detectors) < UNION_CACHE:
                self._keyword_detectors[indexes] = found
        for table, checks in self._runs:
            translated = line.translate(table)
            for check in checks:
                # A table's needles are one needle at growing lengths: the first missing ends it.
                if check.needle not in translated:
                    break
                if check.qualifies(line):
                    found |= check.detectors
        return found

    def _occurrences(self, line: bytes) -> Iterator[Spot]:
        """(start, end, detectors) of every keyword and run on a line."""
        for index in self._keyword_set.Match(line) or ():
            pattern, detectors = self._keywords[index]
            yield from ((m.start(), m.end(), detectors) for m in pattern.finditer(line))
        for table, checks in self._runs:
            translated = line.translate(table)
            for check in checks:
                if check.needle in translated:
                    yield from ((start, end, check.detectors) for start, end in check.places(line))


def _hit_lines(finder: Finder, buf: bytes, line_prefix: bytes) -> Iterator[tuple[int, int]]:
    """(start, end) of each line starting with `line_prefix` and holding a match, in order."""
    position = 0
    while (match := finder.search(buf, position)) is not None:
        line_start = buf.rfind(b"\n", 0, match.start()) + 1
        line_end = buf.find(b"\n", match.end())
        line_end = len(buf) if line_end == -1 else line_end
        if buf.startswith(line_prefix, line_start):
            yield line_start, line_end
        position = line_end + 1
