"""Small misbehaving peers on loopback, shared by the fault suites.

Each peer is a context manager that listens on 127.0.0.1, misbehaves in one named way, and on
exit closes every socket it opened, so a handler stuck in `never answer` or `drip` ends with
the test instead of outliving it.
"""

from __future__ import annotations

import socket
import ssl
import struct
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import dns.flags
import dns.message
import dns.rcode

STOP_POLL = 0.05


def refused_port() -> int:
    """A loopback port with nothing listening on it: connecting is refused at once."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


Behaviour = Callable[[socket.socket, threading.Event], None]


def _read_request(conn: socket.socket, stop: threading.Event) -> bytes:
    """The request head and as much body as Content-Length says, within a bounded size."""
    conn.settimeout(STOP_POLL)
    data = b""
    while b"\r\n\r\n" not in data and len(data) < 1 << 20 and not stop.is_set():
        try:
            chunk = conn.recv(65536)
        except TimeoutError:
            continue
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length" and value.strip().isdigit():
            length = min(int(value), 1 << 20)
    while len(body) < length and not stop.is_set():
        try:
            chunk = conn.recv(65536)
        except TimeoutError:
            continue
        if not chunk:
            break
        body += chunk
    return head


def _send(conn: socket.socket, data: bytes) -> bool:
    # A slow reader is the client's right; only its hanging up (or the peer's exit) ends a send.
    conn.settimeout(None)
    try:
        conn.sendall(data)
    except OSError:
        return False
    return True


def answer(status: int, body: bytes = b"", headers: dict[str, str] | None = None, delay: float = 0) -> Behaviour:
    """Answer every request with this status and body (after `delay` seconds), keeping the connection alive."""

    def serve(conn: socket.socket, stop: threading.Event) -> None:
        while not stop.is_set():
            if not _read_request(conn, stop) or stop.wait(delay):
                return
            extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
            head = f"HTTP/1.1 {status} Fault\r\nContent-Length: {len(body)}\r\nContent-Type: application/json\r\n"
            if not _send(conn, (head + extra + "\r\n").encode() + body):
                return

    return serve


def silent(conn: socket.socket, stop: threading.Event) -> None:
    """Accept, read the request, and never say a word."""
    _read_request(conn, stop)
    stop.wait()


def drip(interval: float = 1.0, head: bytes = b"HTTP/1.1 200 OK\r\n") -> Behaviour:
    """Send a response one byte every `interval` seconds, for as long as the peer listens."""

    def serve(conn: socket.socket, stop: threading.Event) -> None:
        _read_request(conn, stop)
        data = head + b"X-Drip: " + b"." * 10_000
        for byte in data:
            if stop.wait(interval) or not _send(conn, bytes([byte])):
                return

    return serve


@dataclass
class TcpPeer:
    """A TCP server on 127.0.0.1 running `behaviour` on every connection."""

    behaviour: Behaviour
    tls: ssl.SSLContext | None = None  # serve HTTPS: the handshake runs before the behaviour
    connections: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _open: list[socket.socket] = field(default_factory=list)
    _threads: list[threading.Thread] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self._listener.settimeout(STOP_POLL)
        self.port: int = self._listener.getsockname()[1]

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{'localhost' if self.tls else '127.0.0.1'}:{self.port}"

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except (TimeoutError, OSError):
                continue
            self.connections += 1
            self._open.append(conn)
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            if self.tls is not None:
                conn.settimeout(5)
                conn = self.tls.wrap_socket(conn, server_side=True)
                self._open.append(conn)
            self.behaviour(conn, self._stop)
        except OSError:
            pass  # the client hung up (or refused our certificate): that is its right
        finally:
            conn.close()

    def __enter__(self) -> TcpPeer:
        self._threads.append(threading.Thread(target=self._accept, daemon=True))
        self._threads[0].start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for conn in self._open:
            with suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        for thread in self._threads:
            thread.join(timeout=5)
        self._listener.close()


DnsMode = str  # servfail | refused | silent | truncated


@contextmanager
def dns_peer(mode: DnsMode) -> Iterator[tuple[str, list[bytes]]]:
    """A UDP DNS server on 127.0.0.1 that fails every query the same way.

    `truncated` answers with the TC bit and no records; nothing listens on TCP at that port, so
    the retry over TCP that TC asks for is refused. Yields the IP:PORT and the queries received.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(STOP_POLL)
    port = sock.getsockname()[1]
    # Hold the same TCP port bound but not listening, so no one else takes it and TCP is refused.
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    tcp.bind(("127.0.0.1", port))
    stop = threading.Event()
    seen: list[bytes] = []
    rcodes = {"servfail": dns.rcode.SERVFAIL, "refused": dns.rcode.REFUSED}

    def serve() -> None:
        while not stop.is_set():
            try:
                wire, client = sock.recvfrom(65535)
            except (TimeoutError, OSError):
                continue
            seen.append(wire)
            if mode == "silent":
                continue
            try:
                query = dns.message.from_wire(wire)
            except Exception:  # noqa: BLE001 - a garbled query gets no answer, as from a real server
                continue
            response = dns.message.make_response(query)
            if mode == "truncated":
                response.flags |= dns.flags.TC
            else:
                response.set_rcode(rcodes[mode])
            sock.sendto(response.to_wire(), client)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{port}", seen
    finally:
        stop.set()
        thread.join(timeout=5)
        sock.close()
        tcp.close()


