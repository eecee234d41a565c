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
from dataclasses import dataclass, field

from gate.load.wire import Endpoint, Request, clock, connect, describe_connect_error


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
    sse: bool
    times: list[float] = field(default_factory=list)
    events: int = 0
    first_event: float | None = None
    tail: bytes = b""

    def chunk(self, data: bytes, at: float) -> None:
        self.times.append(at)
        if not self.sse:
            return
        # Carry the last byte so a blank line split across two chunks still counts once.
        window = self.tail + data.replace(b"\r\n", b"\n")
        found = window.count(b"\n\n")
        if found:
            self.events += found
            if self.first_event is None:
                self.first_event = at
        self.tail = window[-1:]


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

    def on_body(data: bytes, at: float) -> None:
        if not timeline.times:
            content_type = (sent.header("content-type") or "").lower()
            timeline.sse = content_type.startswith("text/event-stream")
        timeline.chunk(data, at)
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

    times = timeline.times
    # Silence is counted from the headers (or the request) to the first chunk, between chunks, and,
    # for a stream that was cut off, from its last chunk to the cut.
    marks = [exchange.t_head or started, *times, *([ended] if exchange.error else [])]
    gaps = [later - earlier for earlier, later in itertools.pairwise(marks)]
    total = since(exchange.t_end or ended)
    first_byte = since(exchange.t_first_body)
    buffered = (
        len(times) > 0
        and total is not None
        and first_byte is not None
        and total >= limits.buffered_min_ms
        and first_byte >= limits.buffered_share * total
        and (timeline.events >= 2 or not timeline.sse)
        and exchange.error is None
    )
    return StreamResult(
        status=exchange.status,
        sse=timeline.sse,
        ttfb_ms=since(exchange.t_head),
        first_byte_ms=first_byte,
        first_event_ms=since(timeline.first_event) if timeline.first_event else first_byte,
        max_gap_ms=max(gaps) * 1000.0 if gaps else None,
        total_ms=total,
        chunks=len(times),
        events=timeline.events,
        body_bytes=exchange.body_bytes,
        clean_end=exchange.error is None,
        stalled=exchange.error == "stalled",
        buffered=buffered,
        error=exchange.error,
    )
