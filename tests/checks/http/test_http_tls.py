"""TLS on every declared host, plain HTTP redirected, and a preview that does not answer, all against
real servers on loopback with trustme certificates."""

from __future__ import annotations

import datetime
import socket
from pathlib import Path

import pytest

from gate.demo import certs
from gate.demo.webserver import Request, Response, Site, serve
from tests.support.http_sites import (  # noqa: F401 - the fixtures register by being imported
    INDEX,
    ROUTES,
    Authority,
    Preview,
    authority_fixture,
    clean_site,
    preview,
)

NOW = datetime.datetime.now(datetime.UTC)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_expired_certificate_is_critical_and_nothing_else_is_sent(tmp_path: Path, authority: Authority) -> None:
    leaf = authority.trustme_leaf("localhost", not_after=datetime.datetime(2021, 1, 1))
    site = clean_site()
    with preview(tmp_path, authority, site, leaf=leaf) as pv:
        report = pv.run("prototype")
    finding = report.only("http.tls.expired")
    assert finding["severity"] == "critical" and finding["blocking"] is True
    assert "presents a certificate that has expired (not valid after 2021-01-01" in finding["message"]
    assert "other surface checks were skipped" in finding["message"]
    assert report.outcome.exit_code == 1
    # No handshake completed, so no request (and no token) ever reached the server.
    assert site.requests == []


def test_certificate_for_another_name_is_a_name_mismatch(tmp_path: Path, authority: Authority) -> None:
    with preview(tmp_path, authority, leaf=authority.trustme_leaf("www.example.org")) as pv:
        report = pv.run("launch")
    finding = report.only("http.tls.name-mismatch")
    assert "www.example.org" in finding["message"] and "localhost" in finding["message"]


def test_self_signed_certificate_is_untrusted(tmp_path: Path, authority: Authority) -> None:
    with preview(tmp_path, authority, leaf=certs.issue(None, ["localhost"])) as pv:
        report = pv.run("launch")
    finding = report.only("http.tls.untrusted")
    assert "self-signed" in finding["message"]


def test_private_ca_is_trusted_only_through_ca_bundle(tmp_path: Path, authority: Authority) -> None:
    with preview(tmp_path, authority) as pv:
        without = pv.run("launch", ca_bundle=None)
        with_bundle = pv.run("launch")
    assert "http.tls.untrusted" in without.rules
    assert "unable to get local issuer" in without.only("http.tls.untrusted")["message"]
    assert with_bundle.findings == []


@pytest.mark.parametrize(
    ("preset", "days", "rule", "blocking"),
    [
        ("launch", 10, "http.tls.expiry-imminent", True),  # launch fails under 14 days
        ("prototype", 10, "http.tls.expiry-soon", False),  # prototype only warns (fails under 3)
        ("demo", 25, None, False),  # demo warns under 21 days
    ],
)
def test_expiry_thresholds_come_from_the_preset(
    tmp_path: Path, authority: Authority, preset: str, days: int, rule: str | None, blocking: bool
) -> None:
    with preview(tmp_path, authority, leaf=authority.leaf(days=days)) as pv:
        report = pv.run(preset)
    tls_rules = {r for r in report.rules if r.startswith("http.tls.")}
    assert tls_rules == ({rule} if rule else set())
    if rule:
        assert report.only(rule)["blocking"] is blocking


def test_expiry_thresholds_can_be_overridden_in_gate_yml(tmp_path: Path, authority: Authority) -> None:
    with preview(tmp_path, authority, leaf=authority.leaf(days=100)) as pv:
        report = pv.run("launch", tls={"warn_days": 200, "fail_days": 150})
    assert "http.tls.expiry-imminent" in report.rules


def test_legacy_tls_versions_accepted_are_reported(tmp_path: Path, authority: Authority) -> None:
    with preview(tmp_path, authority, legacy_tls=True) as pv:
        report = pv.run("launch")
    finding = report.only("http.tls.legacy-protocol")
    assert "TLSv1" in finding["message"] and finding["severity"] == "high"
    assert report.rules == {"http.tls.legacy-protocol"}


def test_plain_http_served_instead_of_redirected(tmp_path: Path, authority: Authority) -> None:
    plain = Site(fallback=Response(200, INDEX, (("content-type", "text/html"),)))
    with preview(tmp_path, authority, http=plain) as pv:
        report = pv.run("launch")
    finding = report.only("http.tls.http-not-redirected")
    assert f"http://localhost:{pv.http_port}/" in finding["message"]
    assert report.rules == {"http.tls.http-not-redirected"}


def test_plain_http_redirecting_to_plain_http_is_reported(tmp_path: Path, authority: Authority) -> None:
    plain = Site(fallback=Response(301, b"", (("location", "http://localhost/elsewhere"),)))
    with preview(tmp_path, authority, http=plain) as pv:
        report = pv.run("launch")
    assert "still plain HTTP" in report.only("http.tls.http-not-redirected")["message"]


def test_the_bypass_header_never_goes_over_plain_http(tmp_path: Path, authority: Authority) -> None:
    secret = "byp4ss-s3cr3t-value-0123456789"
    plain = Site(fallback=Response(301, b"", (("location", "https://localhost/"),)))
    site = clean_site()
    with preview(tmp_path, authority, site, http=plain) as pv:
        report = pv.run(
            "launch",
            env={"GATE_APP_TOKEN": "tok_live_9f8e7d6c5b4a39281706f5e4d3c2b1a0", "GATE_BYPASS": secret},
            bypass_header={"name": "x-vercel-protection-bypass", "env": "GATE_BYPASS"},
        )
    assert report.findings == []
    assert plain.requests and all("x-vercel-protection-bypass" not in r.headers for r in plain.requests)
    assert all(r.headers.get("x-vercel-protection-bypass") == secret for r in site.requests)
    assert secret not in report.outcome.output


