"""Real previews on loopback for the http check's tests: a clean site and ways to plant one flaw.

The clean site is what a well-configured launch looks like; each test copies it and breaks one
thing, so a finding can only come from that one change.
"""

from __future__ import annotations

import contextlib
import datetime
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import trustme
import yaml

from gate.demo import certs
from gate.demo.webserver import Request, Response, Site, serve, server_context
from tests.support.helpers import Outcome, gate

TOKEN = "tok_live_9f8e7d6c5b4a39281706f5e4d3c2b1a0"
CSP = "default-src 'self'; script-src 'self' 'nonce-r4nd0m'; frame-ancestors 'self'; object-src 'none'"
SECURITY = (
    ("strict-transport-security", "max-age=63072000; includeSubDomains; preload"),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "strict-origin-when-cross-origin"),
    ("x-vercel-id", "fra1::abcd-1234"),
)
HTML = (
    ("content-type", "text/html; charset=utf-8"),
    ("content-security-policy", CSP),
    ("cache-control", "private, no-cache"),
)
JSON = (("content-type", "application/json"),)
STATIC = "public, max-age=31536000, immutable"

INDEX = """<!doctype html><html><head><title>Acme</title>
<link rel="stylesheet" href="/assets/site-9b8c7d6e.css">
<script type="module" src="/assets/app-3f9a1c2b.js" nonce="r4nd0m"></script>
</head><body><a href="/about">About</a><img src="/logo.png" alt=""></body></html>"""
ABOUT = "<!doctype html><html><head><title>About</title></head><body><a href='/'>Home</a></body></html>"
APP_JS = """import("./chunk-7e6d5c4b.js");
const API = "https://api.acme-app.com/v1";
export async function me() { return fetch(API + "/me", { credentials: "include" }); }
"""
CHUNK_JS = "export const plans = ['free', 'pro'];\n"


def _cached_asset(body: str, content_type: str) -> Any:
    hits: dict[str, int] = {}

    def handler(request: Request) -> Response:
        # The edge keeps the asset after the first request, like a CDN does.
        count = hits[request.path] = hits.get(request.path, 0) + 1
        status = "HIT" if count > 1 else "MISS"
        return Response(
            200, body, (("content-type", content_type), ("cache-control", STATIC), ("x-vercel-cache", status))
        )

    return handler


def _me(request: Request) -> Response:
    headers: tuple[tuple[str, str], ...] = (*JSON, ("cache-control", "private, no-store"), ("vary", "Authorization"))
    if request.headers.get("origin") == "https://app.acme-app.com":
        headers += (
            ("access-control-allow-origin", "https://app.acme-app.com"),
            ("access-control-allow-credentials", "true"),
        )
    if request.method == "OPTIONS":
        return Response(204, b"", headers)
    if request.headers.get("authorization") != f"Bearer {TOKEN}":
        return Response(401, '{"error":"unauthorized"}', headers)
    return Response(200, '{"id": 1, "email": "ada@acme-app.com"}', headers)


def clean_site(**replace: Any) -> Site:
    """A preview with nothing to report under the launch preset; `replace` swaps single routes."""
    routes: dict[str, Any] = {
        "/": Response(200, INDEX, (*HTML, ("set-cookie", "session=s3ss10n; Path=/; Secure; HttpOnly; SameSite=Lax"))),
        "/about": Response(200, ABOUT, HTML),
        "/assets/app-3f9a1c2b.js": _cached_asset(APP_JS, "text/javascript"),
        "/assets/chunk-7e6d5c4b.js": _cached_asset(CHUNK_JS, "text/javascript"),
        "/assets/site-9b8c7d6e.css": _cached_asset("body{margin:0}", "text/css"),
        "/logo.png": Response(200, b"\x89PNG\r\n\x1a\n", (("content-type", "image/png"),)),
        "/api/me": _me,
        "/api/health": Response(200, '{"ok": true}', (*JSON, ("cache-control", "no-store"))),
    }
    routes.update(replace)
    return Site(routes=routes, fallback=Response(404, '{"error":"not found"}', JSON), common_headers=SECURITY)


ROUTES = [
    {"path": "/api/health", "class": "read"},
    {"path": "/api/me", "class": "read", "auth": True},
    {"path": "/api/me", "method": "PATCH", "class": "write", "auth": True},
]


