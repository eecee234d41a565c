"""E-mail alerts to an SMTP server with a certificate from a private CA (trustme): trusted through
`ca_file`, over STARTTLS and implicit TLS, with the host name still verified."""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme

from gate.checks import config_schemas
from gate.config import load_config
from gate.errors import InputError, InputErrors
from gate.watch.alerts import deliver, evaluate
from gate.watch.channels import channels
from gate.watch.probes import ProbeResult
from gate.watch.store import open_store
from tests.support.watch_app import SMTP_PASSWORD, SMTP_USER, email_alert, smtp_sink, write_config

pytestmark = pytest.mark.loopback


def _server_context(ca: trustme.CA, *names: str) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(*names).configure_cert(context)
    return context


@pytest.fixture()
def ca(tmp_path: Path) -> Iterator[trustme.CA]:
    authority = trustme.CA()
    (tmp_path / "certs").mkdir()
    authority.cert_pem.write_to_path(str(tmp_path / "certs" / "smtp-ca.pem"))
    yield authority


def _email(port: int, security: str, **extra: Any) -> dict[str, Any]:
    return {"email": email_alert(port, security, **extra)}


def _one_incident(tmp_path: Path, alerts: dict[str, Any]) -> int:
    """Three failed probes open an incident; returns how many notices went out."""
    write_config(tmp_path, 1, alerts={"open_after": 3, "timeout": "5s", **alerts})
    environ = {"GATE_SMTP_USER": SMTP_USER, "GATE_SMTP_PASSWORD": SMTP_PASSWORD}
    from gate.watch.config import settings

    chosen = settings(load_config(tmp_path / "gate.yml", check_schemas=config_schemas()).data, environ)
    made = channels(chosen, environ, tmp_path)
    store = open_store("watch.sqlite", tmp_path)
    start = time.time() - 600
    for offset in range(3):
        store.add_probes([ProbeResult("health", start + 60 * offset, False, None, "HTTP 503")], "ci")
        evaluate(store, chosen)
    try:
        return asyncio.run(deliver(store, chosen, made))
    finally:
        store.close()


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_a_private_ca_in_ca_file_is_trusted(tmp_path: Path, ca: trustme.CA, security: str) -> None:
    context = _server_context(ca, "127.0.0.1", "localhost")
    tls = {"starttls": context} if security == "starttls" else {"implicit": context}
    with smtp_sink(SMTP_PASSWORD, **tls) as (sink, port):
        sent = _one_incident(tmp_path, _email(port, security, ca_file="certs/smtp-ca.pem"))
    assert sent == 1
    (message,) = sink.messages
    assert str(message["Subject"]).startswith("[launch-gate] Down: health")
    assert SMTP_PASSWORD not in message.as_string()


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_without_ca_file_a_private_certificate_is_refused(
    tmp_path: Path, ca: trustme.CA, security: str, caplog: pytest.LogCaptureFixture
) -> None:
    context = _server_context(ca, "127.0.0.1", "localhost")
    tls = {"starttls": context} if security == "starttls" else {"implicit": context}
    with caplog.at_level(logging.WARNING), smtp_sink(SMTP_PASSWORD, **tls) as (sink, port):
        sent = _one_incident(tmp_path, _email(port, security))
    assert sent == 0 and not sink.messages
    assert "certificate verify failed" in caplog.text and SMTP_PASSWORD not in caplog.text
    # The notice stays pending: the next round tries again.
    store = open_store("watch.sqlite", tmp_path)
    assert store.ref(1, "email", "open") is None and store.claim(1, "email", "open")
    store.close()


def test_the_host_name_is_still_verified(tmp_path: Path, ca: trustme.CA, caplog: pytest.LogCaptureFixture) -> None:
    # Signed by the trusted CA, but for another name than the one gate.yml connects to.
    context = _server_context(ca, "mail.example.test")
    with caplog.at_level(logging.WARNING), smtp_sink(SMTP_PASSWORD, starttls=context) as (sink, port):
        sent = _one_incident(tmp_path, _email(port, "starttls", ca_file="certs/smtp-ca.pem"))
    assert sent == 0 and not sink.messages
    assert "IP address mismatch" in caplog.text or "doesn't match" in caplog.text, caplog.text


def test_a_ca_file_outside_the_repository_is_bad_input(tmp_path: Path, ca: trustme.CA) -> None:
    outside = tmp_path.parent / f"{tmp_path.name}-outside.pem"
    ca.cert_pem.write_to_path(str(outside))
    (tmp_path / "certs" / "link.pem").symlink_to(outside)
    with pytest.raises(InputError, match="resolves outside"):
        _one_incident(tmp_path, _email(25, "starttls", ca_file="certs/link.pem"))
    with pytest.raises(InputErrors):
        _one_incident(tmp_path, _email(25, "starttls", ca_file="../outside.pem"))
    (tmp_path / "certs" / "junk.pem").write_text("not a certificate\n")
    with pytest.raises(InputError, match="not a readable PEM bundle"):
        _one_incident(tmp_path, _email(25, "starttls", ca_file="certs/junk.pem"))
    with pytest.raises(InputError, match="is not a file"):
        _one_incident(tmp_path, _email(25, "starttls", ca_file="certs/missing.pem"))