@dataclass(frozen=True)
class Bounds:
    """What one faulted run cost: wall-clock seconds and peak memory growth in bytes."""

    seconds: float
    peak_bytes: int


@contextmanager
def measured() -> Iterator[list[Bounds]]:
    """Wall clock and tracemalloc's peak over the block; the Bounds lands in the yielded list."""
    import tracemalloc

    started = time.monotonic()
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    tracemalloc.reset_peak()
    base, _ = tracemalloc.get_traced_memory()
    box: list[Bounds] = []
    try:
        yield box
    finally:
        _, peak = tracemalloc.get_traced_memory()
        if not was_tracing:
            tracemalloc.stop()
        box.append(Bounds(time.monotonic() - started, peak - base))


def endless(
    content_length: int | None = 10 * 1024**3,
    chunk: bytes = b"[" * 65536,
    headers: str = "Content-Type: application/json\r\n",
) -> Behaviour:
    """A 200 whose body never ends: with a huge Content-Length, or chunked with no last chunk."""

    def serve(conn: socket.socket, stop: threading.Event) -> None:
        _read_request(conn, stop)
        if content_length is None:
            head = f"HTTP/1.1 200 OK\r\n{headers}Transfer-Encoding: chunked\r\n\r\n".encode()
            piece = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
        else:
            head = f"HTTP/1.1 200 OK\r\n{headers}Content-Length: {content_length}\r\n\r\n".encode()
            piece = chunk
        if not _send(conn, head):
            return
        while not stop.is_set() and _send(conn, piece):
            pass

    return serve


def redirect_chain(conn: socket.socket, stop: threading.Event) -> None:
    """Every path redirects to the next one, for ever: /r/1 -> /r/2 -> ..."""
    while not stop.is_set():
        head = _read_request(conn, stop)
        if not head:
            return
        target = head.split(b" ")[1] if head.count(b" ") >= 2 else b"/"
        step = int(target.rsplit(b"/", 1)[-1]) + 1 if target.rsplit(b"/", 1)[-1].isdigit() else 1
        reply = f"HTTP/1.1 302 Found\r\nLocation: /r/{step}\r\nContent-Length: 0\r\n\r\n"
        if not _send(conn, reply.encode()):
            return


def stall(conn: socket.socket, stop: threading.Event) -> None:
    """Headers and the first bytes of a body it promises to finish, then silence."""
    _read_request(conn, stop)
    if _send(conn, b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 100000\r\n\r\n<html><body>"):
        stop.wait()


# A TLS record with a fatal handshake_failure alert: what a server sends when no cipher or
# protocol version is shared; the client's handshake can never complete.
HANDSHAKE_FAILURE = b"\x15\x03\x03\x00\x02\x02\x28"


def tls_handshake_failure(conn: socket.socket, stop: threading.Event) -> None:
    conn.settimeout(STOP_POLL)
    while not stop.is_set():
        try:
            if not conn.recv(65536):
                return
        except TimeoutError:
            continue
        _send(conn, HANDSHAKE_FAILURE)
        return


def tls_server(folder: Path) -> tuple[ssl.SSLContext, Path]:
    """A server context for localhost signed by a fresh trustme CA, and that CA's PEM file."""
    import trustme

    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost", "127.0.0.1").configure_cert(context)
    pem = folder / "faults-ca.pem"
    ca.cert_pem.write_to_path(str(pem))
    return context, pem


def _compress(coding: str, data: bytes) -> bytes:
    if coding == "br":
        import brotli

        return bytes(brotli.compress(data, quality=5))
    packer = zlib.compressobj(9, zlib.DEFLATED, {"gzip": 16 + 15, "deflate": 15}[coding])
    return packer.compress(data) + packer.flush()


def _zeros(coding: str, megabytes: int) -> bytes:
    """`megabytes` MB of zeros in one coding, without compressing them all.

    Deflate: one megabyte compressed and fully flushed is a self-contained run of blocks, so
    repeating it is a valid stream; the trailer's checksum is computed over the zeros.
    """
    zeros = bytes(1 << 20)
    if coding == "br":
        import brotli

        compressor = brotli.Compressor(quality=1)
        return b"".join(compressor.process(zeros) for _ in range(megabytes)) + bytes(compressor.finish())
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    blocks = (packer.compress(zeros) + packer.flush(zlib.Z_FULL_FLUSH)) * megabytes + packer.flush()
    size = megabytes << 20
    if coding == "gzip":
        crc = 0
        for _ in range(megabytes):
            crc = zlib.crc32(zeros, crc)
        return b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff" + blocks + struct.pack("<II", crc, size & 0xFFFFFFFF)
    adler = 1
    for _ in range(megabytes):
        adler = zlib.adler32(zeros, adler)
    return b"\x78\xda" + blocks + struct.pack(">I", adler)


@cache
def compression_bomb(codings: str, decoded_mb: int) -> bytes:
    """`decoded_mb` MB of zeros encoded with each coding of a Content-Encoding header, in order."""
    layers = [part.strip() for part in codings.split(",")]
    data = _zeros(layers[0], decoded_mb)
    for coding in layers[1:]:
        data = _compress(coding, data)
    return data
