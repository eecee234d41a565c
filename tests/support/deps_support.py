"""Shared parts of the deps tests: example projects from tests/data/deps and a real OSV API server."""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tests.support.helpers import Outcome, gate

DATA = Path(__file__).parents[1] / "data" / "deps"
NPM_OSV = DATA / "osv-npm"
PYPA_OSV = DATA / "osv-pypi"


def project(root: Path, files: dict[str, Path | str]) -> Path:
    """A project whose files are copies of example files (or literal text)."""
    for name, source in files.items():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(source, Path):
            shutil.copyfile(source, target)
        else:
            target.write_text(source)
    return root


def check(root: Path, *args: str) -> Outcome:
    outcome = gate("check", "deps", "--format", "json", *args, cwd=root)
    assert "Traceback" not in outcome.output, outcome.output
    return outcome


def findings(outcome: Outcome, rule: str | None = None) -> list[dict[str, Any]]:
    report = json.loads(outcome.stdout)
    return [f for f in report["findings"] if rule is None or f["rule_id"] == rule]


def vulnerable(outcome: Outcome) -> set[tuple[str, str, str]]:
    """(advisory id, file:line, rule) of every vulnerability finding."""
    return {
        (f["details"]["advisory"], f"{f['location']['path']}:{f['location']['line']}", f["rule_id"])
        for f in findings(outcome)
        if f["rule_id"].startswith("deps.vulnerable")
    }


def unaudited(outcome: Outcome) -> set[str]:
    return {f"{f['location']['path']}:{f['location']['line']}" for f in findings(outcome, "deps.unaudited")}


@dataclass
class OsvApi:
    """A loopback server speaking the OSV API's /v1/query shapes, and PyPI's JSON API paths.

    `records` are OSV records it matches by ecosystem and package name and `versions` lists (the
    tests write records whose affected versions are listed). `mode` makes it misbehave.
    """

    records: list[dict[str, Any]] = field(default_factory=list)
    mode: str = "ok"  # ok | error500 | bad-request | slow | not-json | pypi-404 | pypi-partial | page
    delay: float = 3.0
    queries: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""

    def matches(self, ecosystem: str, name: str, version: str) -> list[dict[str, Any]]:
        found = []
        for record in self.records:
            for affected in record["affected"]:
                package = affected["package"]
                if (
                    package["ecosystem"] == ecosystem
                    and package["name"] == name
                    and version in affected.get("versions", [])
                ):
                    found.append(record)
                    break
        return found


def _handler(api: OsvApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, status: int, body: Any) -> None:
            raw = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"{}")
            api.queries.append(body)
            if api.mode == "slow":
                time.sleep(api.delay)
            if api.mode == "error500":
                return self._send(500, {"code": 13, "message": "Internal error"})
            if api.mode == "bad-request":
                return self._send(400, {"code": 3, "message": "Invalid query."})
            if api.mode == "not-json":
                return self._send(200, b"<html>captive portal</html>")
            package = body.get("package", {})
            vulns = api.matches(package.get("ecosystem", ""), package.get("name", ""), body.get("version", ""))
            if api.mode == "page" and len(vulns) > 1 and "page_token" not in body:
                return self._send(200, {"vulns": vulns[:1], "next_page_token": "page-2"})
            if api.mode == "page" and "page_token" in body:
                vulns = vulns[1:]
            return self._send(200, {"vulns": vulns} if vulns else {})

        def do_GET(self) -> None:
            # PyPI's JSON API: /pypi/<name>/<version>/json
            parts = self.path.strip("/").split("/")
            if api.mode == "pypi-404" or len(parts) != 4:
                return self._send(404, {"message": "Not Found"})
            _, name, version, _ = parts
            known = {a["package"]["name"] for r in api.records for a in r["affected"]}
            if api.mode == "pypi-partial" and name not in known:
                return self._send(404, {"message": "Not Found"})
            vulns = [
                {
                    "id": r["id"],
                    "aliases": r.get("aliases", []),
                    "summary": r.get("summary"),
                    "fixed_in": [
                        e["fixed"]
                        for a in r["affected"]
                        for rg in a.get("ranges", [])
                        for e in rg["events"]
                        if "fixed" in e
                    ],
                }
                for r in api.matches("PyPI", name, version)
            ]
            return self._send(200, {"info": {"name": name, "version": version}, "vulnerabilities": vulns})

    return Handler


@contextmanager
def osv_api(records: list[dict[str, Any]], mode: str = "ok") -> Iterator[OsvApi]:
    api = OsvApi(records=records, mode=mode)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(api))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    api.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield api
    finally:
        server.shutdown()
        server.server_close()


def record(
    ident: str, ecosystem: str, name: str, versions: list[str], fixed: str | None, **extra: Any
) -> dict[str, Any]:
    events: list[dict[str, str]] = [{"introduced": "0"}] + ([{"fixed": fixed}] if fixed else [])
    return {
        "id": ident,
        "modified": "2024-01-01T00:00:00Z",
        "affected": [
            {
                "package": {"ecosystem": ecosystem, "name": name},
                "ranges": [{"type": "ECOSYSTEM" if ecosystem == "PyPI" else "SEMVER", "events": events}],
                "versions": versions,
            }
        ],
        **extra,
    }


Writer = Callable[[Path], None]
