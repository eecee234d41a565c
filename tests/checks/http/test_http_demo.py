"""`gate demo` serves its sample app over HTTPS on loopback and the http check finds the planted flaws."""

from __future__ import annotations

import json

from tests.support.helpers import gate

PLANTED = {
    "http.exposed.file",
    "http.cors.reflected-origin",
    "http.cors.null-origin",
    "http.headers.csp-missing",
    "http.headers.leaks-version",
    "http.cookies.not-httponly",
    "http.bundle.local-api",
    "http.tls.http-not-redirected",
}


def test_demo_shows_the_planted_preview_flaws_and_blocks() -> None:
    outcome = gate("demo", "--format", "json")
    report = json.loads(outcome.stdout)
    http = [f for f in report["findings"] if f["check"] == "http"]
    assert {f["rule_id"] for f in http} >= PLANTED
    # The preview is served with a private CA that the check was handed; TLS itself is clean.
    assert not [
        f for f in http if f["rule_id"].startswith("http.tls.") and f["rule_id"] != "http.tls.http-not-redirected"
    ]
    assert next(c for c in report["checks"] if c["name"] == "http")["status"] == "fail"
    assert outcome.exit_code == 1
    # The planted .env's password is never quoted.
    assert "Pr0dDbPassw0rd" not in outcome.output
