"""The demo's deployed preview: the sample app served over HTTPS on loopback, with planted flaws.

A private CA is made for the run and handed to the check through `ca_bundle`, the way a team
checks a preview behind its own CA. Planted: an exposed .env, a reflected-Origin CORS policy on
an authenticated route, a missing CSP, a leaking X-Powered-By, a session cookie readable by
scripts, a client bundle that calls localhost, plain HTTP served without a redirect, a monthly
report route too slow for its read budget, and an AI chat stream that stalls mid-answer.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gate.demo import certs
from gate.demo.webserver import Request, Response, Site, serve, server_context

_COMMON = (
    ("strict-transport-security", "max-age=31536000"),
    ("x-content-type-options", "nosniff"),
    ("x-powered-by", "Express"),
)
_HTML = (
    ("content-type", "text/html; charset=utf-8"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "strict-origin-when-cross-origin"),
)
_JSON = (("content-type", "application/json"), ("cache-control", "private, no-store"))

INDEX = """<!doctype html>
<html><head><title>Acme dashboard</title><script defer src="/static/app.4f9c2b1e.js"></script></head>
<body><h1>Acme</h1><a href="/pricing">Pricing</a></body></html>
"""
PRICING = "<!doctype html><html><head><title>Pricing</title></head><body>Free and Pro.</body></html>\n"
APP_JS = """const API_BASE = "http://localhost:4000/api";
export async function me() { return fetch(API_BASE + "/me", { credentials: "include" }); }
"""
DOTENV = "DATABASE_URL=postgres://app:Pr0dDbPassw0rd@db.internal:5432/app\nSESSION_SECRET=change-me-please\n"


def _me(request: Request) -> Response:
    headers: tuple[tuple[str, str], ...] = _JSON
    origin = request.headers.get("origin")
    if origin:
        # The planted flaw: whatever Origin arrives is trusted, with credentials.
        headers += (("access-control-allow-origin", origin), ("access-control-allow-credentials", "true"))
    if "authorization" not in request.headers:
        return Response(401, '{"error": "sign in first"}', headers)
    return Response(200, '{"id": 7, "email": "founder@example.com"}', headers)


def _monthly_report(request: Request) -> Response:
    # The planted slow query: every dashboard load waits half a second for the report.
    time.sleep(0.5)
    return Response(200, '{"revenue": [1200, 1350, 1720]}', _JSON)


# Two tokens, then the model call hangs: the user watches a frozen answer. The hang outlasts the
# check's `stall` (500ms) by 300 ms, a margin load on the machine only widens; kept short because
# the redirect and route probes read the whole answer, and each would wait the hang out again.
CHAT = Response(
    200,
    b"data: Hello\n\n",
    (("content-type", "text/event-stream"), ("cache-control", "no-cache")),
    parts=((0.05, b"data: , founder\n\n"), (0.8, b"data: !\n\n")),
)


def sample_app() -> Site:
    return Site(
        routes={
            "/": Response(200, INDEX, (*_HTML, ("set-cookie", "session=3f1c9a; Path=/; Secure; SameSite=Lax"))),
            "/pricing": Response(200, PRICING, _HTML),
            "/static/app.4f9c2b1e.js": Response(
                200, APP_JS, (("content-type", "text/javascript"), ("cache-control", "public, max-age=31536000"))
            ),
            "/api/health": Response(200, '{"ok": true}', _JSON),
            "/api/me": _me,
            "/api/reports/monthly": _monthly_report,
            "/api/chat": CHAT,
            "/.env": Response(200, DOTENV, (("content-type", "application/octet-stream"),)),
        },
        fallback=Response(404, '{"error": "not found"}', _JSON),
        common_headers=_COMMON,
    )


def plant(root: Path, stack: contextlib.ExitStack) -> Mapping[str, Any]:
    authority = certs.new_authority()
    (root / "preview-ca.pem").write_bytes(authority.cert_pem)
    cert, key = certs.issue(authority, ["localhost", "127.0.0.1"])
    port = stack.enter_context(serve(sample_app(), server_context(cert, key)))
    # Plain HTTP answers with the app itself instead of a redirect to HTTPS.
    http_port = stack.enter_context(serve(Site(fallback=Response(200, INDEX, _HTML))))
    return {
        "checks": {
            "http": {
                "enabled": True,
                "url": f"https://localhost:{port}/",
                # The demo's domain map (acme-demo.test) lives in a loopback DNS zone the system
                # resolver cannot see, so the preview's host is listed instead of inheriting it.
                "hosts": [f"localhost:{port}"],
                "ca_bundle": "preview-ca.pem",
                "http_port": http_port,
                "pages": ["/"],
                # The sample app runs in the gate's own process here, so its threads compete with
                # the load client for the interpreter: few connections keep the client's own lag
                # (which it refuses to judge through) out of the numbers.
                "load": {"concurrency": 2},
                "routes": [
                    {"path": "/api/health", "class": "read"},
                    {"path": "/api/me", "class": "read", "auth": True},
                    # 300 requests (what the 1 % error-rate budget needs) at 100 connections: three
                    # rounds of a half-second route, about two seconds with the cold request.
                    {"path": "/api/reports/monthly", "class": "read", "load": {"concurrency": 100}},
                    {"path": "/api/chat", "class": "stream", "stream": {"stall": "500ms", "max_time": "10s"}},
                ],
                "wait": {"timeout": "10s", "interval": "200ms"},
            }
        }
    }
