"""`gate init --preview URL` against a real loopback server: answers, auth, /openapi.json, refined classes."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.support.helpers import gate, write_files

OPENAPI = {"openapi": "3.1.0", "paths": {"/api/report": {"get": {}}, "/api/items": {"get": {}}}}
ANSWERS: dict[str, tuple[int, str, bytes]] = {
    "/": (200, "text/html", b"<html></html>"),
    "/api/items": (200, "application/json", b"[]"),
    "/api/admin/users": (401, "application/json", b"{}"),
    "/api/feed": (200, "text/event-stream", b"data: x\n\n"),
    "/api/report": (200, "application/json", b"{}"),
    "/openapi.json": (200, "application/json", json.dumps(OPENAPI).encode()),
}


@pytest.fixture
def preview() -> Iterator[tuple[str, list[str]]]:
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            seen.append(f"{self.command} {self.path}")
            status, kind, body = ANSWERS.get(self.path, (404, "text/plain", b"no"))
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_POST = do_GET

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


PROJECT = {
    "package.json": '{"dependencies": {"next": "14.2.3"}}',
    "app/api/items/route.ts": "export async function GET() {}\nexport async function POST() {}\n",
    "app/api/admin/users/route.ts": "export async function GET() {}\n",
    "app/api/feed/route.ts": "export async function GET() {}\n",
    "app/api/gone/route.ts": "export async function GET() {}\n",
    "app/api/items/[id]/route.ts": "export async function GET() {}\n",
    # A path that would leave the origin if it were joined to the URL instead of sent as a path.
    "server.js": "const app = require('express')()\napp.get('//evil.example/x', h)\n",
}


@pytest.mark.loopback
@pytest.mark.slow
def test_preview_refines_routes_and_never_writes(tmp_path: Path, preview: tuple[str, list[str]]) -> None:
    url, seen = preview
    write_files(tmp_path, PROJECT)
    outcome = gate("init", "--quiet", "--preview", url, cwd=tmp_path)
    assert outcome.exit_code == 0, outcome.output
    text = (tmp_path / "gate.yml").read_text()
    assert f'url: "{url}"' in text and "enabled: true" in text
    assert '{path: "/api/admin/users", method: GET, class: read, auth: true}' in text
    assert '{path: "/api/feed", method: GET, class: stream}' in text
    assert '"/api/report"' in text and "openapi: " + url + "/openapi.json" in outcome.stdout
    assert '"/api/gone"' not in text and "/api/gone answered 404" in text
    # Only GET, only paths on the origin, no write, no parameterised path guessed.
    assert all(line.startswith("GET /") for line in seen), seen
    assert "GET /api/items/[id]" not in seen and not [s for s in seen if "evil" in s]
    assert len(seen) <= 60
    # The probed gate.yml drives the http check against the same preview: a verdict, not bad input.
    outcome = gate("run", "--format", "json", cwd=tmp_path)
    assert outcome.exit_code in (0, 1), outcome.output
    assert {check["name"] for check in json.loads(outcome.stdout)["checks"]} >= {"http", "env", "deps", "secrets"}


def test_a_preview_that_does_not_answer_is_bad_input_and_writes_nothing(tmp_path: Path) -> None:
    write_files(tmp_path, PROJECT)
    outcome = gate("init", "--quiet", "--preview", "http://127.0.0.1:9", cwd=tmp_path)
    assert outcome.exit_code == 2 and "did not answer" in outcome.stderr
    assert not (tmp_path / "gate.yml").exists()
    assert gate("init", "--preview", "ftp://x", cwd=tmp_path).exit_code == 2
