"""The protocol-level client against raw loopback servers that misbehave in exactly one way each."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from gate.load.generator import Closed, LoadPlan, load
from gate.load.monitor import HealthLimits
from gate.load.stream import StreamLimits, measure_stream
from gate.load.wire import Endpoint, Exchange, Request, connect, exchange
from tests.support.load_server import serve

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def _read_request(reader: asyncio.StreamReader) -> None:
    await reader.readuntil(b"\r\n\r\n")


def one_exchange(handler: Handler, timeout: float = 2.0) -> Exchange:
    async def main() -> Exchange:
        server = await asyncio.start_server(handler, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        endpoint = Endpoint.parse(f"http://127.0.0.1:{port}")
        try:
            connection = await connect(endpoint, timeout=timeout)
            return await exchange(connection, Request.build(endpoint, "GET", "/"), timeout=timeout)
        finally:
            server.close()

    return asyncio.run(main())


def test_a_body_ended_by_closing_the_connection_is_a_complete_response() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nhello")
        await writer.drain()
        writer.close()

    result = one_exchange(handler)
    assert result.error is None and result.status == 200 and result.body_bytes == 5


def test_a_connection_closed_before_the_promised_length_is_an_error() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort")
        await writer.drain()
        writer.close()

    assert one_exchange(handler).error == "connection closed before the response ended"


def test_garbage_instead_of_http_is_a_protocol_error() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(b"SSH-2.0-OpenSSH_9.0\r\n\r\n")
        await writer.drain()
        await asyncio.sleep(0.5)
        writer.close()

    error = one_exchange(handler).error
    assert error is not None and error.startswith("protocol error")


def test_a_server_that_never_answers_times_out_as_an_error() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        await asyncio.sleep(2)
        writer.close()

    assert one_exchange(handler, timeout=0.2).error == "timed out after 0.2s"


def test_bodies_past_the_size_bound_are_cut_off(tmp_path: Path) -> None:
    with serve(tmp_path) as served:
        endpoint = Endpoint.parse(served.url)
        result = asyncio.run(
            measure_stream(endpoint, Request.build(endpoint, "GET", "/chunked"), StreamLimits(max_bytes=150))
        )
    assert result.error == "body larger than 150 bytes"


def test_an_untrusted_certificate_is_a_tls_error_not_a_response(tmp_path: Path) -> None:
    with serve(tmp_path, tls=True) as served:
        endpoint = Endpoint.parse(served.url)  # the default context does not trust the test CA
        plan = LoadPlan(Closed(1, requests=2), warmup=0, limits=HealthLimits(lag_floor_ms=1e6, max_cpu_ratio=1.01))
        result = asyncio.run(load(endpoint, Request.build(endpoint, "GET", "/fast"), plan))
    assert result.cold.error is not None and result.cold.error.startswith("TLS error")
    assert result.error_rate == 1.0
    assert all(kind.startswith("TLS error") for kind in result.errors)


@pytest.mark.parametrize("status", [204, 304])
def test_responses_without_a_body_end_at_their_headers(status: int) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(f"HTTP/1.1 {status} X\r\n\r\n".encode())
        await writer.drain()
        await asyncio.sleep(1)
        writer.close()

    result = one_exchange(handler, timeout=0.5)
    assert result.error is None and result.status == status


def test_early_hints_before_the_answer_are_skipped() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(b"HTTP/1.1 103 Early Hints\r\nLink: </app.css>; rel=preload\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()
        await asyncio.sleep(1)
        writer.close()

    result = one_exchange(handler, timeout=0.5)
    assert result.error is None and result.status == 200 and result.body_bytes == 2
    assert result.header("link") is None and result.header("content-length") == "2"


def test_a_protocol_switch_is_an_error_not_a_hang() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x00")
        await writer.drain()
        await asyncio.sleep(1)
        writer.close()

    error = one_exchange(handler, timeout=0.5).error
    assert error is not None and "switched protocols" in error
