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
import math
import re
import threading
import urllib.parse
from collections import Counter
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from typing import Any

import ahocorasick

# Shorter values would match ordinary words everywhere; such secrets get no scrubbing but are
# still never put into evidence by the gate itself.
MIN_SCRUB_LENGTH = 5
MASK = "[REDACTED]"
_FINGERPRINT_SALT = b"launch-gate/fingerprint/v1"
# Slow enough that a fingerprint of a short, human-chosen secret is costly to brute-force.
_FINGERPRINT_ROUNDS = 20_000
# A value this random by its own characters cannot be guessed, stretched or not: its fingerprint
# is one salted hash, so a history with thousands of generated tokens is not minutes of hashing.
_STRONG_BITS = 128
_STRONG_DISTINCT = 12


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
        # Aho-Corasick over every form: one pass over the text whatever their number (a regex
        # alternation of thousands of secrets tries each at every position).
        self._automaton: Any = None

    def register(self, value: str) -> None:
        if len(value) < MIN_SCRUB_LENGTH:
            return
        new = encoded_forms(value) - self._forms
        if not new:
            return
        with self._lock:
            self._forms |= new
            self._automaton = None

    def evidence(self, value: str, kind: str, public_prefix: int = 0) -> str:
        """Register a found secret and return the only form of it a report may show."""
        self.register(value)
        # A short secret keeps every character to itself: even a public prefix is a big share of it.
        shown = value[: min(4, public_prefix)] if len(value) >= 16 else ""
        return f"{shown}{'*' * 8} ({kind}, {len(value)} chars, id {secret_id(value)[:8]})"

    def scrub(self, text: str) -> str:
        """The text with every registered form, leftmost and longest first, replaced by MASK."""
        automaton = self._compiled()
        if automaton is None:
            return text
        parts: list[str] = []
        done = 0
        for end, length in automaton.iter_long(text):
            parts += (text[done : end + 1 - length], MASK)
            done = end + 1
        if not parts:
            return text
        parts.append(text[done:])
        return "".join(parts)

    def _compiled(self) -> Any:
        with self._lock:
            if self._automaton is None and self._forms:
                automaton = ahocorasick.Automaton()
                for form in self._forms:
                    automaton.add_word(form, len(form))
                automaton.make_automaton()
                self._automaton = automaton
            return self._automaton


@lru_cache(maxsize=65536)
def secret_id(value: str) -> str:
    """A salted hash of a secret, slow unless the secret is too random to guess: stable across
    runs and machines, so suppressions survive rebases."""
    rounds = 1 if _unguessable(value) else _FINGERPRINT_ROUNDS
    digest = hashlib.pbkdf2_hmac("sha256", value.encode("utf-8", "surrogateescape"), _FINGERPRINT_SALT, rounds)
    return digest.hex()


def warm_secret_ids(values: Iterable[str], threads: int) -> None:
    """Compute the fingerprints of many secrets at once in `threads` threads: the slow hash
    releases the GIL, and a history scan can hand over thousands."""
    pending = set(values)
    if len(pending) < 2 or threads < 2:
        return
    with ThreadPoolExecutor(max_workers=min(threads, len(pending)), thread_name_prefix="secret-id") as pool:
        list(pool.map(secret_id, pending))


def _unguessable(value: str) -> bool:
    """Many different characters, and length times their Shannon entropy past _STRONG_BITS: what
    generated keys and hashes have, and words, dates and repeated patterns do not."""
    counts = Counter(value)
    if len(counts) < _STRONG_DISTINCT:
        return False
    entropy = -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())
    return entropy * len(value) >= _STRONG_BITS


# The process-wide instance: a value registered by any check is scrubbed from every channel.
REDACTOR = Redactor()


def register(value: str) -> None:
    REDACTOR.register(value)


def evidence(value: str, kind: str, public_prefix: int = 0) -> str:
    return REDACTOR.evidence(value, kind, public_prefix)


def scrub(text: str) -> str:
    return REDACTOR.scrub(text)


# Names under which HTTP carries credentials: in a query string, a JSON or form body, a header.
_SECRET_NAME = (
    r"[\w.-]*?(?:token|secret|passw(?:or)?d|pwd|api[_-]?key|apikey|access[_-]?key|auth|session"
    r"|sig(?:nature)?|credential|cookie)[\w.-]*"
)
_SECRET_PATTERNS = (
    # Header values as httpcore logs them (`(b'set-cookie', b'...')`), as dicts, and as `Name: value`.
    re.compile(
        r"(?i)((?:(?:set-)?cookie|(?:proxy-)?authorization|x-[\w-]*(?:token|key|secret|bypass|auth)[\w-]*)"
        r"['\"]?\s*[:,=]\s*(?:b?['\"])?)([^'\"\r\n]+)()"
    ),
    # Query-string and form parameters named like a credential.
    re.compile(rf"(?i)([?&;]{_SECRET_NAME}=)([^&\s'\"#;]+)()"),
    # JSON fields named like a credential.
    re.compile(rf"(?i)([\"']{_SECRET_NAME}[\"']\s*:\s*[\"'])([^\"']+)()"),
    # user:password@ in a URL.
    re.compile(r"(://[^/\s:@]+:)([^@\s/]+)(@)"),
)


def scrub_log(text: str) -> str:
    """`scrub`, then credentials found by their shape: debug logs of the HTTP libraries print
    headers, URLs and bodies before the gate has seen (and registered) the values in them."""
    text = scrub(text)
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(_masked, text)
    return text


def _masked(match: re.Match[str]) -> str:
    # Every pattern captures (what precedes the value, the value, what follows it).
    return f"{match.group(1)}{MASK}{match.group(3)}"


def register_url_secrets(url: str) -> None:
    """Register the values of credential-named query parameters and a URL's password, so the
    URL can be shown everywhere with them masked."""
    parts = urllib.parse.urlsplit(url)
    if parts.password:
        register(parts.password)
    for name, value in urllib.parse.parse_qsl(parts.query, keep_blank_values=False):
        if re.fullmatch(_SECRET_NAME, name, re.IGNORECASE):
            register(value)


# Loggers of the libraries that talk HTTP for the gate; their records reach only the root handler.
LIBRARY_LOGGERS = ("httpx", "httpcore", "hpack", "urllib3", "github")


class _RoutedLogger(logging.Logger):
    """A library logger that keeps no output of its own: PyGithub adds a stderr handler on import,
    which would print past the root handler's ScrubbingFilter (and print every line twice)."""

    def addHandler(self, hdlr: logging.Handler) -> None:
        if isinstance(hdlr, logging.NullHandler):
            super().addHandler(hdlr)


def route_library_loggers() -> None:
    """Make every library logger in LIBRARY_LOGGERS propagate to the root handler and nowhere else,
    whether the library is imported before or after this call."""
    manager = logging.Logger.manager
    for name in LIBRARY_LOGGERS:
        existing = manager.loggerDict.get(name)
        if isinstance(existing, logging.Logger):
            existing.handlers[:] = [h for h in existing.handlers if isinstance(h, logging.NullHandler)]
            existing.propagate = True
            continue
        previous = manager.loggerClass
        manager.setLoggerClass(_RoutedLogger)
        try:
            logging.getLogger(name)
        finally:
            manager.loggerClass = previous


class ScrubbingFilter(logging.Filter):
    """Applies `scrub_log` to every log record, arguments included, before any handler sees it."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = scrub_log(record.getMessage())
        record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = scrub_log(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True
