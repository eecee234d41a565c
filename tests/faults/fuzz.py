"""Hypothesis settings for the fuzz suites: fixed and modest in CI, longer by hand.

`GATE_FUZZ_PROFILE=long python -m pytest tests/faults -k fuzz` runs many more, random examples.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

PROFILES = {
    "ci": settings(max_examples=40, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck)),
    "long": settings(max_examples=2000, derandomize=False, deadline=None, suppress_health_check=list(HealthCheck)),
}
FUZZ = PROFILES[os.environ.get("GATE_FUZZ_PROFILE", "ci")]

text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=60)
scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | text
json_values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4), max_leaves=16
)


@st.composite
def mutated(draw: st.DrawFn, seeds: list[bytes]) -> bytes:
    """A real example file with a few bytes or lines replaced, cut or repeated: near-valid input
    reaches deep into a parser, where purely random bytes stop at the first syntax error."""
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(0, 4))):
        at = draw(st.integers(0, len(data)))
        kind = draw(st.sampled_from(["insert", "delete", "duplicate-line", "truncate"]))
        if kind == "insert":
            data[at:at] = draw(
                st.binary(max_size=8) | st.sampled_from([b"\n", b'"', b"{", b"}", b":", b"- ", b"[", b"\xff", b"0"])
            )
        elif kind == "delete":
            del data[at : at + draw(st.integers(1, 16))]
        elif kind == "duplicate-line":
            start = data.rfind(b"\n", 0, at) + 1
            end = data.find(b"\n", at)
            line = data[start : end if end >= 0 else len(data)]
            data[start:start] = line + b"\n"
        else:
            del data[at:]
    return bytes(data)
