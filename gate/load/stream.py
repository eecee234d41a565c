"""One streamed response (Server-Sent Events or plain chunked) timed chunk by chunk.

What a user of an AI chat endpoint feels: how long until the response starts (TTFB), until the
first event or chunk shows up, the longest silence between chunks, the whole time, and whether
the stream ended cleanly. Two failures are told apart: a stream that stalls (silent past
`stall_s`, then cut off here) and one that a proxy buffered whole (everything arrived in one
burst at the very end, so the user stared at nothing and then got the whole answer at once).
"""

from __future__ import annotations

import asyncio
import itertools
import zlib
from dataclasses import dataclass, field
from typing import Any

from gate.load.wire import Endpoint, Request, clock, connect, describe_connect_error

#: zlib window bits per Content-Encoding: gzip's header, or auto-detected zlib/gzip for deflate.
INFLATE = {"gzip": 31, "deflate": 47}
#: SSE lines are kept only this long while waiting for their end: enough to see `data:`.
MAX_LINE = 64


@dataclass(frozen=True)
class StreamLimits:
    """Bounds of one stream measurement; `stall_s` is also how long to wait for the first byte."""

    stall_s: float = 10.0
    total_s: float = 60.0
    max_bytes: int = 4 * 1024 * 1024
    #: A stream counts as buffered when its first body byte came after this share of its total
    #: time and it took at least `buffered_min_ms` to arrive: a real stream starts well before it ends.
    buffered_share: float = 0.9
    buffered_min_ms: float = 100.0


@dataclass(frozen=True)
class StreamProblem:
    """A rule suffix the http check turns into a finding (`stream.stalled`, ...) and what was seen."""

    kind: str
    message: str


@dataclass(frozen=True)
class StreamResult:
    status: int
    sse: bool
    ttfb_ms: float | None
    first_byte_ms: float | None
    first_event_ms: float | None
    max_gap_ms: float | None
    total_ms: float | None
    chunks: int
    events: int
    body_bytes: int
    clean_end: bool
    stalled: bool
    buffered: bool
    error: str | None

    def problems(self, stall_s: float) -> list[StreamProblem]:
        found = []
        if self.stalled:
            found.append(
                StreamProblem(
                    "stalled",
                    f"the stream went silent for more than {stall_s:g}s after {self.chunks} chunk(s) "
                    f"and {self.events} event(s) and was cut off",
                )
            )
        elif self.error is not None:
            found.append(StreamProblem("broken", f"the stream failed: {self.error}"))
        elif not self.clean_end:
            found.append(StreamProblem("unclean-end", "the stream ended without a clean end of message"))
        elif self.first_event_ms is None:
            found.append(
                StreamProblem(
                    "empty", "the stream ended without a single event" if self.sse else "the stream was empty"
                )
            )
        if self.buffered:
            found.append(
                StreamProblem(
                    "buffered",
                    f"all {self.body_bytes} bytes arrived in one burst after {self.first_byte_ms:.0f} ms: "
                    "something between the app and the client (a proxy, a CDN, compression) buffers the stream",
                )
            )
        if self.status and not 200 <= self.status < 300:
            found.append(StreamProblem("status", f"the stream answered HTTP {self.status}"))
        return found


@dataclass
class _Timeline:
    """Chunk arrival times and, for SSE, the times of complete events that carried data.

    SSE comments (`: ping`) are heartbeats: they keep a proxy from closing the connection but
    show the user nothing, so they are neither events nor progress against the stall limit.
    """

    sse: bool
    chunks: list[float] = field(default_factory=list)
    events: list[float] = field(default_factory=list)
    partial: bytes = b""
    has_data: bool = False
    inflated: int = 0

    def chunk(self, data: bytes, at: float) -> bool:
        """Record a chunk; True when it was progress (any chunk, or for SSE a completed event)."""
        self.chunks.append(at)
        if not self.sse:
            return True
        before = len(self.events)
        lines = (self.partial + data).replace(b"\r\n", b"\n").split(b"\n")
        # A line longer than MAX_LINE is data (tokens) whatever it turns out to be; keep a stub only.
        self.partial = lines.pop()[:MAX_LINE]
        for line in lines:
            if not line:
                if self.has_data:
                    self.events.append(at)
                self.has_data = False
            elif line.startswith(b"data"):
                self.has_data = True
        return len(self.events) > before

    @property
    def progress(self) -> list[float]:
        return self.events if self.sse else self.chunks


