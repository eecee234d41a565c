"""The OSV API as a project's `gate run` meets it, on loopback: an HTTPS CONNECT proxy that
answers for api.osv.dev with a trustme certificate and hands the request to the loopback OSV
server of deps_support. A sample project's gate.yml needs no test-only URL, and no byte
leaves the machine: the proxy refuses every other host.
"""

from __future__ import annotations

import socketserver
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import trustme

from tests.support.deps_support import OsvApi, _handler

OSV_HOST = "api.osv.dev"


@contextmanager
def osv_behind_proxy(tmp: Path, records: list[dict[str, Any]]) -> Iterator[dict[str, str]]:
    """Environment variables that route the gate's OSV queries to a loopback OSV server."""
    authority = trustme.CA()
    certificate = authority.issue_cert(OSV_HOST)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    certificate.configure_cert(context)
    ca_file = tmp / "osv-ca.pem"
    authority.cert_pem.write_to_path(str(ca_file))
    api = OsvApi(records=records)
    handler = _handler(api)

    class Proxy(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            request_line = self.rfile.readline(4096).decode("latin-1")
            while self.rfile.readline(4096) not in (b"\r\n", b"\n", b""):
                pass
            parts = request_line.split()
            if len(parts) < 2 or parts[0] != "CONNECT" or parts[1] != f"{OSV_HOST}:443":
                self.wfile.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
                return
            self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            self.wfile.flush()
            try:
                tls = context.wrap_socket(self.connection, server_side=True)
            except (ssl.SSLError, OSError):
                return
            handler(tls, self.client_address, self.server)

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Proxy)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    proxy = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield {
            "HTTPS_PROXY": proxy,
            "https_proxy": proxy,
            "NO_PROXY": "127.0.0.1,localhost",
            "SSL_CERT_FILE": str(ca_file),
            "REQUESTS_CA_BUNDLE": str(ca_file),
        }
    finally:
        server.shutdown()
        server.server_close()
