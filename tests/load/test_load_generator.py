"""The load engine against uvicorn on 127.0.0.1 (HTTP and HTTPS with trustme), judged by the real policy.

Every run here is bounded by a request count (or a short duration) and the plan's deadline.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator, Sequence

import pytest

from gate.errors import InputError
from gate.load.generator import Closed, LoadPlan, LoadResult, Open, load, run_in_own_loop, run_load
from gate.load.measure import RouteBudget, route_measurements
from gate.load.monitor import HealthLimits
from gate.load.stepping import find_safe_concurrency, levels
from gate.load.wire import Endpoint, Request
from gate.model import BudgetResult, Measurement
from tests.support.helpers import judge_measurements
from tests.support.load_server import Served, serve

# The test machine is shared: only the test that is about the client's own health judges it.
RELAXED = HealthLimits(max_cpu_ratio=1.01, lag_floor_ms=1e6)


@pytest.fixture(scope="module", params=["http", "https"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serve(tmp_path_factory.mktemp("tls"), tls=request.param == "https") as served:
        yield served


@pytest.fixture(scope="module")
def plain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serve(tmp_path_factory.mktemp("plain")) as served:
        yield served


def run(served: Served, path: str, plan: LoadPlan, method: str = "GET") -> LoadResult:
    endpoint = Endpoint.parse(served.url, served.ssl_context)
    return asyncio.run(run_load(endpoint, Request.build(endpoint, method, path), plan))


def judged(measurements: Sequence[Measurement]) -> dict[str, BudgetResult]:
    budgets = judge_measurements(measurements)
    return {budget.id: budget for budget in budgets}


def test_closed_model_sends_exactly_the_planned_requests_and_not_the_warmup(server: Served) -> None:
    result = run(server, "/fast", LoadPlan(Closed(8, requests=300), warmup=20, limits=RELAXED))
    assert result.requests == 300
    assert result.latencies.count == 300
    assert result.errors == {}
    assert result.cold.status == 200 and result.cold.ms is not None
    assert 0 < result.latencies.at(0.5) < 100  # type: ignore[operator]


def test_flaky_route_error_rate_is_measured_exactly_and_fails_a_tighter_budget(plain: Served) -> None:
    result = run(plain, "/flaky", LoadPlan(Closed(4, requests=200), warmup=3, limits=RELAXED))
    assert result.errors == {"status 500": 40}
    assert result.error_rate == pytest.approx(0.20)
    loose = judged(route_measurements("GET /flaky", result, RouteBudget(error_rate=0.25)))
    tight = judged(route_measurements("GET /flaky", result, RouteBudget(error_rate=0.10)))
    assert loose["error-rate"].status == "pass"
    assert tight["error-rate"].status == "fail"
    assert tight["error-rate"].measured == pytest.approx(0.20)


def test_slow_route_passes_a_generous_budget_and_fails_a_tight_one_with_values_beside_limits(plain: Served) -> None:
    result = run(plain, "/slow?ms=40", LoadPlan(Closed(8, requests=120), warmup=8, limits=RELAXED))
    ok = judged(route_measurements("GET /slow", result, RouteBudget(p50_ms=1000, p95_ms=1000)))
    bad = judged(route_measurements("GET /slow", result, RouteBudget(p50_ms=30, p95_ms=30)))
    assert ok["latency.p50"].status == ok["latency.p95"].status == "pass"
    assert bad["latency.p50"].status == bad["latency.p95"].status == "fail"
    assert bad["latency.p95"].measured >= 38  # type: ignore[operator]
    assert bad["latency.p95"].limit == 30


def test_too_few_samples_for_p99_is_said_and_never_passed(plain: Served) -> None:
    result = run(plain, "/fast", LoadPlan(Closed(4, requests=120), warmup=0, limits=RELAXED))
    outcome = judged(route_measurements("GET /fast", result, RouteBudget(p95_ms=10_000, p99_ms=10_000)))
    assert outcome["latency.p95"].status == "pass"
    assert outcome["latency.p99"].status == "error"
    assert "only 120 samples; at least 500" in (outcome["latency.p99"].note or "")


def test_open_model_shows_queueing_a_closed_model_hides(plain: Served) -> None:
    # /capacity serves 4 at a time in 20 ms (200/s). At 400/s arrivals the queue grows; the closed
    # model, waiting politely, reports the server's own 20 ms instead.
    closed = run(plain, "/capacity", LoadPlan(Closed(4, requests=120), warmup=4, limits=RELAXED))
    opened = run(plain, "/capacity", LoadPlan(Open(400, requests=240, max_connections=64), warmup=4, limits=RELAXED))
    assert closed.latencies.at(0.95) < 60  # type: ignore[operator]
    assert opened.latencies.at(0.95) > 2 * closed.latencies.at(0.95)  # type: ignore[operator]
    assert opened.requests == 240 and opened.errors == {}


def test_open_model_at_a_gentle_rate_measures_the_servers_latency(plain: Served) -> None:
    result = run(plain, "/slow?ms=30", LoadPlan(Open(50, duration_s=1.0), warmup=2, limits=RELAXED))
    assert result.requests == 50
    assert 28 <= result.latencies.at(0.5) < 80  # type: ignore[operator]
    assert result.model == "50 requests/s"


def test_timeouts_are_errors_that_keep_their_latency(plain: Served) -> None:
    result = run(plain, "/slow?ms=3000", LoadPlan(Closed(3, requests=3), warmup=0, timeout_s=0.3, limits=RELAXED))
    assert result.errors == {"timeout": 3}
    assert result.error_rate == 1.0
    assert result.latencies.count == 3 and result.latencies.at(0.5) >= 290  # type: ignore[operator]


def test_the_run_deadline_bounds_everything_and_counts_what_was_not_done(plain: Served) -> None:
    started = time.monotonic()
    plan = LoadPlan(Closed(1, requests=20), warmup=0, timeout_s=5, deadline_s=0.6, limits=RELAXED)
    result = run(plain, "/slow?ms=200", plan)
    assert time.monotonic() - started < 3
    assert result.truncated
    assert result.requests == 20
    assert result.errors["not finished before the run's deadline"] >= 15


def test_an_open_run_cut_by_its_deadline_counts_every_owed_request_and_leaves_nothing_running(plain: Served) -> None:
    started = time.monotonic()
    plan = LoadPlan(Open(100, requests=100, max_connections=2), warmup=0, timeout_s=5, deadline_s=0.8, limits=RELAXED)
    result = run(plain, "/slow?ms=200", plan)
    assert time.monotonic() - started < 3
    assert result.truncated and result.requests == 100
    assert result.errors["not finished before the run's deadline"] > 80


def test_a_duration_run_cut_by_its_deadline_counts_what_was_in_flight(plain: Served) -> None:
    # The cold request takes 2 s of the 3 s; the three workers' 2 s requests are then cut at 3 s.
    plan = LoadPlan(Closed(3, duration_s=0.5), warmup=0, timeout_s=5, deadline_s=3, limits=RELAXED)
    result = run(plain, "/slow?ms=2000", plan)
    assert result.truncated
    assert result.errors == {"not finished before the run's deadline": 3}


def test_open_model_backlog_is_bounded_and_its_wait_is_the_servers_latency_not_the_clients(plain: Served) -> None:
    # One connection, 20 ms per answer (50/s) against 200/s due: the queue is the server's fault.
    plan = LoadPlan(Open(200, requests=60, max_connections=1), warmup=0, timeout_s=10, limits=RELAXED)
    result = run(plain, "/slow?ms=20", plan)
    assert result.errors == {} and result.requests == 60
    assert result.latencies.at(0.95) > 600  # type: ignore[operator]
    assert result.health.dispatch_late_p95_ms < 50


def test_a_refused_connection_is_an_error_not_a_fast_response() -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = run(Served(f"http://127.0.0.1:{port}"), "/fast", LoadPlan(Closed(2, requests=6), warmup=0, limits=RELAXED))
    assert result.error_rate == 1.0
    assert all(kind.startswith("connect failed") for kind in result.errors)
    assert result.latencies.count == 0
    assert result.cold.error is not None and result.cold.ms is None


def test_a_busy_client_is_detected_and_its_numbers_are_not_judged(plain: Served) -> None:
    endpoint = Endpoint.parse(plain.url)
    request = Request.build(endpoint, "GET", "/slow?ms=20")

    async def hogged() -> LoadResult:
        async def hog() -> None:
            # Something else on the gate's loop burns CPU in 30 ms slices, as a CPU-bound check would.
            while True:
                until = time.perf_counter() + 0.03
                while time.perf_counter() < until:
                    pass
                await asyncio.sleep(0)

        task = asyncio.get_running_loop().create_task(hog())
        try:
            return await load(endpoint, request, LoadPlan(Closed(4, requests=40), warmup=0))
        finally:
            task.cancel()

    result = run_in_own_loop(hogged)
    assert result.client_bound is not None
    outcome = judged(route_measurements("GET /slow", result, RouteBudget(p50_ms=10_000)))
    assert outcome["latency.p50"].status == "error"
    assert outcome["latency.p50"].measured is None
    assert "not judged" in (outcome["latency.p50"].note or "")


def test_cold_start_is_timed_apart_and_judged_against_its_own_budget(plain: Served) -> None:
    result = run(plain, "/slow?ms=60", LoadPlan(Closed(2, requests=10), warmup=2, limits=RELAXED))
    assert result.cold.ms is not None and result.cold.ms >= 55
    outcome = judged(route_measurements("GET /slow", result, RouteBudget(cold_ms=40)))
    assert outcome["cold-start"].status == "fail"
    assert judged(route_measurements("GET /slow", result, RouteBudget(cold_ms=5000)))["cold-start"].status == "pass"


def test_run_load_leaves_the_callers_loop_free_for_other_checks(plain: Served) -> None:
    endpoint = Endpoint.parse(plain.url)

    async def main() -> tuple[int, LoadResult]:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        task = asyncio.get_running_loop().create_task(ticker())
        plan = LoadPlan(Closed(2, requests=10), warmup=0, limits=RELAXED)
        result = await run_load(endpoint, Request.build(endpoint, "GET", "/slow?ms=50"), plan)
        task.cancel()
        return ticks, result

    ticks, result = asyncio.run(main())
    assert result.requests == 10 and result.errors == {}
    assert ticks >= 10  # the run took ~300 ms; a blocked caller's loop would not have ticked


def test_post_bodies_are_sent_with_their_length(plain: Served) -> None:
    endpoint = Endpoint.parse(plain.url)
    request = Request.build(endpoint, "POST", "/login", {"Content-Type": "application/json"}, b'{"password": "pw"}')
    result = asyncio.run(run_load(endpoint, request, LoadPlan(Closed(2, requests=10), warmup=0, limits=RELAXED)))
    assert result.errors == {}


def test_safe_concurrency_is_the_last_level_where_every_budget_held(plain: Served) -> None:
    endpoint = Endpoint.parse(plain.url)

    async def at(route: str, concurrency: int) -> LoadResult:
        plan = LoadPlan(Closed(concurrency, requests=40), warmup=concurrency, limits=RELAXED)
        return await run_load(endpoint, Request.build(endpoint, "GET", route), plan)

    # /capacity holds 20 ms up to 4 in flight and queues beyond: a p50 budget of 30 ms holds up to 4.
    found = asyncio.run(find_safe_concurrency(levels(1, 16), [("/capacity", RouteBudget(p50_ms=30))], at))
    assert found.safe == 4
    assert [step.concurrency for step in found.steps] == [1, 2, 4, 8]
    assert "at concurrency 8" in found.stopped_because and "p50" in found.stopped_because


def test_plans_and_requests_refuse_unbounded_or_unsafe_input() -> None:
    endpoint = Endpoint.parse("http://127.0.0.1:1")
    with pytest.raises(InputError, match="exactly one"):
        LoadPlan(Closed(4))
    with pytest.raises(InputError, match="requests must be"):
        LoadPlan(Closed(4, requests=10**9))
    with pytest.raises(InputError, match="rate x duration"):
        LoadPlan(Open(10_000, duration_s=100), deadline_s=200)
    with pytest.raises(InputError, match="line break"):
        Request.build(endpoint, "GET", "/", {"X-A": "b\r\nInjected: 1"})
    with pytest.raises(InputError, match="cannot be load-tested"):
        Request.build(endpoint, "HEAD", "/")
    with pytest.raises(InputError, match="not an http"):
        Endpoint.parse("ftp://example.com")
    with pytest.raises(InputError):
        levels(8, 4)


def test_requests_carry_host_and_base_path_of_the_url() -> None:
    endpoint = Endpoint.parse("https://preview.example.com/api/")
    raw = Request.build(endpoint, "GET", "/items", {"Authorization": "Bearer t"}).raw
    assert raw.startswith(b"GET /api/items HTTP/1.1\r\nHost: preview.example.com\r\n")
    assert b"Authorization: Bearer t\r\n" in raw and raw.endswith(b"\r\n\r\n")
    assert Endpoint.parse("http://[::1]:8080").host_header == "[::1]:8080"


def test_progress_hears_requests_done_of_planned_while_a_load_runs(plain: Served) -> None:
    heard: list[tuple[int, int | None]] = []
    endpoint = Endpoint.parse(plain.url, plain.ssl_context)
    plan = LoadPlan(Closed(2, requests=40), warmup=0, limits=RELAXED)
    result = asyncio.run(
        run_load(
            endpoint,
            Request.build(endpoint, "GET", "/slow?ms=80"),
            plan,
            lambda done, planned: heard.append((done, planned)),
        )
    )
    assert result.requests == 40
    assert heard[0] == (0, 40) and heard[-1] == (40, 40)
    assert len(heard) >= 3 and [done for done, _ in heard] == sorted(done for done, _ in heard)
