"""Exact percentiles, the minimum-samples rule, the client-bound rule and stepping, on known data."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gate.errors import InputError
from gate.load.generator import Cold, LoadResult
from gate.load.measure import RouteBudget
from gate.load.monitor import ClientHealth, HealthLimits
from gate.load.stats import Latencies, label, percentile, samples_needed
from gate.load.stepping import MAX_STEPS, find_safe_concurrency, levels


def test_nearest_rank_percentiles_of_one_to_hundred_are_the_values_themselves() -> None:
    ordered = [float(value) for value in range(1, 101)]
    assert percentile(ordered, 0.50) == 50.0
    assert percentile(ordered, 0.95) == 95.0
    assert percentile(ordered, 0.99) == 99.0
    assert percentile(ordered, 1.0) == 100.0


def test_ninety_fast_ten_slow_has_p95_at_the_slow_value_not_an_average() -> None:
    latencies = Latencies.of([20.0] * 90 + [250.0] * 10)
    assert latencies.at(0.50) == 20.0
    assert latencies.at(0.90) == 20.0
    assert latencies.at(0.95) == 250.0
    assert latencies.mean == pytest.approx(43.0)


def test_p99_of_fifty_requests_cannot_be_judged_but_p50_can() -> None:
    latencies = Latencies.of(range(50))
    assert not latencies.judgeable(0.99)
    assert not latencies.judgeable(0.95)
    assert latencies.judgeable(0.50)
    assert (samples_needed(0.50), samples_needed(0.95), samples_needed(0.99)) == (10, 100, 500)


def test_labels_name_percentiles_the_way_reports_do() -> None:
    assert [label(q) for q in (0.5, 0.95, 0.99, 0.999)] == ["p50", "p95", "p99", "p99.9"]


def test_percentile_refuses_empty_or_out_of_range_input() -> None:
    with pytest.raises(ValueError, match="no samples"):
        percentile([], 0.5)
    with pytest.raises(ValueError, match="outside"):
        percentile([1.0], 0.0)
    assert Latencies.of([]).at(0.5) is None


@given(
    st.lists(st.floats(min_value=0, max_value=1e6), min_size=1, max_size=300),
    st.floats(min_value=0.01, max_value=1.0),
)
def test_a_percentile_is_always_a_latency_some_request_had_and_grows_with_q(values: list[float], q: float) -> None:
    latencies = Latencies.of(values)
    found = latencies.at(q)
    assert found in values
    assert latencies.at(min(1.0, q + 0.05)) >= found  # type: ignore[operator]
    at_or_below = sum(1 for value in values if value <= found)  # type: ignore[operator]
    assert at_or_below >= q * len(values) - 1e-9


def test_client_health_names_the_reason_the_client_was_the_bottleneck() -> None:
    calm = ClientHealth(
        lag_p95_ms=1.0, lag_max_ms=3.0, lag_samples=100, thread_cpu_ratio=0.3, process_cpu_s=1, wall_s=2
    )
    assert calm.bottleneck(20.0) is None
    busy = replace(calm, thread_cpu_ratio=0.95)
    assert "busy 95%" in (busy.bottleneck(20.0) or "")
    late = replace(calm, lag_p95_ms=12.0)
    assert "12.0 ms late" in (late.bottleneck(20.0) or "")
    # Lag is judged against the latencies it distorts: 12 ms is noise beside a 2 s p50.
    assert late.bottleneck(2000.0) is None
    behind = replace(calm, dispatch_late_p95_ms=30.0)
    assert "behind schedule" in (behind.bottleneck(20.0) or "")
    assert behind.bottleneck(20.0, HealthLimits(lag_floor_ms=50)) is None


def _result(samples: int, client_bound: str | None = None) -> LoadResult:
    health = ClientHealth(0.0, 0.0, 10, 0.1, 0.1, 1.0)
    return LoadResult(
        "concurrency 1", samples, {}, Latencies.of([5.0] * samples), 1.0, Cold(5.0, 200, None), health, client_bound
    )


@pytest.mark.parametrize(
    ("result", "reason"),
    [
        (_result(50, client_bound="the gate's load thread was busy"), "could not be judged: not judged: the gate's"),
        (_result(5), "had 5 samples, 10 needed"),
    ],
)
def test_stepping_stops_where_a_number_cannot_be_judged(result: LoadResult, reason: str) -> None:
    async def run(route: str, concurrency: int) -> LoadResult:
        return _result(50) if concurrency == 1 else result

    found = asyncio.run(find_safe_concurrency([1, 2, 4], [("GET /a", RouteBudget(p50_ms=100))], run))
    assert found.safe == 1
    assert reason in found.stopped_because


def test_stepping_that_never_fails_says_so_and_is_bounded() -> None:
    async def run(route: str, concurrency: int) -> LoadResult:
        return _result(50)

    found = asyncio.run(find_safe_concurrency(levels(1, 4), [("GET /a", RouteBudget(p50_ms=100))], run))
    assert found.safe == 4 and "every step up to 4 held" in found.stopped_because
    assert len(levels(1, 512)) <= MAX_STEPS
    with pytest.raises(InputError, match="at most"):
        asyncio.run(find_safe_concurrency(list(range(1, 20)), [], run))
