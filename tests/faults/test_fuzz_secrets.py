"""The secrets scanner on arbitrary bytes: it never raises, and each line costs bounded time."""

from __future__ import annotations

import time

from hypothesis import given
from hypothesis import strategies as st

from tests.faults.fuzz import FUZZ

# Generous for a loaded 2-core box; a regex that backtracks on one line takes far longer.
SECONDS_PER_LINE = 1.0
PATHS = ["app.py", ".env", "dist/app.min.js", "config/settings.json", "id_rsa", "notes.md"]
# Fragments that steer the detectors into their deep paths: key prefixes, assignments, quotes,
# long base64/hex runs, PEM armour, URLs with passwords.
FRAGMENTS = [
    "AKIA",
    "ghp_",
    "sk_live_",
    "xoxb-",
    "-----BEGIN RSA PRIVATE KEY-----",
    "password=",
    "SECRET_KEY = '",
    "postgres://u:",
    "@db:5432/x",
    "eyJhbGciOiJIUzI1NiJ9.",
    "=" * 40,
    "A" * 80,
    "0123456789abcdef" * 4,
    '"',
    "'",
    "\\",
    "\t",
    " ",
    "\n",
    "\xff",
    "\u202e",
]
lines = st.lists(st.sampled_from(FRAGMENTS) | st.text(max_size=30), max_size=25).map("".join)
blobs = st.binary(max_size=400).map(lambda raw: raw.decode("utf-8", "replace")) | lines


@FUZZ
@given(blobs, st.sampled_from(PATHS))
def test_fuzz_scanner_never_raises_on_any_text(text: str, path: str) -> None:
    from gate.checks.secrets.scanner import scan_text

    started = time.monotonic()
    findings = scan_text(text, path)
    elapsed = time.monotonic() - started
    assert elapsed < SECONDS_PER_LINE * max(1, text.count("\n") + 1)
    for finding in findings:
        assert finding.location is not None and finding.location.line is not None
        assert 1 <= finding.location.line <= text.count("\n") + 1


@FUZZ
@given(st.binary(max_size=2000), st.sampled_from(PATHS))
def test_fuzz_buffer_scan_never_raises_on_any_bytes(data: bytes, path: str) -> None:
    from gate.checks.secrets.scanner import shared_engine

    started = time.monotonic()
    list(shared_engine().scan_buffer(data, path))
    assert time.monotonic() - started < SECONDS_PER_LINE * max(1, data.count(b"\n") + 1)


def test_one_long_hostile_line_is_scanned_in_bounded_time() -> None:
    from gate.checks.secrets.scanner import scan_text

    line = ("password='" + "A" * 50 + "' ghp_" + "=" * 30 + " AKIA") * 2000
    started = time.monotonic()
    scan_text(line, "app.py")
    assert time.monotonic() - started < 10 * SECONDS_PER_LINE