def test_missing_bypass_secret_is_bad_input_naming_the_key(tmp_path: Path, authority: Authority) -> None:
    with preview(tmp_path, authority) as pv:
        report = pv.run("launch", bypass_header={"name": "x-vercel-protection-bypass", "env": "GATE_NOPE"})
    assert report.outcome.exit_code == 2
    assert "checks.http.bypass_header" in report.outcome.stderr and "GATE_NOPE" in report.outcome.stderr
    assert "gate.yml:" in report.outcome.stderr


def test_every_declared_host_is_checked_and_a_dead_one_is_reported(tmp_path: Path, authority: Authority) -> None:
    dead = _free_port()
    with preview(tmp_path, authority) as pv:
        report = pv.run("launch", hosts=[pv.host, f"127.0.0.1:{pv.port}", f"127.0.0.1:{dead}"])
    finding = report.only("http.tls.no-https")
    assert f"127.0.0.1:{dead}" in finding["message"]
    assert report.rules == {"http.tls.no-https"}


def test_unreachable_preview_is_a_blocking_finding_not_a_crash(tmp_path: Path, authority: Authority) -> None:
    report = Preview(tmp_path, _free_port(), authority, section={}).run(
        "prototype", wait={"timeout": "1s", "interval": "200ms"}
    )
    finding = report.only("http.preview.unreachable")
    assert finding["blocking"] is True and "attempts" in finding["message"]
    assert report.outcome.exit_code == 1
    assert report.error is None


def test_preview_answering_502_until_the_wait_runs_out_is_unreachable(tmp_path: Path, authority: Authority) -> None:
    with preview(tmp_path, authority, Site(fallback=Response(502, "Bad Gateway"))) as pv:
        report = pv.run("launch", wait={"timeout": "1s", "interval": "200ms"})
    assert "HTTP 502" in report.only("http.preview.unreachable")["message"]
    assert report.rules == {"http.preview.unreachable"}


def test_the_gate_waits_for_a_preview_that_is_still_deploying(tmp_path: Path, authority: Authority) -> None:
    site = clean_site()
    answered = [0]
    ready = site.answer

    def deploying(request: Request) -> Response:
        answered[0] += 1
        return Response(503, "deploying") if answered[0] <= 3 else ready(request)

    site.answer = deploying  # type: ignore[method-assign]
    with preview(tmp_path, authority, site) as pv:
        report = pv.run("launch")
    assert report.findings == []
    assert answered[0] > 3


def test_url_can_come_from_the_command_line(tmp_path: Path, authority: Authority) -> None:
    from tests.support.helpers import gate

    with preview(tmp_path, authority) as pv:
        config = pv.config("launch", url="https://wrong.invalid/")
        outcome = gate(
            "check",
            "http",
            "--config",
            str(config),
            "--url",
            pv.url,
            "--format",
            "json",
            env={"GATE_APP_TOKEN": "tok_live_9f8e7d6c5b4a39281706f5e4d3c2b1a0"},
        )
    assert outcome.exit_code == 0, outcome.output


def test_missing_url_is_bad_input_with_the_fix(tmp_path: Path, authority: Authority) -> None:
    report = Preview(tmp_path, 1, authority, section={}).run("launch", url=None)
    assert report.outcome.exit_code == 2
    assert "checks.http.url" in report.outcome.stderr and "--url" in report.outcome.stderr


def test_unreadable_ca_bundle_is_bad_input(tmp_path: Path, authority: Authority) -> None:
    (tmp_path / "bad.pem").write_text("not a certificate\n")
    with preview(tmp_path, authority) as pv:
        report = pv.run("launch", ca_bundle="bad.pem")
    assert report.outcome.exit_code == 2 and "ca_bundle" in report.outcome.stderr


def test_a_plain_http_preview_url_is_reported(tmp_path: Path, authority: Authority) -> None:
    site = clean_site()
    with serve(site) as port:
        section = {"routes": ROUTES, "auth_token_env": "GATE_APP_TOKEN"}
        report = Preview(tmp_path, port, authority, section=section).run("prototype", url=f"http://localhost:{port}/")
    assert report.only("http.tls.no-https")["location"]["url"] == f"http://localhost:{port}/"
    # The token for authenticated routes is never sent over plain HTTP.
    assert "/api/me" in {r.path for r in site.requests}
    assert all("authorization" not in r.headers for r in site.requests)


def test_a_host_that_does_not_speak_tls_fails_the_handshake(tmp_path: Path, authority: Authority) -> None:
    with preview(tmp_path, authority) as pv:
        report = pv.run("launch", hosts=[pv.host, f"localhost:{pv.http_port}"])
    finding = report.only("http.tls.handshake-failed")
    assert f"localhost:{pv.http_port}" in finding["message"]


def test_legacy_tls_is_said_to_be_untested_where_this_openssl_cannot_offer_it(
    tmp_path: Path, authority: Authority, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gate.checks.http import tls

    monkeypatch.setattr(tls, "_legacy_context", lambda: None)
    with preview(tmp_path, authority, legacy_tls=True) as pv:
        report = pv.run("launch")
    assert report.only("http.tls.legacy-untested")["blocking"] is False
    assert "http.tls.legacy-protocol" not in report.rules