@dataclass
class Authority:
    """The trustme CA the tests' previews are signed by, written where gate.yml can name it."""

    ca: trustme.CA
    pem: Path

    def leaf(self, *names: str, days: int = 200) -> tuple[bytes, bytes]:
        now = datetime.datetime.now(datetime.UTC)
        # A leaf with every extension strict verifiers want, signed by the trustme CA.
        return certs.issue(
            certs.Authority(self.ca.cert_pem.bytes(), self.ca.private_key_pem.bytes()),
            list(names or ("localhost", "127.0.0.1")),
            not_after=now + datetime.timedelta(days=days),
        )

    def trustme_leaf(self, *names: str, not_after: datetime.datetime | None = None) -> tuple[bytes, bytes]:
        leaf = self.ca.issue_cert(
            *names, not_before=datetime.datetime(2020, 1, 1) if not_after else None, not_after=not_after
        )
        return b"".join(blob.bytes() for blob in leaf.cert_chain_pems), leaf.private_key_pem.bytes()


@pytest.fixture(scope="session", name="authority")
def authority_fixture(tmp_path_factory: pytest.TempPathFactory) -> Authority:
    ca = trustme.CA()
    pem = tmp_path_factory.mktemp("ca") / "preview-ca.pem"
    pem.write_bytes(ca.cert_pem.bytes())
    return Authority(ca, pem)


@dataclass
class Preview:
    """A running HTTPS preview (and optionally its plain-HTTP twin) and the gate.yml that points at it."""

    root: Path
    port: int
    authority: Authority
    http_port: int | None = None
    section: dict[str, Any] = field(default_factory=dict)

    @property
    def host(self) -> str:
        return f"localhost:{self.port}"

    @property
    def url(self) -> str:
        return f"https://{self.host}/"

    def config(self, preset: str = "launch", **overrides: Any) -> Path:
        section: dict[str, Any] = {
            "enabled": True,
            "url": self.url,
            "ca_bundle": str(self.authority.pem),
            "wait": {"timeout": "3s", "interval": "100ms"},
            "limits": {"timeout": "5s"},
            **self.section,
        }
        if self.http_port is not None:
            section["http_port"] = self.http_port
        for key, value in overrides.items():
            # None removes a key, to test what happens without it.
            if value is None:
                section.pop(key, None)
            else:
                section[key] = value
        path = self.root / "gate.yml"
        path.write_text(
            yaml.safe_dump({"version": 1, "preset": preset, "checks": {"env": {"enabled": False}, "http": section}})
        )
        return path

    def run(self, preset: str = "launch", env: Mapping[str, str] | None = None, **overrides: Any) -> Report:
        config = str(self.config(preset, **overrides))
        outcome = gate("check", "http", "--config", config, "--format", "json", env=AUTH_ENV if env is None else env)
        return Report(outcome)


@dataclass
class Report:
    outcome: Outcome

    @property
    def data(self) -> dict[str, Any]:
        try:
            data: dict[str, Any] = json.loads(self.outcome.stdout)
        except ValueError:
            pytest.fail(f"no JSON report (exit {self.outcome.exit_code}): {self.outcome.output}")
        return data

    @property
    def findings(self) -> list[dict[str, Any]]:
        return list(self.data["findings"])

    @property
    def rules(self) -> set[str]:
        return {f["rule_id"] for f in self.findings}

    def only(self, rule: str) -> dict[str, Any]:
        found = [f for f in self.findings if f["rule_id"] == rule]
        assert len(found) == 1, f"expected one {rule}, got {self.findings}"
        return found[0]

    @property
    def error(self) -> str | None:
        return next((c["error"] for c in self.data["checks"] if c["name"] == "http"), None)


@contextlib.contextmanager
def preview(
    root: Path,
    authority: Authority,
    site: Site | None = None,
    *,
    http: Site | None = None,
    leaf: tuple[bytes, bytes] | None = None,
    legacy_tls: bool = False,
) -> Iterator[Preview]:
    """`site` (default: the clean one) over HTTPS on loopback, plus a plain-HTTP server: `http`, or
    by default one that answers everything with a single 308 to the https URL."""
    with contextlib.ExitStack() as stack:
        https_port: list[int] = []

        def redirect(request: Request) -> Response:
            return Response(308, b"", (("location", f"https://localhost:{https_port[0]}{request.path}"),))

        http_port = stack.enter_context(serve(http or Site(fallback=redirect)))
        cert, key = leaf or authority.leaf()
        https_port.append(
            stack.enter_context(serve(site or clean_site(), server_context(cert, key, legacy_tls=legacy_tls)))
        )
        yield Preview(
            root,
            https_port[0],
            authority,
            http_port,
            section={"routes": ROUTES, "auth_token_env": "GATE_APP_TOKEN", "flows": False},
        )


AUTH_ENV = {"GATE_APP_TOKEN": TOKEN}
