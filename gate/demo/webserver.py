"""A small real web server on loopback for `gate demo` (and the http check's tests).

Each path maps to a fixed response or to a function of the request; a path that is not mapped
gets the `fallback` (a plain 404, or the app's index page for a soft-404 site). HTTPS handshakes
run in the request's own thread, so a probe that never finishes its handshake blocks nobody.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Request:
    """What the server received; header names are lower-cased."""

    method: str
    path: str
    host: str
    headers: Mapping[str, str]
    # The request body, up to MAX_REQUEST_BODY bytes (the demo's AI route reads its prompt here).
    body: bytes = b""


@dataclass(frozen=True)
class Response:
    """`parts`, when given, is sent chunked after the body: each (delay in seconds, bytes) in turn."""

    status: int = 200
    body: bytes | str = b""
    headers: tuple[tuple[str, str], ...] = ()
    parts: tuple[tuple[float, bytes], ...] = ()

    def encoded(self) -> bytes:
        return self.body.encode() if isinstance(self.body, str) else self.body


Handler = Callable[[Request], Response]
MAX_REQUEST_BODY = 1 << 20
NOT_FOUND = Response(404, "Not Found\n", (("content-type", "text/plain"),))


@dataclass
class Site:
    """What the server answers: per path (query ignored), else `fallback`."""

    routes: dict[str, Response | Handler] = field(default_factory=dict)
    fallback: Response | Handler = NOT_FOUND
    # Headers added to every response unless the response sets them itself.
    common_headers: tuple[tuple[str, str], ...] = ()
    # Every request received, in order: what the demo's visitor (the gate) asked for.
    requests: list[Request] = field(default_factory=list)

    def answer(self, request: Request) -> Response:
        self.requests.append(request)
        target = self.routes.get(request.path.split("?", 1)[0], self.fallback)
        response = target if isinstance(target, Response) else target(request)
        own = {name.lower() for name, _ in response.headers}
        extra = tuple((name, value) for name, value in self.common_headers if name.lower() not in own)
        return Response(response.status, response.body, response.headers + extra, response.parts)


def _handler_for(site: Site) -> type[BaseHTTPRequestHandler]:
    class _Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in separate writes; with Nagle on, each response would wait
        # for the client's delayed ACK (about 40 ms) before its body leaves.
        disable_nagle_algorithm = True
        server_version = "demo"
        sys_version = ""

        def _serve(self) -> None:
            headers = {name.lower(): value for name, value in self.headers.items()}
            length = headers.get("content-length", "0")
            size = min(int(length), MAX_REQUEST_BODY) if length.isdigit() else 0
            request = Request(self.command, self.path, headers.get("host", ""), headers, self.rfile.read(size))
            response = site.answer(request)
            body = response.encoded()
            self.send_response_only(response.status)
            names = {name.lower() for name, _ in response.headers}
            for name, value in response.headers:
                self.send_header(name, value)
            if response.parts:
                self.send_header("transfer-encoding", "chunked")
            elif "content-length" not in names:
                self.send_header("content-length", str(len(body)))
            self.end_headers()
            if self.command == "HEAD":
                return
            if not response.parts:
                self.wfile.write(body)
                return
            for delay, part in ((0.0, body), *response.parts):
                time.sleep(delay)
                if part:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
                    self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")

        do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _serve

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the gate's output is the demo's output."""

    return _Handler


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's default backlog of 5 drops the SYNs of a load run's burst of connections;
    # each dropped one is retried a second later, a second the demo measured as the app's latency.
    request_queue_size = 128
    tls: ssl.SSLContext | None = None

    def get_request(self) -> tuple[socket.socket, Any]:
        conn, address = super().get_request()
        if self.tls is not None:
            conn = self.tls.wrap_socket(conn, server_side=True, do_handshake_on_connect=False)
        return conn, address

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Failed handshakes and dropped probes are expected; they must not print tracebacks."""


def server_context(cert_pem: bytes, key_pem: bytes, *, legacy_tls: bool = False) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with tempfile.TemporaryDirectory() as folder:
        cert_file, key_file = Path(folder, "cert.pem"), Path(folder, "key.pem")
        cert_file.write_bytes(cert_pem)
        key_file.write_bytes(key_pem)
        context.load_cert_chain(cert_file, key_file)
    if legacy_tls:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            context.minimum_version = ssl.TLSVersion.TLSv1
        context.set_ciphers("DEFAULT:@SECLEVEL=0")
    return context


@contextlib.contextmanager
def serve(site: Site, tls: ssl.SSLContext | None = None) -> Iterator[int]:
    """Serve `site` on 127.0.0.1 in a daemon thread; yields the port, stops on exit."""
    server = _Server(("127.0.0.1", 0), _handler_for(site))
    server.tls = tls
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
