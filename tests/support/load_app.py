"""A real ASGI app with routes whose behaviour is known exactly, served by uvicorn in the load tests.

Deterministic on purpose: the flaky route fails every fifth request (20 % errors), the
distribution route is slow on every tenth (90 % at 20 ms, 10 % at 250 ms), the limited login
answers 429 from its sixth request per `key`, so tests can assert exact numbers.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import zlib
from collections import Counter
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qs

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_flaky = itertools.count()
_distribution = itertools.count()
_attempts: Counter[str] = Counter()
_capacity: asyncio.Semaphore | None = None


async def _body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


async def _respond(
    send: Send, status: int, body: bytes = b"ok", headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain"),
                (b"content-length", str(len(body)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _stream(send: Send, content_type: bytes, parts: list[tuple[float, bytes]]) -> None:
    """Send each part after its delay, chunked (no content-length), then end the stream cleanly."""
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", content_type)]})
    for delay, part in parts:
        await asyncio.sleep(delay)
        await send({"type": "http.response.body", "body": part, "more_body": True})
    await send({"type": "http.response.body", "body": b""})


def _events(count: int, gap: float) -> list[tuple[float, bytes]]:
    return [(gap, f"data: token {index}\n\n".encode()) for index in range(count)]


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            else:
                await send({"type": "lifespan.shutdown.complete"})
                return
    path = scope["path"]
    query = {key: values[0] for key, values in parse_qs(scope["query_string"].decode()).items()}
    headers = dict(scope["headers"])
    global _capacity
    if path == "/fast":
        await _respond(send, 200)
    elif path == "/slow":
        await asyncio.sleep(float(query.get("ms", "40")) / 1000.0)
        await _respond(send, 200)
    elif path == "/flaky":
        await _respond(send, 500 if next(_flaky) % 5 == 4 else 200)
    elif path == "/distribution":
        await asyncio.sleep(0.250 if next(_distribution) % 10 == 9 else 0.020)
        await _respond(send, 200)
    elif path == "/capacity":
        # Four requests at a time take 20 ms each; more queue behind them, like a small worker pool.
        _capacity = _capacity or asyncio.Semaphore(4)
        async with _capacity:
            await asyncio.sleep(0.02)
        await _respond(send, 200)
    elif path == "/login":
        fields = json.loads(await _body(receive) or b"{}")
        if fields.get("password") == "pw":
            body = json.dumps({"data": {"access_token": "good-token"}}).encode()
            await _respond(send, 200, body, [(b"x-kind", b"json")])
        else:
            await _respond(send, 401, b"bad credentials")
    elif path == "/private":
        authorized = headers.get(b"authorization") == b"Bearer good-token"
        await _respond(send, 200 if authorized else 401, b"secret data" if authorized else b"no")
    elif path == "/sse":
        await _stream(send, b"text/event-stream", _events(5, 0.02))
    elif path == "/chunked":
        await _stream(send, b"text/plain", [(0.02, b"x" * 100) for _ in range(5)])
    elif path == "/stall":
        await _stream(send, b"text/event-stream", [*_events(2, 0.01), (3.0, b"data: late\n\n")])
    elif path == "/heartbeat":
        # One token, then only comments: a proxy sees traffic, the user sees nothing more.
        await _stream(send, b"text/event-stream", [(0.01, b"data: hello\n\n"), *[(0.05, b": ping\n\n")] * 12])
    elif path == "/split":
        # Events cut mid-line and across chunks, with CRLF line ends and a multi-line event.
        parts = [b"data: a", b"b\r\n", b"\r\nda", b"ta: x\ndata: y\n", b"\n", b"event: end\ndata: z\n\n"]
        await _stream(send, b"text/event-stream", [(0.01, part) for part in parts])
    elif path == "/sse-gzip":
        # A well-behaved compressing server flushes after each event, so the stream still streams.
        packer = zlib.compressobj(wbits=31)
        parts = [packer.compress(part) + packer.flush(zlib.Z_SYNC_FLUSH) for _, part in _events(4, 0)]
        parts.append(packer.flush())
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/event-stream"), (b"content-encoding", b"gzip")],
            }
        )
        for part in parts:
            await asyncio.sleep(0.02)
            await send({"type": "http.response.body", "body": part, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
    elif path == "/gzip-bomb":
        bomb = zlib.compressobj(wbits=31)
        body = bomb.compress(b"data: " + b"0" * 2_000_000 + b"\n\n") + bomb.flush()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/event-stream"), (b"content-encoding", b"gzip")],
            }
        )
        await send({"type": "http.response.body", "body": body})
    elif path == "/empty-sse":
        await _stream(send, b"text/event-stream", [(0.01, b": only a comment\n\n")])
    elif path == "/buffered":
        await asyncio.sleep(0.3)
        await _stream(send, b"text/event-stream", [(0.0, b"".join(part for _, part in _events(5, 0)))])
    elif path == "/login-limited":
        key = query.get("key", "")
        _attempts[key] += 1
        await _respond(send, 429 if _attempts[key] > 5 else 401, headers=[(b"retry-after", b"60")])
    elif path == "/login-open":
        await _respond(send, 401)
    elif path == "/login-signal":
        key = query.get("key", "")
        _attempts[key] += 1
        # Some stacks slow down or lock accounts instead of answering 429; this one says so in a header.
        locked = [(b"x-account-locked", b"1")] if _attempts[key] > 3 else []
        await _respond(send, 401, headers=locked)
    else:
        await _respond(send, 404, b"not found")