async def measure_stream(endpoint: Endpoint, request: Request, limits: StreamLimits = StreamLimits()) -> StreamResult:
    """Open a connection, send `request`, and time its response to the end, a stall or `total_s`."""
    loop = asyncio.get_running_loop()
    started = clock()
    try:
        connection = await connect(endpoint, timeout=limits.stall_s, max_body=limits.max_bytes)
    except (TimeoutError, OSError) as error:
        return StreamResult(
            0, False, None, None, None, None, None, 0, 0, 0, False, False, False, describe_connect_error(error)
        )
    timeline = _Timeline(sse=False)
    stall: list[asyncio.TimerHandle] = []

    def arm() -> None:
        if stall:
            stall.pop().cancel()
        stall.append(loop.call_later(limits.stall_s, connection.fail, "stalled"))

    decoders: list[Any] = []

    def on_body(data: bytes, at: float) -> None:
        if not timeline.chunks:
            content_type = (sent.header("content-type") or "").lower()
            encoding = (sent.header("content-encoding") or "identity").strip().lower()
            # Events can be read through gzip and deflate; through anything else, chunks are all we see.
            timeline.sse = content_type.startswith("text/event-stream") and encoding in ("identity", *INFLATE)
            if encoding in INFLATE:
                decoders.append(zlib.decompressobj(INFLATE[encoding]))
        if decoders:
            budget = limits.max_bytes - timeline.inflated
            data = decoders[0].decompress(data, budget + 1)
            timeline.inflated += len(data)
            if decoders[0].unconsumed_tail or timeline.inflated > limits.max_bytes:
                connection.fail(f"decompressed body larger than {limits.max_bytes} bytes")
                return
        if timeline.chunk(data, at):
            arm()

    sent = connection.send(request, on_body)
    arm()
    whole = loop.call_later(limits.total_s, connection.fail, f"did not end within {limits.total_s:g}s")
    try:
        exchange = await sent.done
    finally:
        ended = clock()
        whole.cancel()
        for handle in stall:
            handle.cancel()
        connection.abort()

    def since(at: float) -> float | None:
        return (at - started) * 1000.0 if at else None

    times = timeline.progress
    # Silence is counted from the headers (or the request) to the first event or chunk, between
    # them, and, for a stream that was cut off, from the last one to the cut.
    marks = [exchange.t_head or started, *times, *([ended] if exchange.error else [])]
    gaps = [later - earlier for earlier, later in itertools.pairwise(marks)]
    total = since(exchange.t_end or ended)
    first_byte = since(exchange.t_first_body)
    buffered = (
        len(timeline.chunks) > 0
        and total is not None
        and first_byte is not None
        and total >= limits.buffered_min_ms
        and first_byte >= limits.buffered_share * total
        and (len(timeline.events) >= 2 or not timeline.sse)
        and exchange.error is None
    )
    return StreamResult(
        status=exchange.status,
        sse=timeline.sse,
        ttfb_ms=since(exchange.t_head),
        first_byte_ms=first_byte,
        # Cut off before any event: the wait so far is a lower bound, still enough to fail a budget.
        first_event_ms=since(times[0]) if times else (since(ended) if exchange.error else None),
        max_gap_ms=max(gaps) * 1000.0 if gaps else None,
        total_ms=total,
        chunks=len(timeline.chunks),
        events=len(timeline.events),
        body_bytes=exchange.body_bytes,
        clean_end=exchange.error is None,
        stalled=exchange.error == "stalled",
        buffered=buffered,
        error=exchange.error,
    )
