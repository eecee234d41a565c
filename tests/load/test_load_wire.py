"""The protocol-level client against raw loopback servers that misbehave in exactly one way each."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from gate.load.generator import Closed, LoadPlan, LoadResult, load
from gate.load.monitor import HealthLimits
from gate.load.stream import StreamLimits, measure_stream
from gate.load.wire import MAX_HEADERS, Connection, Endpoint, Exchange, Request, clock, connect, exchange
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


@pytest.mark.parametrize(
    "head", [b"Content-Length: 100\r\n\r\nshort", b"Transfer-Encoding: chunked\r\n\r\n5\r\nshort\r\n"]
)
def test_a_connection_closed_before_the_promised_length_is_an_error(head: bytes) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nServer: x\r\n" + head)
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


def _served_in_turn(answers: list[bytes | float]) -> Handler:
    """Reads a request before each bytes answer; a float delays the next answer after its request."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        pause = 0.0
        for answer in answers:
            if isinstance(answer, float):
                pause = answer
                continue
            await _read_request(reader)
            await asyncio.sleep(pause)
            pause = 0.0
            writer.write(answer)
            await writer.drain()
        await asyncio.sleep(2)
        writer.close()

    return handler


async def _on_one_connection(handler: Handler, sends: Callable[[Connection, Request], Awaitable[None]]) -> None:
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    endpoint = Endpoint.parse(f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}")
    try:
        connection = await connect(endpoint, timeout=2)
        await sends(connection, Request.build(endpoint, "GET", "/"))
        connection.abort()
    finally:
        server.close()


def test_a_reused_connection_times_out_each_request_at_its_own_deadline_never_at_an_earlier_ones() -> None:
    ok = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
    # The second answer comes 0.3 s after its request: past the first request's deadline, within its own.
    handler = _served_in_turn([ok, 0.3, ok])
    seen: list[tuple[str | None, float]] = []

    async def sends(connection: Connection, request: Request) -> None:
        for _ in range(3):
            started = clock()
            sent = connection.send(request, deadline=started + 0.4, timeout_reason="timed out after 0.4s")
            answer = await sent.done
            seen.append((answer.error, clock() - started))
            await asyncio.sleep(0.2)

    asyncio.run(_on_one_connection(handler, sends))
    assert [error for error, _ in seen] == [None, None, "timed out after 0.4s"]
    assert seen[1][1] >= 0.3
    assert seen[2][1] >= 0.4  # a timeout is never reported before its deadline


def test_bytes_after_an_answer_never_become_the_answer_to_a_request_sent_as_it_ended() -> None:
    # A server that answers one request twice in one write, then answers the next with 201.
    handler = _served_in_turn(
        [
            b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1 503 No\r\nContent-Length: 0\r\n\r\n",
            0.1,
            b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n",
        ]
    )
    answers: list[Exchange] = []

    async def sends(connection: Connection, request: Request) -> None:
        second: asyncio.Future[Exchange] = asyncio.get_running_loop().create_future()

        def then(first: Exchange) -> None:
            answers.append(first)
            # Sent from inside the callback that ended the first request, as the load lanes do.
            connection.send(request, on_end=second.set_result, deadline=clock() + 2)

        connection.send(request, on_end=then, deadline=clock() + 2)
        answers.append(await second)

    asyncio.run(_on_one_connection(handler, sends))
    assert [answer.status for answer in answers] == [200, 201]


def test_closed_lanes_whose_server_closes_every_third_connection_reconnect_and_count_every_request() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for turn in range(3):
            await _read_request(reader)
            close = b"Connection: close\r\n" if turn == 2 else b""
            writer.write(b"HTTP/1.1 200 OK\r\n" + close + b"Content-Length: 2\r\n\r\nok")
            await writer.drain()
        writer.close()

    async def main() -> LoadResult:
        server = await asyncio.start_server(handler, "127.0.0.1", 0)
        endpoint = Endpoint.parse(f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}")
        plan = LoadPlan(Closed(4, requests=60), warmup=5, limits=HealthLimits(lag_floor_ms=1e6, max_cpu_ratio=1.01))
        try:
            return await load(endpoint, Request.build(endpoint, "GET", "/"), plan)
        finally:
            server.close()

    result = asyncio.run(main())
    assert (result.requests, result.errors, result.latencies.count) == (60, {}, 60)


def test_a_head_split_over_several_writes_is_read_whole_and_frames_its_body() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        for piece in (b"HTTP/1.1 200 OK\r\nX-First: 1\r\n", b"Content-Le", b"ngth: 10\r\nX-Last: 2\r\n\r\nshort"):
            writer.write(piece)
            await writer.drain()
            await asyncio.sleep(0.05)
        writer.close()

    result = one_exchange(handler)
    assert result.error == "connection closed before the response ended"
    assert (result.header("x-first"), result.header("content-length"), result.header("x-last")) == ("1", "10", "2")


def test_headers_are_read_only_within_their_bounds() -> None:
    many = b"".join(b"X-%d: %d\r\n" % (n, n) for n in range(MAX_HEADERS + 50))

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\n" + many + b"Content-Length: 2\r\n\r\nok")
        await writer.drain()
        await asyncio.sleep(1)
        writer.close()

    result = one_exchange(handler, timeout=0.5)
    assert result.error is None and len(result.headers) == MAX_HEADERS
    assert result.header("x-0") == "0" and result.header(f"x-{MAX_HEADERS}") is None


def test_a_duration_bound_closed_run_stops_sending_at_its_end_and_counts_what_it_sent() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while True:
                await _read_request(reader)
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                await writer.drain()

    async def main() -> LoadResult:
        server = await asyncio.start_server(handler, "127.0.0.1", 0)
        endpoint = Endpoint.parse(f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}")
        plan = LoadPlan(Closed(3, duration_s=0.3), warmup=3, limits=HealthLimits(lag_floor_ms=1e6, max_cpu_ratio=1.01))
        try:
            return await load(endpoint, Request.build(endpoint, "GET", "/"), plan)
        finally:
            server.close()

    result = asyncio.run(main())
    assert result.requests > 10 and result.errors == {} and result.latencies.count == result.requests
    assert 0.3 <= result.duration_s < 1.0


def test_lanes_whose_server_goes_away_count_each_refused_reconnect_as_an_error_without_latency() -> None:
    served = 0

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal served
        await _read_request(reader)
        served += 1
        writer.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()
        writer.close()
        if served == 5:
            server.close()  # every later connect is refused

    async def main() -> LoadResult:
        nonlocal server
        server = await asyncio.start_server(handler, "127.0.0.1", 0)
        endpoint = Endpoint.parse(f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}")
        plan = LoadPlan(Closed(2, requests=40), warmup=0, limits=HealthLimits(lag_floor_ms=1e6, max_cpu_ratio=1.01))
        return await load(endpoint, Request.build(endpoint, "GET", "/"), plan)

    server: asyncio.Server
    result = asyncio.run(main())
    refused = sum(count for kind, count in result.errors.items() if kind.startswith("connect failed"))
    assert result.requests == 40 and refused >= 30
    assert result.latencies.count == result.requests - refused  # a refused connect never looks fast
