"""A small HTTP/1.1 client at the protocol level, built for measuring rather than for features.

Why not httpx here: one shared `httpx.AsyncClient` falls from ~600 to ~160 requests/s between
concurrency 16 and 64 on loopback (encode/httpx#3215), and its pool's own queueing then shows up
as server latency. One asyncio `Protocol` per connection with llhttp (through httptools) as the
parser has no pool lock, no per-request task and no header object model, so the time between the
last byte arriving and the timestamp being taken is one callback. docs/load.md has the numbers.

What it does not do, on purpose: redirects, cookies, compression, HTTP/2, HEAD (llhttp needs to
be told a response has no body and httptools does not expose that). Flows that need those use
httpx; the load phase replays prepared requests.

Longer than most modules (~450 lines) on purpose: the connection, its parser callbacks and its
one deadline timer share per-connection state on the measured path, and splitting them would put
an attribute lookup across modules between the last byte and its timestamp.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import cast
from urllib.parse import urlsplit

import httptools

from gate.errors import InputError

#: A body bigger than this is cut off and counted as an error: the load phase must stay bounded
#: in memory whatever the server sends back.
DEFAULT_MAX_BODY = 8 * 1024 * 1024
MAX_HEADERS = 100
#: The bytes of a response's head kept to read its headers from; headers past it are not read.
MAX_HEAD_BYTES = 64 * 1024
METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

BodyHook = Callable[[bytes, float], None]
#: Called with the exchange the moment it ends, inside the callback that ended it.
EndHook = Callable[["Exchange"], None]
#: Every timestamp: uvloop's `loop.time()` has only millisecond resolution.
clock = time.perf_counter


@dataclass(frozen=True)
class Endpoint:
    """Where to connect: the scheme, host and port of a base URL, and TLS if it is https."""

    host: str
    port: int
    tls: ssl.SSLContext | None
    host_header: str
    base_path: str
    # Where to connect when the caller resolved the name itself (TLS still verifies `host`).
    address: str | None = None

    @classmethod
    def parse(cls, url: str, ssl_context: ssl.SSLContext | None = None) -> Endpoint:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InputError(f"{url!r} is not an http(s) URL", hint="write it like https://preview.example.com")
        tls = None
        if parts.scheme == "https":
            tls = ssl_context or ssl.create_default_context()
        default = 443 if tls else 80
        port = parts.port or default
        host = parts.hostname
        shown = f"[{host}]" if ":" in host else host
        host_header = shown if port == default else f"{shown}:{port}"
        return cls(host, port, tls, host_header, parts.path.rstrip("/"))


@dataclass(frozen=True)
class Request:
    """One request, encoded once and replayed as bytes."""

    method: str
    path: str
    raw: bytes

    @classmethod
    def build(
        cls,
        endpoint: Endpoint,
        method: str,
        path: str,
        headers: Mapping[str, str] | None = None,
        body: bytes = b"",
    ) -> Request:
        method = method.upper()
        if method not in METHODS:
            raise InputError(
                f"method {method!r} cannot be load-tested", hint=f"use one of {', '.join(sorted(METHODS))}"
            )
        if not path.startswith("/"):
            raise InputError(f"route path {path!r} must start with /", hint="write it like /api/items")
        target = endpoint.base_path + path
        lines = [f"{method} {target} HTTP/1.1", f"Host: {endpoint.host_header}"]
        given = {name.lower() for name in (headers or {})}
        for name, value in (headers or {}).items():
            if "\r" in name + value or "\n" in name + value:
                raise InputError(f"header {name!r} contains a line break", hint="remove the line break")
            lines.append(f"{name}: {value}")
        if "user-agent" not in given:
            lines.append("User-Agent: launch-gate")
        if "accept-encoding" not in given:
            lines.append("Accept-Encoding: identity")
        if body or method in ("POST", "PUT", "PATCH"):
            lines.append(f"Content-Length: {len(body)}")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        return cls(method, path, head + body)


class Exchange:
    """One request's timeline and outcome, in loop-clock seconds; filled by the connection."""

    __slots__ = (
        "_headers",
        "body_bytes",
        "ended",
        "error",
        "head",
        "head_bytes",
        "keep_alive",
        "loop",
        "on_body",
        "on_end",
        "status",
        "t_end",
        "t_first_body",
        "t_head",
        "t_send",
        "waiter",
    )

    def __init__(
        self, loop: asyncio.AbstractEventLoop, t_send: float, on_body: BodyHook | None, on_end: EndHook | None
    ) -> None:
        self.loop = loop
        # Made only when someone awaits: a load loop hears the end through `on_end` instead.
        self.waiter: asyncio.Future[Exchange] | None = None
        self.ended = False
        self.t_send = t_send
        self.on_body = on_body
        self.on_end = on_end
        self.status = 0
        # The bytes that carried the head, read into headers only when someone asks (see `headers`).
        self.head: list[bytes] = []
        self.head_bytes = 0
        self._headers: list[tuple[bytes, bytes]] | None = None
        self.body_bytes = 0
        self.t_head = 0.0
        self.t_first_body = 0.0
        self.t_end = 0.0
        self.keep_alive = True
        self.error: str | None = None

    @property
    def done(self) -> asyncio.Future[Exchange]:
        """Resolves with this exchange when it ends, either way."""
        if self.waiter is None:
            self.waiter = self.loop.create_future()
            if self.ended:
                self.waiter.set_result(self)
        return self.waiter

    @property
    def headers(self) -> list[tuple[bytes, bytes]]:
        """The final answer's headers (not those of a 103 or 100 before it), at most MAX_HEADERS."""
        if self._headers is None:
            self._headers = _read_headers(b"".join(self.head))
        return self._headers

    @property
    def framed(self) -> bool:
        """Whether the response said where its body ends (a length or chunks), not the connection's close."""
        for name, value in self.headers:
            lowered = name.lower()
            if lowered == b"content-length" or (lowered == b"transfer-encoding" and b"chunked" in value.lower()):
                return True
        return False

    def header(self, name: str) -> str | None:
        wanted = name.lower().encode("latin-1")
        for key, value in self.headers:
            if key.lower() == wanted:
                return value.decode("latin-1")
        return None


