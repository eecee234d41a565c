"""The pages an indirect-injection attack asks a URL-reading route to fetch, served by the gate.

A route declaring `ingest: {slot: url}` is handed a URL instead of a document. The gate serves
each attack's document itself, from 127.0.0.1 on a port of its own, for the run of that one
route: no outside host is involved, each page sits under an unguessable path, and the gate
notes which pages were fetched, so a route that never read its page is not taken as safe. The
server only answers; it connects nowhere.
"""

from __future__ import annotations

import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, ClassVar

LOOPBACK = "127.0.0.1"
#: A client that opens a connection and says nothing is dropped after this many seconds.
REQUEST_TIMEOUT_S = 5.0
#: Connections served at once; more are closed at once, so a route in a loop cannot pile up threads.
MAX_CONNECTIONS = 16


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    pages: dict[str, bytes]
    fetched: set[str]
    lock: threading.Lock
    slots: threading.BoundedSemaphore

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self.slots.acquire(blocking=False):
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.release()


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    timeout: ClassVar[float] = REQUEST_TIMEOUT_S
    server_version = "launch-gate"
    sys_version = ""

    def _page(self) -> bytes | None:
        token = self.path.split("?", 1)[0].removeprefix("/launch-gate/")
        with self.server.lock:
            page = self.server.pages.get(token)
            if page is not None:
                self.server.fetched.add(token)
        return page

    def _answer(self, body: bool) -> None:
        page = self._page()
        status, content = (200, page) if page is not None else (404, b"not found\n")
        self.send_response(status)
        self.send_header("content-type", "text/html; charset=utf-8" if page is not None else "text/plain")
        self.send_header("content-length", str(len(content)))
        self.send_header("cache-control", "no-store")
        self.end_headers()
        if body:
            self.wfile.write(content)

    def do_GET(self) -> None:
        self._answer(body=True)

    def do_HEAD(self) -> None:
        self._answer(body=False)

    def log_message(self, format: str, *args: object) -> None:
        """Requests are not logged: the route's own requests are no news to the user."""


class PageServer:
    """One route's pages, served on 127.0.0.1 while the `with` block runs."""

    def __init__(self) -> None:
        self._server = _Server((LOOPBACK, 0), _Handler)
        self._server.pages = {}
        self._server.fetched = set()
        self._server.lock = threading.Lock()
        self._server.slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
        self._thread = threading.Thread(target=self._server.serve_forever, name="ai-pages", daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def publish(self, document: str) -> str:
        """Serve `document` at a new unguessable URL; returns the URL."""
        token = secrets.token_urlsafe(18)
        with self._server.lock:
            self._server.pages[token] = document.encode("utf-8")
        return f"http://{LOOPBACK}:{self.port}/launch-gate/{token}"

    def fetched(self, url: str) -> bool:
        """Whether the page at `url` was requested."""
        token = url.rsplit("/", 1)[-1]
        with self._server.lock:
            return token in self._server.fetched

    def __enter__(self) -> PageServer:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=REQUEST_TIMEOUT_S)
