"""The prefilter is exact: a line it passes over could not have produced a finding."""

from __future__ import annotations

import re
import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gate.checks.secrets.hits import MAX_LINE
from gate.checks.secrets.scanner import Engine, shared_engine
from tests.checks.secrets.test_secrets_detectors import TRUE_POSITIVES
from tests.faults.fuzz import FUZZ
from tests.support import secrets_samples as s

PLAIN = Engine(shared_engine().detectors, prefilter=False, cache=False)


def _keyword_fragments() -> list[str]:
    keywords = {k.decode("utf-8", "replace") for d in shared_engine().detectors for k in d.keywords}
    return sorted(keywords)


# Keywords in every case, key-shaped runs, quotes and bytes that only look like ASCII letters
# when case is folded beyond ASCII (the Kelvin sign, the long s, Latin-1 letters).
FRAGMENTS = [
    *_keyword_fragments(),
    *(k.upper() for k in _keyword_fragments()),
    s.STRIPE_LIVE,
    s.GITHUB_APP,
    s.AWS_KEY,
    s.TWILIO_TOKEN,
    "0123456789abcdef" * 3,
    "Zm9vYmFyYmF6cXV4" * 3,
    "=",
    ": ",
    '"',
    "'",
    " ",
    "\u212a",
    "\u017f",
    "\xd1",
    "\xf1",
    "://u:",
    "@db.prod.acme.io/x",
]
# Runs of key-like characters around the lengths the run detectors start at, some of few
# different characters (below what a high-entropy string needs).
runs = st.text(string.ascii_letters + string.digits + "+/=_-.:", min_size=8, max_size=70) | st.text(
    "abcdef0123", min_size=8, max_size=40
)
lines = st.lists(st.sampled_from(FRAGMENTS) | runs | st.text(max_size=12), min_size=1, max_size=12).map("".join)


def _reference(line: bytes) -> frozenset[int]:
    """The detectors a line could concern, found the obvious way: every detector, one by one."""
    lowered = line.lower()
    engine = shared_engine()
    concerned = set()
    for index, detector in enumerate(engine.detectors):
        if detector.files is not None and detector.every_line:
            continue
        run = None
        if detector.run is not None:
            spec = detector.run
            run = re.compile(("['\"]" if spec.quoted else "") + f"([{spec.chars}]{{{spec.length},}})")
        text = line.decode("latin-1")
        if (
            any(keyword in lowered for keyword in detector.keywords)
            or (detector.trigger is not None and detector.trigger.search(line))
            or (run is not None and any(len(set(m.group(1))) >= spec.distinct for m in run.finditer(text)))
        ):
            concerned.add(index)
    return frozenset(concerned)


@FUZZ
@given(st.lists(lines, min_size=1, max_size=6))
def test_prefilter_names_for_each_line_exactly_the_detectors_a_one_by_one_check_names(texts: list[str]) -> None:
    buf = "\n".join(texts).encode("utf-8", "surrogateescape")
    candidates = shared_engine().candidates(buf)
    start = 0
    for line in buf.split(b"\n"):
        spots = candidates.get(start, [])
        assert frozenset().union(*(d for _, _, d in spots)) == _reference(line), line
        start += len(line) + 1


@FUZZ
@given(lines, st.sampled_from(["app.py", "settings.json", "dist/app.min.js", ".env", "values.yaml"]))
def test_prefiltered_scan_finds_exactly_what_every_detector_on_every_line_finds(line: str, path: str) -> None:
    buf = f"x = 1\n{line}\n".encode("utf-8", "surrogateescape")
    assert list(shared_engine().scan_buffer(buf, path)) == list(PLAIN.scan_buffer(buf, path))


@pytest.mark.parametrize(("rule_id", "path", "line"), TRUE_POSITIVES, ids=[f"{r}:{p}" for r, p, _ in TRUE_POSITIVES])
def test_a_long_line_holds_the_same_candidates_as_the_short_line_inside_it(rule_id: str, path: str, line: str) -> None:
    engine = shared_engine()
    padding = b"~" * (2 * MAX_LINE)
    text = line.encode()
    short = engine.candidates(text)
    long = engine.candidates(padding + text + padding)

    def detectors(spots: dict[int, list[tuple[int, int, frozenset[int]]]]) -> frozenset[int]:
        return frozenset().union(*(d for line_spots in spots.values() for _, _, d in line_spots))

    assert detectors(long) == detectors(short)
    # On a long line each occurrence is placed, so the scanner can window around it.
    text_span = range(len(padding), len(padding) + len(text) + 1)
    assert all(a in text_span and b in text_span for spots in long.values() for a, b, _ in spots)


def test_every_occurrence_on_a_long_line_is_placed() -> None:
    engine = shared_engine()
    line = (f"a='{s.GITHUB_APP}';" + "~" * 600) * 4
    spots = engine.candidates(line.encode())[0]
    places = [index for index in range(len(line)) if line.startswith(s.GITHUB_APP, index)]
    assert len(places) == 4
    assert {start for start, _, _ in spots} >= set(places)


def test_a_long_quoted_string_of_few_different_characters_concerns_no_entropy_detector() -> None:
    engine = shared_engine()
    entropy = {i for i, d in enumerate(engine.detectors) if d.rule_id == "secrets.high-entropy-string"}
    plain_words = b'+ label = "aaaabbbbccccddddeeeeffffgggg"'
    random_key = f'+ label = "{s.chars(s.ALNUM, 40, "entropy")}"'.encode()
    assert not entropy & set().union(*(d for _, _, d in engine.candidates(plain_words).get(0, [])))
    assert entropy & set().union(*(d for _, _, d in engine.candidates(random_key)[0]))