class _HeadReader:
    """The same parser run again over the bytes that carried a head, this time keeping its headers."""

    def __init__(self) -> None:
        self.headers: list[tuple[bytes, bytes]] = []
        self.final = False
        self.parser = httptools.HttpResponseParser(self)

    def on_header(self, name: bytes, value: bytes) -> None:
        if not self.final and len(self.headers) < MAX_HEADERS:
            self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        if 100 <= self.parser.get_status_code() < 200:
            self.headers.clear()
        else:
            self.final = True


def _read_headers(raw: bytes) -> list[tuple[bytes, bytes]]:
    reader = _HeadReader()
    # The live parser already judged these bytes; whatever follows the head is not ours to judge.
    with contextlib.suppress(httptools.HttpParserError, httptools.HttpParserUpgrade):
        reader.parser.feed_data(raw)
    return reader.headers


class ConnectionLost(Exception):
    """The connection ended before a response finished."""


class Connection(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection carrying one exchange at a time."""

    __slots__ = (
        "closed",
        "deadline",
        "ended",
        "exchange",
        "informational",
        "loop",
        "max_body",
        "parser",
        "parsing",
        "timeout_reason",
        "transport",
        "watchdog",
        "watchdog_at",
    )

    def __init__(self, loop: asyncio.AbstractEventLoop, max_body: int) -> None:
        self.loop = loop
        self.max_body = max_body
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.exchange: Exchange | None = None
        self.closed = False
        self.informational = False
        # An exchange that ended inside the parser: its `on_end` runs once the parser has returned,
        # so a request sent from there never sees the rest of the bytes that ended the last one.
        self.parsing = False
        self.ended: Exchange | None = None
        # One timer per connection, not per request: it fires at the earliest deadline it was set
        # for and, if the exchange then in flight is due later, sets itself again for that time.
        self.deadline: float | None = None
        self.timeout_reason = ""
        self.watchdog: asyncio.TimerHandle | None = None
        self.watchdog_at = 0.0

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement the interface without subclassing asyncio.Transport.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        exchange = self.exchange
        if exchange is None:
            # Bytes nobody asked for (or after an error): the connection can no longer be trusted.
            self.abort()
            return
        if not exchange.status and exchange.head_bytes < MAX_HEAD_BYTES:
            # Kept instead of a callback per header: most answers are never asked for a header.
            exchange.head.append(data)
            exchange.head_bytes += len(data)
        self.parsing = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._finish("the server switched protocols (101), which a load test cannot follow")
            self.abort()
        except httptools.HttpParserError as error:
            self._finish(f"protocol error: {error}")
            self.abort()
        finally:
            self.parsing = False
        ended = self.ended
        if ended is not None and ended.on_end is not None:
            self.ended = None
            ended.on_end(ended)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._disarm()
        exchange = self.exchange
        if exchange is None:
            return
        if exchange.status and not exchange.framed:
            # A body delimited by the end of the connection (no length, not chunked) ends here.
            exchange.t_end = clock()
            self._finish(None)
        else:
            self._finish("connection closed before the response ended")

    # llhttp callbacks (no on_header: headers are read from `Exchange.head` when asked for)
    def on_headers_complete(self) -> None:
        exchange = self.exchange
        status = self.parser.get_status_code()
        if 100 <= status < 200:
            # 103 Early Hints (CDNs send them) and 100 Continue come before the real answer.
            self.informational = True
            return
        if exchange is not None:
            exchange.status = status
            exchange.t_head = clock()
            exchange.keep_alive = self.parser.should_keep_alive()

    def on_body(self, body: bytes) -> None:
        exchange = self.exchange
        if exchange is None:
            return
        now = clock()
        if not exchange.body_bytes:
            exchange.t_first_body = now
        exchange.body_bytes += len(body)
        if exchange.on_body is not None:
            exchange.on_body(body, now)
        if exchange.body_bytes > self.max_body:
            self._finish(f"body larger than {self.max_body} bytes")
            self.abort()

    def on_message_complete(self) -> None:
        if self.informational:
            self.informational = False
            return
        exchange = self.exchange
        if exchange is not None:
            exchange.t_end = clock()
            self._finish(None)

    # use
    def send(
        self,
        request: Request,
        on_body: BodyHook | None = None,
        on_end: EndHook | None = None,
        *,
        deadline: float | None = None,
        timeout_reason: str = "timed out",
    ) -> Exchange:
        """Write the request now; the returned exchange's `done` resolves when it ends either way.

        `on_end`, if given, is called with the exchange as it ends, before anything awaiting `done`
        wakes: a load loop can send its next request from there without a task switch per request.
        `deadline` (a `clock()` time): unfinished then, the exchange ends with `timeout_reason`
        as its error and the connection is dropped, as `fail` does.
        """
        if self.exchange is not None or self.closed or self.transport is None:
            raise ConnectionLost("connection is busy or closed")
        exchange = Exchange(self.loop, clock(), on_body, on_end)
        self.exchange = exchange
        self.deadline = deadline
        if deadline is not None:
            self.timeout_reason = timeout_reason
            if self.watchdog is None or deadline < self.watchdog_at:
                self._arm(deadline)
        self.transport.write(request.raw)
        return exchange

    def fail(self, reason: str) -> None:
        """End the current exchange with an error (a timeout) and drop the connection."""
        self._finish(reason)
        self.abort()

    def abort(self) -> None:
        self.closed = True
        self._disarm()
        if self.transport is not None:
            self.transport.abort()

    def _arm(self, deadline: float) -> None:
        self._disarm()
        self.watchdog_at = deadline
        self.watchdog = self.loop.call_later(max(0.0, deadline - clock()), self._watch)

    def _disarm(self) -> None:
        if self.watchdog is not None:
            self.watchdog.cancel()
            self.watchdog = None

    def _watch(self) -> None:
        self.watchdog = None
        deadline = self.deadline
        if self.exchange is None or deadline is None:
            return
        if clock() < deadline:
            self._arm(deadline)  # this exchange was sent after the one the timer was set for
        else:
            self.fail(self.timeout_reason)

    @property
    def reusable(self) -> bool:
        return not self.closed and self.exchange is None

    def _finish(self, error: str | None) -> None:
        exchange = self.exchange
        if exchange is None:
            return
        self.exchange = None
        exchange.ended = True
        exchange.error = error
        if exchange.waiter is not None and not exchange.waiter.done():
            exchange.waiter.set_result(exchange)
        if error is None and not exchange.keep_alive:
            self.abort()
        if exchange.on_end is not None:
            if self.parsing:
                self.ended = exchange
            else:
                exchange.on_end(exchange)


async def connect(endpoint: Endpoint, *, timeout: float, max_body: int = DEFAULT_MAX_BODY) -> Connection:
    """Open one connection (TCP, and TLS for https), bounded by `timeout` seconds."""
    loop = asyncio.get_running_loop()
    _, protocol = await asyncio.wait_for(
        loop.create_connection(
            lambda: Connection(loop, max_body),
            endpoint.address or endpoint.host,
            endpoint.port,
            ssl=endpoint.tls,
            server_hostname=endpoint.host if endpoint.tls else None,
        ),
        timeout,
    )
    return protocol


async def exchange(
    connection: Connection, request: Request, *, timeout: float, on_body: BodyHook | None = None
) -> Exchange:
    """Send and wait for the whole response; a timeout ends it as an error, never by raising."""
    sent = connection.send(request, on_body, deadline=clock() + timeout, timeout_reason=f"timed out after {timeout:g}s")
    return await sent.done


def describe_connect_error(error: OSError | TimeoutError) -> str:
    """A short, stable error kind for a failed connect, for counting."""
    if isinstance(error, TimeoutError):
        return "connect timed out"
    if isinstance(error, ssl.SSLError):
        return f"TLS error: {error.reason or error}"
    return f"connect failed: {error.strerror or error}"
