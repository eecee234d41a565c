"""The http check against previews that misbehave: down, broken TLS, silent, dripping, looping,
endless, stalled. None of it may pass; each says what went wrong, in bounded time and memory."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from gate.demo.webserver import Request, Response, Site, serve
from tests.faults.common import fails_closed
from tests.faults.peers import (
    Behaviour,
    Bounds,
    TcpPeer,
    drip,
    endless,
    measured,
    redirect_chain,
    refused_port,
    silent,
    stall,
    tls_handshake_failure,
    tls_server,
)
from tests.faults.table import row
from tests.support.helpers import Outcome, gate

# Every header a clean page needs, so a finding can only come from the fault itself.
GOOD_PAGE_HEADERS = (
    "Content-Type: text/html; charset=utf-8\r\n"
    "Strict-Transport-Security: max-age=63072000; includeSubDomains; preload\r\n"
    "X-Content-Type-Options: nosniff\r\nReferrer-Policy: strict-origin-when-cross-origin\r\n"
    "Content-Security-Policy: default-src 'self'; frame-ancestors 'self'; object-src 'none'\r\n"
    "Cache-Control: private, no-cache\r\nX-Vercel-Id: fra1::abcd-1234\r\n"
)


def _check(tmp_path: Path, url: str, ca: Path | None = None) -> tuple[Outcome, Bounds, dict[str, Any]]:
    section: dict[str, Any] = {
        "enabled": True,
        "url": url,
        "wait": {"timeout": "2s", "interval": "200ms"},
        "limits": {"timeout": "3s", "max_body": 65536},
    }
    if ca is not None:
        section["ca_bundle"] = str(ca)
    checks = {"env": {"enabled": False}, "deps": {"enabled": False}, "http": section}
    (tmp_path / "gate.yml").write_text(yaml.safe_dump({"version": 1, "checks": checks}))
    with measured() as box:
        outcome = gate("check", "http", "--format", "json", cwd=tmp_path)
    report = json.loads(outcome.stdout) if outcome.stdout.strip().startswith("{") else {}
    return outcome, box[0], report


def _served(tmp_path: Path, behaviour: Behaviour) -> tuple[Outcome, Bounds, dict[str, Any]]:
    context, ca = tls_server(tmp_path)
    with TcpPeer(behaviour, tls=context) as peer:
        return _check(tmp_path, peer.url + "/", ca)


def _rules(report: dict[str, Any]) -> set[str]:
    return {f["rule_id"] for f in report.get("findings", [])}


@row(
    "Preview down (connection refused)",
    "http",
    "exit 1: `http.preview.unreachable` after `wait.timeout`, naming the refused connection",
)
def test_preview_down_is_unreachable(tmp_path: Path) -> None:
    outcome, bounds, report = _check(tmp_path, f"https://localhost:{refused_port()}/")
    fails_closed(outcome, bounds, ["connection attempts failed"], codes=(1,))
    assert "http.preview.unreachable" in _rules(report)


@row(
    "TLS handshake failure",
    "http",
    "exit 1: `http.tls.handshake-failed` naming the alert; nothing else is sent to that server",
)
def test_tls_handshake_failure_is_a_finding(tmp_path: Path) -> None:
    with TcpPeer(tls_handshake_failure) as peer:
        outcome, bounds, report = _check(tmp_path, f"https://localhost:{peer.port}/")
    fails_closed(outcome, bounds, ["HANDSHAKE_FAILURE"], codes=(1,))
    assert "http.tls.handshake-failed" in _rules(report)


CASES = {
    "silent": (silent, "no complete answer within 3s"),
    "drip": (drip(1.0), "no complete answer within 3s"),
    "stall": (stall, "no complete answer within 3s"),
}


@row("Preview accepts and never answers", "http", "exit 1: `http.preview.unreachable` after `limits.timeout`")
@row(
    "Preview drips a byte a second",
    "http",
    "exit 1: `http.preview.unreachable`: `limits.timeout` is a total deadline per request",
)
@row("Preview's body stalls half-way", "http", "exit 1: `http.preview.unreachable` after `limits.timeout`")
@pytest.mark.parametrize("case", list(CASES))
def test_a_preview_that_never_finishes_answering_is_unreachable(tmp_path: Path, case: str) -> None:
    behaviour, cause = CASES[case]
    outcome, bounds, report = _served(tmp_path, behaviour)
    fails_closed(outcome, bounds, [cause], codes=(1,))
    assert "http.preview.unreachable" in _rules(report)


@row(
    "Endless redirect chain", "http", "exit 1: `http.redirect.too-long` after `limits.max_redirects` hops, listing them"
)
def test_an_endless_redirect_chain_is_cut_at_the_bound(tmp_path: Path) -> None:
    outcome, bounds, report = _served(tmp_path, redirect_chain)
    fails_closed(outcome, bounds, ["still redirects after"], codes=(1,))
    assert "http.redirect.too-long" in _rules(report)


@row(
    "A 10 GB Content-Length, or a body that never ends",
    "http",
    "exit 3: read only up to `limits.max_body`; a page the gate could not read whole is not passed",
)
@pytest.mark.parametrize("length", [10 * 1024**3, None], ids=["10GB-content-length", "endless-chunked"])
def test_a_page_without_end_never_passes(tmp_path: Path, length: int | None) -> None:
    outcome, bounds, _ = _served(tmp_path, endless(length, chunk=b"<p>" * 20000, headers=GOOD_PAGE_HEADERS))
    fails_closed(outcome, bounds, ["could not be checked whole"], memory=128 * 1024 * 1024)


@row(
    "gate.yml names the runner's own credential (`auth_token_env: GITHUB_TOKEN`, `INPUT_*`, `ACTIONS_*`)",
    "http",
    "exit 2 naming the key and line: secrets come only from `GATE_*` or `secret_env_allow`; nothing is sent",
)
@row(
    "gate.yml names any other variable for a secret (`bypass_header.env: AWS_SECRET_ACCESS_KEY`)",
    "http",
    "exit 2 unless the name is `GATE_*` or listed in `checks.http.secret_env_allow`; nothing is sent",
)
@pytest.mark.parametrize(
    ("key", "value", "variable"),
    [
        ("auth_token_env", "GITHUB_TOKEN", "GITHUB_TOKEN"),
        ("auth_token_env", "INPUT_GITHUB-TOKEN", "INPUT_GITHUB-TOKEN"),
        ("bypass_header", {"name": "x-bypass", "env": "ACTIONS_RUNTIME_TOKEN"}, "ACTIONS_RUNTIME_TOKEN"),
        ("bypass_header", {"name": "x-bypass", "env": "AWS_SECRET_ACCESS_KEY"}, "AWS_SECRET_ACCESS_KEY"),
        (
            "login",
            {"path": "/login", "fields": {"password": "DATABASE_PASSWORD"}, "success": {"status": 200}},
            "DATABASE_PASSWORD",
        ),
    ],
    ids=["github-token", "input", "actions", "other-bypass", "other-login-field"],
)
def test_secrets_are_read_only_from_variables_the_docs_allow(
    tmp_path: Path, key: str, value: Any, variable: str
) -> None:
    context, ca = tls_server(tmp_path)
    site = Site(fallback=Response(200, "<p>hi</p>", (("content-type", "text/html"),)))
    with serve(site, context) as port:
        section = {
            "enabled": True,
            "url": f"https://localhost:{port}/",
            "ca_bundle": str(ca),
            "wait": {"timeout": "2s", "interval": "200ms"},
            key: value,
        }
        (tmp_path / "gate.yml").write_text(yaml.safe_dump({"version": 1, "checks": {"http": section}}))
        secret = "ghs_" + "a1b2c3d4" * 5
        with measured() as box:
            outcome = gate("check", "http", env={variable: secret}, cwd=tmp_path)
    fails_closed(outcome, box[0], [f"checks.http.{key}", variable, "gate.yml:"], codes=(2,))
    assert site.requests == []
    assert secret not in outcome.output


def _secret_config(tmp_path: Path, url: str, ca: Path, **extra: Any) -> None:
    section = {
        "enabled": True,
        "url": url,
        "ca_bundle": str(ca),
        "wait": {"timeout": "2s", "interval": "200ms"},
        "limits": {"timeout": "3s"},
        "auth_token_env": "GATE_TOKEN",
        "bypass_header": {"name": "x-vercel-protection-bypass", "env": "GATE_BYPASS"},
        **extra,
    }
    checks = {"env": {"enabled": False}, "deps": {"enabled": False}, "http": section}
    (tmp_path / "gate.yml").write_text(yaml.safe_dump({"version": 1, "checks": checks}))


SECRETS = {"GATE_TOKEN": "tok_" + "9f8e7d6c" * 4, "GATE_BYPASS": "byp_" + "1a2b3c4d" * 4}
PAGE = (("content-type", "text/html; charset=utf-8"),)


@row(
    "A bundle's `SourceMap:` header or `sourceMappingURL` names another host",
    "http",
    "exit 1: never fetched; `http.exposed.source-map-unchecked` lists it as not checked for secrets",
)
def test_a_source_map_on_another_host_is_never_fetched_and_said_unchecked(tmp_path: Path) -> None:
    context, ca = tls_server(tmp_path)
    with TcpPeer(redirect_chain, tls=context) as elsewhere:
        bundle = f"export const a = 1;\n//# sourceMappingURL=https://localhost:{elsewhere.port}/app.js.map\n"
        site = Site(
            routes={
                "/": Response(200, '<html><script src="/app.js"></script></html>', PAGE),
                "/app.js": Response(
                    200,
                    bundle,
                    (
                        ("content-type", "text/javascript"),
                        ("sourcemap", f"https://127.0.0.1:{elsewhere.port}/other.map"),
                    ),
                ),
            },
            fallback=Response(404, "no", (("content-type", "text/plain"),)),
        )
        with serve(site, context) as port:
            _secret_config(tmp_path, f"https://localhost:{port}/", ca, routes=[{"path": "/app.js", "auth": True}])
            with measured() as box:
                outcome = gate("check", "http", "--format", "json", env=SECRETS, cwd=tmp_path)
    fails_closed(outcome, box[0], ["not checked for secrets", "never fetched", "other.map"], codes=(1,))
    assert elsewhere.connections == 0
    finding = next(f for f in json.loads(outcome.stdout)["findings"] if f["rule_id"].endswith("source-map-unchecked"))
    assert finding["details"]["source_maps"] == [
        f"https://localhost:{elsewhere.port}/app.js.map",
        f"https://127.0.0.1:{elsewhere.port}/other.map",
    ]


@row(
    "The preview redirects (root, alias or an authenticated route) to another host, with secrets configured",
    "http",
    "not followed: the token and bypass header go only to the declared origins; the other host sees no connection",
)
def test_secrets_go_only_to_the_declared_origin(tmp_path: Path) -> None:
    context, ca = tls_server(tmp_path)
    seen: list[Request] = []

    def redirect_away(request: Request) -> Response:
        seen.append(request)
        return Response(302, b"", (("location", f"https://127.0.0.1:{elsewhere.port}{request.path}"),))

    with TcpPeer(redirect_chain, tls=context) as elsewhere:
        site = Site(routes={"/": redirect_away, "/api/me": redirect_away}, fallback=redirect_away)
        with serve(site, context) as port:
            _secret_config(tmp_path, f"https://localhost:{port}/", ca, routes=[{"path": "/api/me", "auth": True}])
            with measured() as box:
                outcome = gate("check", "http", "--format", "json", env=SECRETS, cwd=tmp_path)
    assert elsewhere.connections == 0, outcome.output
    assert "Traceback" not in outcome.output and box[0].seconds < 20
    # The declared origin did get the secrets it was meant to get.
    assert any(r.headers.get("x-vercel-protection-bypass") == SECRETS["GATE_BYPASS"] for r in seen)
    assert any(r.headers.get("authorization") == f"Bearer {SECRETS['GATE_TOKEN']}" for r in seen)
    assert not any(secret in outcome.output for secret in SECRETS.values())
    assert outcome.exit_code != 0


@row(
    "gate.yml declares a link-local or metadata host, or pins one in `resolve:`",
    "http",
    "exit 2 naming the key and line; the address is checked after resolution too, so a name that "
    "resolves there is never connected to",
)
@pytest.mark.parametrize(
    "extra",
    [{"hosts": ["169.254.169.254"]}, {"hosts": ["[fe80::1]:8443"]}, {"resolve": {"localhost": "169.254.169.254"}}],
    ids=["metadata-host", "link-local-v6", "resolve-pin"],
)
def test_metadata_and_link_local_addresses_are_never_connected_to(tmp_path: Path, extra: dict[str, Any]) -> None:
    context, ca = tls_server(tmp_path)
    site = Site(fallback=Response(200, "<p>hi</p>", PAGE))
    with serve(site, context) as port:
        _secret_config(tmp_path, f"https://localhost:{port}/", ca, **extra)
        with measured() as box:
            outcome = gate("check", "http", env=SECRETS, cwd=tmp_path)
    fails_closed(outcome, box[0], ["the gate never connects there" if "hosts" in extra else "metadata"], codes=(2,))
    assert site.requests == []


@row(
    "A declared path that leaves the preview (`routes: [{path: '//other.example/x', auth: true}]`)",
    "http",
    "exit 2 naming the key and line: the token would go to another host; nothing is sent",
)
@pytest.mark.parametrize("key", ["routes", "pages", "login"])
def test_a_path_that_names_another_host_is_refused(tmp_path: Path, key: str) -> None:
    context, ca = tls_server(tmp_path)
    with TcpPeer(redirect_chain, tls=context) as elsewhere:
        away = f"//127.0.0.1:{elsewhere.port}/api/me"
        value: Any = {
            "routes": [{"path": away, "auth": True}],
            "pages": ["/", away],
            "login": {"path": away, "fields": {"password": "GATE_TOKEN"}, "success": {"status": 200}},
        }[key]
        site = Site(fallback=Response(200, "<p>hi</p>", PAGE))
        with serve(site, context) as port:
            _secret_config(tmp_path, f"https://localhost:{port}/", ca, **{key: value})
            with measured() as box:
                outcome = gate("check", "http", env=SECRETS, cwd=tmp_path)
    fails_closed(outcome, box[0], ["leaves the preview", f"checks.http.{key}"], codes=(2,))
    assert site.requests == [] and elsewhere.connections == 0
