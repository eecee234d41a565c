"""Streamed responses and rate-limit bursts against uvicorn on 127.0.0.1 (HTTPS with trustme for streams)."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Iterator, Sequence

import pytest

from gate.errors import InputError
from gate.load.measure import StreamBudget, stream_measurements
from gate.load.ratelimit import BurstResult, LimitSignal, burst_probe
from gate.load.stream import StreamLimits, StreamResult, measure_stream
from gate.load.wire import Endpoint, Request
from gate.model import BudgetResult, Measurement
from tests.support.helpers import judge_measurements
from tests.support.load_server import Served, serve

_keys = itertools.count()
SHORT = StreamLimits(stall_s=2, total_s=10)
RATE_LIMITED = LimitSignal()


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serve(tmp_path_factory.mktemp("tls"), tls=True) as served:
        yield served


def stream(served: Served, path: str, limits: StreamLimits = SHORT) -> StreamResult:
    endpoint = Endpoint.parse(served.url, served.ssl_context)
    return asyncio.run(measure_stream(endpoint, Request.build(endpoint, "GET", path), limits))


def burst(served: Served, path: str, limit: int, signal: LimitSignal = RATE_LIMITED) -> BurstResult:
    endpoint = Endpoint.parse(served.url, served.ssl_context)
    # A fresh key per probe: the app counts attempts per key, as a real limiter counts per account.
    request = Request.build(endpoint, "POST", f"{path}?key=k{next(_keys)}", body=b"{}")
    return asyncio.run(burst_probe(endpoint, request, limit=limit, signal=signal, timeout_s=5, deadline_s=20))


def judged(measurements: Sequence[Measurement]) -> dict[str, BudgetResult]:
    budgets = judge_measurements(measurements)
    return {budget.id: budget for budget in budgets}


def test_sse_stream_reports_first_event_gaps_total_and_a_clean_end(tls_server: Served) -> None:
    result = stream(tls_server, "/sse")
    assert result.sse and result.status == 200
    assert result.events == 5
    assert result.clean_end and not result.stalled and not result.buffered
    assert result.ttfb_ms is not None and result.first_event_ms is not None and result.total_ms is not None
    assert result.ttfb_ms <= result.first_event_ms <= result.total_ms
    assert 15 <= result.first_event_ms < 500
    assert 15 <= result.max_gap_ms < 500  # type: ignore[operator]
    assert result.total_ms >= 100  # five events 20 ms apart
    assert result.problems(2) == []
    outcome = judged(stream_measurements("GET /sse", result, StreamBudget(first_event_ms=1000, max_gap_ms=1000)))
    assert outcome["stream.first-event"].status == outcome["stream.max-gap"].status == "pass"


def test_chunked_stream_counts_chunks_without_sse_events(tls_server: Served) -> None:
    result = stream(tls_server, "/chunked")
    assert not result.sse and result.events == 0
    assert result.chunks == 5 and result.body_bytes == 500
    assert result.clean_end and result.first_event_ms == result.first_byte_ms


def test_a_stalling_stream_is_cut_off_at_the_stall_limit_and_fails_its_gap_budget(tls_server: Served) -> None:
    started = time.monotonic()
    result = stream(tls_server, "/stall", StreamLimits(stall_s=0.5, total_s=10))
    assert time.monotonic() - started < 2.5  # the route goes silent for 3 s; the probe does not wait for it
    assert result.stalled and not result.clean_end
    assert result.events == 2
    assert result.max_gap_ms is not None and result.max_gap_ms >= 480
    assert [problem.kind for problem in result.problems(0.5)] == ["stalled"]
    outcome = judged(stream_measurements("GET /stall", result, StreamBudget(max_gap_ms=400)))
    assert outcome["stream.max-gap"].status == "fail"
    assert "stalled" in (outcome["stream.max-gap"].note or "")


def test_heartbeats_are_not_progress_so_a_stream_of_pings_stalls(tls_server: Served) -> None:
    result = stream(tls_server, "/heartbeat", StreamLimits(stall_s=0.3, total_s=10))
    assert result.stalled and result.events == 1
    assert result.chunks > 3  # the pings did arrive
    assert result.max_gap_ms is not None and result.max_gap_ms >= 290


def test_events_split_across_chunks_and_crlf_lines_are_counted_once_each(tls_server: Served) -> None:
    result = stream(tls_server, "/split")
    assert result.clean_end and result.chunks == 6
    assert result.events == 3


def test_gzip_compressed_events_are_read_through_the_compression(tls_server: Served) -> None:
    endpoint = Endpoint.parse(tls_server.url, tls_server.ssl_context)
    request = Request.build(endpoint, "GET", "/sse-gzip", {"Accept-Encoding": "gzip"})
    result = asyncio.run(measure_stream(endpoint, request, SHORT))
    assert result.sse and result.clean_end and result.events == 4
    assert not result.buffered and result.problems(2) == []


def test_a_compression_bomb_is_cut_off_at_the_size_bound(tls_server: Served) -> None:
    endpoint = Endpoint.parse(tls_server.url, tls_server.ssl_context)
    request = Request.build(endpoint, "GET", "/gzip-bomb", {"Accept-Encoding": "gzip"})
    result = asyncio.run(measure_stream(endpoint, request, StreamLimits(max_bytes=100_000)))
    assert result.error == "decompressed body larger than 100000 bytes"


def test_a_stream_without_any_event_is_a_problem(tls_server: Served) -> None:
    result = stream(tls_server, "/empty-sse")
    assert result.clean_end and result.events == 0 and result.first_event_ms is None
    assert [problem.kind for problem in result.problems(2)] == ["empty"]


def test_a_stream_delivered_whole_at_the_end_is_flagged_as_buffered(tls_server: Served) -> None:
    result = stream(tls_server, "/buffered")
    assert result.buffered and result.clean_end
    assert result.events == 5
    assert [problem.kind for problem in result.problems(2)] == ["buffered"]


def test_the_total_time_bound_ends_a_stream_that_outlives_it(tls_server: Served) -> None:
    started = time.monotonic()
    result = stream(tls_server, "/stall", StreamLimits(stall_s=5, total_s=0.4))
    assert time.monotonic() - started < 2
    assert not result.stalled and not result.clean_end
    assert result.error == "did not end within 0.4s"
    assert [problem.kind for problem in result.problems(5)] == ["broken"]


def test_a_stream_error_status_is_a_problem(tls_server: Served) -> None:
    result = stream(tls_server, "/nothing-here")
    assert result.status == 404
    assert "status" in [problem.kind for problem in result.problems(2)]


def test_limited_login_meets_429_on_the_sixth_attempt_and_the_probe_stops_there(tls_server: Served) -> None:
    result = burst(tls_server, "/login-limited", limit=20)
    assert result.limited and result.limited_at == 6 and result.sent == 6
    assert result.signal == "HTTP 429"
    assert result.retry_after == "60"
    assert result.statuses == {401: 5, 429: 1}


def test_unlimited_login_is_reported_after_exactly_the_burst_size(tls_server: Served) -> None:
    result = burst(tls_server, "/login-open", limit=15)
    assert not result.limited and result.limited_at is None
    assert result.sent == 15 and result.statuses == {401: 15}


def test_a_configured_header_counts_as_the_limit_signal(tls_server: Served) -> None:
    result = burst(tls_server, "/login-signal", limit=10, signal=LimitSignal(header="X-Account-Locked"))
    assert result.limited_at == 4 and result.signal == "header X-Account-Locked"
    assert not burst(tls_server, "/login-signal", limit=3, signal=LimitSignal(header="X-Account-Locked")).limited


def test_a_burst_size_out_of_bounds_is_bad_input() -> None:
    endpoint = Endpoint.parse("http://127.0.0.1:1")
    with pytest.raises(InputError, match="1 to 1000"):
        asyncio.run(burst_probe(endpoint, Request.build(endpoint, "GET", "/"), limit=5000))
