"""uvicorn serving tests/load_app.py in a child process on 127.0.0.1, over HTTP or HTTPS (trustme).

A child process, not a thread: the load engine measures its own thread's CPU and loop lag, and a
server sharing the test process would be counted as the client's work.
"""

from __future__ import annotations

import contextlib
import os
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

# The repository root, so the app module imports as `tests.support.<name>` in the server process.
REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Served:
    url: str
    ssl_context: ssl.SSLContext | None = None


@contextlib.contextmanager
def serve(tmp: Path, *, tls: bool = False, app: str = "tests.support.load_app:app") -> Iterator[Served]:
    """Start uvicorn on an already listening loopback socket; stop it (bounded) on exit."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted sockets inherit this on Linux; uvicorn does not set it on a socket passed by --fd,
    # and Nagle plus delayed ACKs would then add 40 ms to every response.
    listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(1024)
    port = listener.getsockname()[1]
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        app,
        "--app-dir",
        str(REPO),
        "--fd",
        str(listener.fileno()),
        "--log-level",
        "warning",
        "--no-access-log",
        "--loop",
        "uvloop",
        "--http",
        "httptools",
    ]
    context = None
    if tls:
        import trustme

        authority = trustme.CA()
        certificate = authority.issue_cert("127.0.0.1", "localhost")
        key, chain = tmp / "server.key", tmp / "server.pem"
        certificate.private_key_pem.write_to_path(str(key))
        certificate.cert_chain_pems[0].write_to_path(str(chain))
        command += ["--ssl-keyfile", str(key), "--ssl-certfile", str(chain)]
        context = ssl.create_default_context()
        authority.configure_trust(context)
        # For a gate.yml's ca_bundle: the gate run under test reads the CA from a file.
        authority.cert_pem.write_to_path(str(tmp / "ca.pem"))
    process = subprocess.Popen(command, pass_fds=(listener.fileno(),), env={**os.environ, "PYTHONPATH": str(REPO)})
    listener.close()
    served = Served(f"{'https' if tls else 'http'}://127.0.0.1:{port}", context)
    try:
        _wait_ready(served, process)
        yield served
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _wait_ready(served: Served, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 20
    with httpx.Client(verify=served.ssl_context or True, timeout=2) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"uvicorn exited with {process.returncode}")
            try:
                if client.get(served.url + "/fast").status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.05)
    raise RuntimeError("uvicorn did not answer within 20 s")
