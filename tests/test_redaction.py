"""One redaction choke point: a registered secret leaves the gate in no form, in no channel."""

from __future__ import annotations

import base64
import json
import logging
import re
import urllib.parse
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gate.redact import MASK, Redactor, ScrubbingFilter, _unguessable, encoded_forms, secret_id
from tests.faults.fuzz import FUZZ
from tests.support.helpers import gate, write_files
from tests.support.projects import clean_project


def test_scrub_removes_the_value_and_its_encoded_forms() -> None:
    redactor = Redactor()
    secret = "sk_live_Canary+/=42&x y"
    redactor.register(secret)
    for prefix in ("", "a", "ab"):
        encoded = base64.b64encode((prefix + secret + "tail").encode()).decode()
        assert secret[:10] not in redactor.scrub(encoded)
        scrubbed = redactor.scrub(encoded)
        assert MASK in scrubbed
    for form in (secret, urllib.parse.quote(secret, safe=""), json.dumps(secret)[1:-1]):
        assert redactor.scrub(f"before {form} after") == f"before {MASK} after"


def test_base64_in_a_basic_auth_header_is_scrubbed() -> None:
    redactor = Redactor()
    redactor.register("hunter2-password-xyz")
    header = "Authorization: Basic " + base64.b64encode(b"admin:hunter2-password-xyz").decode()
    assert "aHVudGVy" not in redactor.scrub(header).split("Basic ")[1][4:]
    assert MASK in redactor.scrub(header)


def test_short_values_are_not_scrubbed_everywhere() -> None:
    redactor = Redactor()
    redactor.register("abc")
    assert redactor.scrub("abcdef") == "abcdef"
    assert all(len(form) >= 5 for form in encoded_forms("abcdef"))


def test_evidence_shows_at_most_the_public_prefix() -> None:
    redactor = Redactor()
    secret = "ghp_0123456789abcdefghijklmnopqrstuvwxyz"
    shown = redactor.evidence(secret, "GitHub token", public_prefix=4)
    assert shown.startswith("ghp_********") and secret[4:] not in shown
    assert "40 chars" in shown and secret_id(secret)[:8] in shown
    assert redactor.evidence("tiny-secret", "x", public_prefix=4).startswith("********")


def test_fingerprint_hash_is_stable_and_not_the_plain_sha() -> None:
    import hashlib

    assert secret_id("value-one") == secret_id("value-one") != secret_id("value-two")
    assert secret_id("value-one") != hashlib.sha256(b"value-one").hexdigest()


@FUZZ
@given(
    st.lists(st.text("abAB01-_", min_size=5, max_size=9), min_size=1, max_size=12),
    st.text("abAB01-_ ", max_size=200),
)
def test_scrub_masks_leftmost_longest_like_an_ordered_alternation(values: list[str], text: str) -> None:
    redactor = Redactor()
    for value in values:
        redactor.register(value)
    forms = {form for value in values for form in encoded_forms(value)}
    reference = re.compile("|".join(re.escape(form) for form in sorted(forms, key=len, reverse=True)))
    sample = text + "".join(values) + text[::-1]
    assert redactor.scrub(sample) == reference.sub(MASK, sample)


def test_thousands_of_registered_secrets_are_scrubbed_in_one_pass() -> None:
    redactor = Redactor()
    secrets = [f"generated-{index:05d}-token" for index in range(5000)]
    for secret in secrets:
        redactor.register(secret)
    text = " ".join(secrets[::7]) * 3
    scrubbed = redactor.scrub(text)
    assert "generated-" not in scrubbed and scrubbed.count(MASK) == 3 * len(secrets[::7])


@pytest.mark.parametrize(
    ("value", "unguessable"),
    [
        ("Summer2024!Summer2024!Summer2024!Summer2024!", False),
        ("correcthorsebatterystaple", False),
        ("hunter2-password-xyz", False),
        ("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", True),
        ("sk_live_4eC39HqLyjWDarjtT1zdp7dcWx9yBqXz2RmKpQ", True),
    ],
)
def test_only_secrets_too_random_to_guess_skip_the_slow_hash(value: str, unguessable: bool) -> None:
    # A stretched hash is what keeps a fingerprint in a public SARIF from giving back a
    # human-chosen password; a generated key has nothing to give back.
    assert _unguessable(value) is unguessable


