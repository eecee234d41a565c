"""Each probe kind against real parts on loopback: a stream that stalls, a certificate near expiry
(trustme), the login flow, DNS of a declared host."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from gate.demo.webserver import serve, server_context
from tests.support.helpers import gate
from tests.support.http_sites import Authority, authority_fixture
from tests.support.watch_app import app, stream, write_config

pytestmark = pytest.mark.loopback
__all__ = ["authority_fixture"]


def _once(root: Path, env: dict[str, str] | None = None) -> str:
    outcome = gate("watch", "--once", cwd=root, env=env)
    assert outcome.exit_code == 0, outcome.stderr
    return outcome.stdout


def test_a_stream_that_stalls_fails_and_a_flowing_one_passes(tmp_path: Path) -> None:
    with serve(app(chat=stream(stall_after=1), feed=stream())) as port:
        write_config(
            tmp_path,
            port,
            timeout="3s",
            targets=[
                {"name": "chat", "kind": "stream", "path": "/chat"},
                {"name": "feed", "kind": "stream", "path": "/feed"},
            ],
        )
        gate_yml = (tmp_path / "gate.yml").read_text()
        (tmp_path / "gate.yml").write_text(
            gate_yml.replace("  http:\n", "  http:\n    budgets: {stream: {stall: 1s, first_event: 2s}}\n")
        )
        output = _once(tmp_path)
    assert "DOWN chat" in output and "went silent" in output
    assert "up   feed" in output and "first event after" in output


def test_a_certificate_near_expiry_fails_its_tls_probe(tmp_path: Path, authority: Authority) -> None:
    soon = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=5)
    cert, key = authority.trustme_leaf("127.0.0.1", not_after=soon)
    with serve(app(), tls=server_context(cert, key)) as port:
        write_config(tmp_path, port, scheme="https")
        text = (tmp_path / "gate.yml").read_text()
        (tmp_path / "gate.yml").write_text(text.replace("  http:\n", f"  http:\n    ca_bundle: {authority.pem}\n"))
        output = _once(tmp_path)
    assert f"DOWN tls 127.0.0.1:{port}" in output and "fewer than 14 days, renew it now" in output
    assert "up   health" in output


def test_a_certificate_with_months_left_passes(tmp_path: Path, authority: Authority) -> None:
    cert, key = authority.leaf("127.0.0.1", days=90)
    with serve(app(), tls=server_context(cert, key)) as port:
        write_config(tmp_path, port, scheme="https")
        text = (tmp_path / "gate.yml").read_text()
        (tmp_path / "gate.yml").write_text(text.replace("  http:\n", f"  http:\n    ca_bundle: {authority.pem}\n"))
        output = _once(tmp_path)
    assert f"up   tls 127.0.0.1:{port}" in output


def test_the_login_flow_is_probed_with_the_http_checks_login(tmp_path: Path, authority: Authority) -> None:
    cert, key = authority.leaf("127.0.0.1", days=90)
    with serve(app(), tls=server_context(cert, key)) as port:
        write_config(tmp_path, port, scheme="https")
        text = (tmp_path / "gate.yml").read_text()
        login = (
            f"    ca_bundle: {authority.pem}\n"
            "    login: {path: /login, fields: {email: GATE_WATCH_USER, password: GATE_WATCH_PASSWORD},"
            " success: {token: token}}\n"
        )
        (tmp_path / "gate.yml").write_text(text.replace("  http:\n", "  http:\n" + login))
        output = _once(
            tmp_path, {"GATE_WATCH_USER": "probe@example.com", "GATE_WATCH_PASSWORD": "correct-horse-battery"}
        )
    assert "up   login" in output and "signed in" in output


def test_dns_of_a_declared_host(tmp_path: Path) -> None:
    with serve(app()) as port:
        write_config(
            tmp_path,
            port,
            from_http=False,
            targets=[
                {"name": "local", "kind": "dns", "host": "localhost"},
                {"name": "gone", "kind": "dns", "host": "no-such-host.invalid"},
            ],
        )
        output = _once(tmp_path)
    assert "up   local" in output and "127.0.0.1" in output
    assert "DOWN gone" in output and "does not resolve" in output
