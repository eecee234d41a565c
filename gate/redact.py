"""The one redaction choke point.

Every secret the gate touches (a found credential, a secret env value, a login password, a token
it was handed) is registered here the moment a check sees it. Findings carry only the redacted
evidence built here, and every byte the gate writes (console, reports, annotations, summaries,
API bodies, logs, exception text) passes through `scrub` on its way out, which also removes the
base64, URL and JSON-escaped forms of each registered value.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
import threading
import urllib.parse

# Shorter values would match ordinary words everywhere; such secrets get no scrubbing but are
# still never put into evidence by the gate itself.
MIN_SCRUB_LENGTH = 5
MASK = "[REDACTED]"
_FINGERPRINT_SALT = b"launch-gate/fingerprint/v1"
# Slow enough that a fingerprint of a short secret is costly to brute-force, fast enough for
# the few thousand findings a history scan may produce.
_FINGERPRINT_ROUNDS = 20_000


def _base64_cores(raw: bytes) -> set[str]:
    """The parts of base64(value) that stay the same wherever the value sits in a longer stream."""
    cores: set[str] = set()
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + raw).decode()
        total = shift + len(raw)
        whole = encoded[: (total // 3) * 4]
        lead = (0, 2, 3)[shift]
        core = whole[lead:]
        if len(core) >= 8:
            cores.add(core)
            cores.add(core.replace("+", "-").replace("/", "_"))
    return cores


def encoded_forms(value: str) -> set[str]:
    """The value and the encodings under which it most often leaks into text."""
    forms = {value}
    raw = value.encode("utf-8", "surrogateescape")
    forms |= _base64_cores(raw)
    forms.add(urllib.parse.quote(value, safe=""))
    forms.add(urllib.parse.quote_plus(value, safe=""))
    forms.add(json.dumps(value)[1:-1])
    return {form for form in forms if len(form) >= MIN_SCRUB_LENGTH}


class Redactor:
    """Holds the values that must never be written, and removes them from any text."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._forms: set[str] = set()
        self._pattern: re.Pattern[str] | None = None

    def register(self, value: str) -> None:
        if len(value) < MIN_SCRUB_LENGTH:
            return
        new = encoded_forms(value) - self._forms
        if not new:
            return
        with self._lock:
            self._forms |= new
            self._pattern = None

    def evidence(self, value: str, kind: str, public_prefix: int = 0) -> str:
        """Register a found secret and return the only form of it a report may show."""
        self.register(value)
        # A short secret keeps every character to itself: even a public prefix is a big share of it.
        shown = value[: min(4, public_prefix)] if len(value) >= 16 else ""
        return f"{shown}{'*' * 8} ({kind}, {len(value)} chars, id {secret_id(value)[:8]})"

    def scrub(self, text: str) -> str:
        pattern = self._compiled()
        if pattern is None:
            return text
        return pattern.sub(MASK, text)

    def _compiled(self) -> re.Pattern[str] | None:
        with self._lock:
            if self._pattern is None and self._forms:
                ordered = sorted(self._forms, key=len, reverse=True)
                self._pattern = re.compile("|".join(re.escape(form) for form in ordered))
            return self._pattern


def secret_id(value: str) -> str:
    """A salted, slow hash of a secret: stable across runs so suppressions survive rebases."""
    digest = hashlib.pbkdf2_hmac(
        "sha256", value.encode("utf-8", "surrogateescape"), _FINGERPRINT_SALT, _FINGERPRINT_ROUNDS
    )
    return digest.hex()


# The process-wide instance: a value registered by any check is scrubbed from every channel.
REDACTOR = Redactor()


def register(value: str) -> None:
    REDACTOR.register(value)


def evidence(value: str, kind: str, public_prefix: int = 0) -> str:
    return REDACTOR.evidence(value, kind, public_prefix)


def scrub(text: str) -> str:
    return REDACTOR.scrub(text)


class ScrubbingFilter(logging.Filter):
    """Applies `scrub` to every log record, arguments included, before any handler sees it."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = scrub(record.getMessage())
        record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = scrub(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True