def test_log_records_and_their_exceptions_are_scrubbed() -> None:
    from gate import redact

    secret = "LogCanary-a1b2c3d4e5"
    redact.register(secret)
    record = logging.LogRecord("t", logging.ERROR, __file__, 1, "token %s", (secret,), None)
    try:
        raise ValueError(f"bad {secret}")
    except ValueError:
        import sys

        record.exc_info = sys.exc_info()
    ScrubbingFilter().filter(record)
    assert secret not in record.getMessage() and secret not in (record.exc_text or "")


def test_canary_in_env_files_reaches_no_output_of_any_format(tmp_path: Path) -> None:
    canary = "EnvCanary-3f9a0c77d1"
    clean_project(tmp_path)
    write_files(
        tmp_path,
        {
            ".env.production": f"DATABASE_URL=postgres://app:{canary}@localhost/db\n"
            f"API_BASE_URL=https://{canary}.localhost\nLOG_LEVEL={canary}\n"
            f"NEXT_PUBLIC_PASSWORD={canary}\n{canary}\nexport ={canary}\n",
            ".env": f"DATABASE_URL={canary}\nAPI_BASE_URL={canary}\n",
        },
    )
    written: list[str] = []
    for fmt in ("console", "json", "sarif", "junit"):
        outcome = gate("check", "env", "-vv", "--format", fmt, "--output", f"{fmt}=out/{fmt}", cwd=tmp_path)
        assert outcome.exit_code == 1, outcome.output
        written += [outcome.stdout, outcome.stderr, (tmp_path / "out" / fmt).read_text()]
    encodings = {canary, base64.b64encode(canary.encode()).decode()[:12], urllib.parse.quote(canary)}
    for text in written:
        for form in encodings:
            assert form not in text


def test_debug_logs_of_the_http_libraries_lose_credentials_by_their_shape() -> None:
    from gate.redact import scrub_log

    lines = {
        "[(b'Content-Type', b'text/html'), (b'Set-Cookie', b'session=s3cr3tv4lue; Path=/; Secure')]": "s3cr3tv4lue",
        "headers [(b'Authorization', b'Bearer tok_9f8e7d6c5b'), (b'Cookie', b'sid=c00kie99')]": "tok_9f8e7d6c5b",
        "Authorization: Bearer tok_1234567890": "tok_1234567890",
        'HTTP Request: GET https://p.example/feed?page=2&access_token=qwerty12345 "HTTP/1.1 200 OK"': "qwerty12345",
        '{"data": {"refresh_token": "r-abcdef12345"}}': "r-abcdef12345",
        "GET https://reader:hunter2222@mirror.example/v1": "hunter2222",
    }
    for line, secret in lines.items():
        cleaned = scrub_log(line)
        assert secret not in cleaned and "[REDACTED]" in cleaned, cleaned
    assert "Bearer" not in scrub_log("Authorization: Bearer tok_1234567890")
    assert scrub_log("GET https://p.example/feed?page=2") == "GET https://p.example/feed?page=2"


def test_credential_named_query_parameters_are_registered_for_every_channel() -> None:
    from gate.redact import register_url_secrets, scrub

    register_url_secrets("https://p.example/api/feed?page=2&api_key=k3y-9f8e7d6c&utm_source=news")
    assert scrub("see /api/feed?page=2&api_key=k3y-9f8e7d6c") == "see /api/feed?page=2&api_key=[REDACTED]"
    assert scrub("utm_source=news") == "utm_source=news"


def test_pygithub_keeps_no_stderr_handler_of_its_own_past_the_redactor() -> None:
    import logging

    from gate.redact import LIBRARY_LOGGERS, route_library_loggers

    route_library_loggers()
    import github  # noqa: F401 - its import is what adds a handler

    for name in LIBRARY_LOGGERS:
        logger = logging.getLogger(name)
        assert logger.propagate and all(isinstance(h, logging.NullHandler) for h in logger.handlers), name
