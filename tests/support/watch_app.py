"""A watched app on loopback: routes that go down and come back on a schedule, a slow route, a
stream that stalls, a login, and the gate.yml that declares them for `gate watch`.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import yaml

from gate.demo.webserver import Request, Response, Site

SSE = (("content-type", "text/event-stream"), ("cache-control", "no-cache"))
SMTP_PASSWORD = "smtp-pa55word-for-alerts-7c1e"
# Registered as a secret like the password: a plain word here would be redacted in later messages.
SMTP_USER = "gate-alerts-user-4d2b"


@dataclass
class Schedule:
    """Statuses a route answers, one per request in turn; the last one repeats."""

    statuses: Sequence[int]
    served: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, request: Request) -> Response:
        with self.lock:
            status = self.statuses[min(self.served, len(self.statuses) - 1)]
            self.served += 1
        return Response(status, "ok\n" if status < 400 else "upstream down\n", (("content-type", "text/plain"),))


def slow(delay: float) -> Response:
    return Response(200, b"", (("content-type", "text/plain"),), parts=((delay, b"late\n"),))


def stream(stall_after: int | None = None, gap: float = 0.05) -> Response:
    events = [(gap, f"data: token {i}\n\n".encode()) for i in range(3)]
    if stall_after is not None:
        events = [*events[:stall_after], (30.0, b"data: too late\n\n")]
    return Response(200, b"", SSE, parts=tuple(events))


def login(_: Request) -> Response:
    return Response(200, '{"token": "tok_watch_5e1f0c9a8b7d6e5f4a3b2c1d"}', (("content-type", "application/json"),))


def app(health: Sequence[int] = (200,), **routes: Any) -> Site:
    site = Site(routes={"/": Response(200, "home\n"), "/health": Schedule(health), "/login": login})
    site.routes.update({f"/{name}": value for name, value in routes.items()})
    return site


def write_config(root: Path, port: int, *, scheme: str = "http", **watch: Any) -> Path:
    """A gate.yml watching the app on `port`: the home page and /health from checks.http."""
    document: dict[str, Any] = {
        "version": 1,
        "checks": {
            "http": {
                "url": f"{scheme}://127.0.0.1:{port}/",
                "routes": [{"path": "/health", "name": "health"}],
            }
        },
        "watch": {"store": "watch.sqlite", "owner": "@oncall-alice", **watch},
    }
    path = root / "gate.yml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


def lines(text: str) -> Iterator[str]:
    yield from (line for line in text.splitlines() if line.strip())


class Receiver:
    """A webhook receiver on loopback keeping every JSON body; `hang` makes it never answer."""

    def __init__(self, *, hang: bool = False) -> None:
        import json
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.bodies: list[Any] = []
        self.paths: list[str] = []
        self.release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                raw = self.rfile.read(length)
                if hang:
                    receiver.release.wait(30)
                    return
                receiver.paths.append(self.path)
                receiver.bodies.append(json.loads(raw))
                self.send_response(200)
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/T0SECRET/B0SECRET/abcdefghijkl1234"

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


class Sink:
    """aiosmtpd's handler: keeps every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        self.messages.append(message_from_bytes(envelope.content))  # type: ignore[attr-defined]
        return "250 OK"


def email_alert(port: int, security: str, **extra: Any) -> dict[str, Any]:
    """watch.alerts.email for a sink on 127.0.0.1:PORT, signing in from GATE_SMTP_USER/PASSWORD."""
    return {
        "host": "127.0.0.1",
        "port": port,
        "from": "gate@example.com",
        "to": ["oncall@example.com"],
        "username_env": "GATE_SMTP_USER",
        "password_env": "GATE_SMTP_PASSWORD",
        "security": security,
        **extra,
    }


@contextlib.contextmanager
def smtp_sink(
    password: str, *, starttls: ssl.SSLContext | None = None, implicit: ssl.SSLContext | None = None
) -> Iterator[tuple[Sink, int]]:
    """An aiosmtpd server on 127.0.0.1 taking AUTH with `password`: plain, STARTTLS (required when
    `starttls` is given) or implicit TLS (`implicit`)."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    def accept(server: object, session: object, envelope: object, mechanism: str, auth_data: object) -> object:
        good = isinstance(auth_data, LoginPassword) and auth_data.password == password.encode()
        return AuthResult(success=good)

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sink = Sink()
    tls: dict[str, Any] = {}
    if starttls is not None:
        tls = {"tls_context": starttls, "require_starttls": True, "auth_require_tls": True}
    elif implicit is not None:
        # The whole session is TLS; aiosmtpd only tracks STARTTLS, so its AUTH-needs-TLS guard is off.
        tls = {"ssl_context": implicit, "server_hostname": "localhost", "auth_require_tls": False}
    else:
        tls = {"auth_require_tls": False}
    controller = Controller(
        sink, hostname="127.0.0.1", port=port, authenticator=accept, auth_exclude_mechanism=[], **tls
    )
    controller.start()
    try:
        yield sink, port
    finally:
        controller.stop()
