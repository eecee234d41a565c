"""Load, cold-start and stream results as `gate.model.Measurement`s carrying their `Budget`s.

The policy judges; this module only decides what a number is and how many samples it needs to
mean something. A percentile needs `samples_needed(q)` samples (p95: 100, p99: 500); an error
rate below a limit needs about 3/limit requests (the "rule of three": with no error in n
requests, the true rate is below 3/n with 95 % confidence). A run where the client was the
bottleneck yields no value at all, and says why, so the policy reports "cannot judge".
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from gate.load.generator import LoadResult
from gate.load.stats import DEFAULT_TAIL_SAMPLES, label, samples_needed
from gate.load.stream import StreamResult
from gate.model import Budget, Measurement

CHECK = "http"


@dataclass(frozen=True)
class RouteBudget:
    """A route's limits after its class preset and gate.yml overrides; None means not budgeted."""

    p50_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None
    error_rate: float | None = None
    cold_ms: float | None = None
    min_samples: int = 0
    tail_samples: int = DEFAULT_TAIL_SAMPLES
    warn_only: bool = False

    def percentiles(self) -> list[tuple[float, float]]:
        return [
            (q, limit)
            for q, limit in ((0.50, self.p50_ms), (0.95, self.p95_ms), (0.99, self.p99_ms))
            if limit is not None
        ]


@dataclass(frozen=True)
class StreamBudget:
    first_event_ms: float | None = None
    max_gap_ms: float | None = None
    total_ms: float | None = None
    warn_only: bool = False


def error_rate_samples(limit: float) -> int:
    """Requests needed before "no more than `limit` errors" can be claimed from a clean run."""
    return math.ceil(3.0 / limit) if limit > 0 else 1


def _context(result: LoadResult) -> str:
    text = f"{result.requests} requests at {result.model} in {result.duration_s:.1f}s"
    if result.errors:
        kinds = ", ".join(
            f"{count}x {kind}" for kind, count in sorted(result.errors.items(), key=lambda item: -item[1])
        )
        text += f"; errors: {kinds}"
    if result.truncated:
        text += "; the run hit its deadline"
    return text


def latency_measurement(
    route: str, q: float, limit: float, value: float | None, samples: int, budget: RouteBudget, note: str, check: str
) -> Measurement:
    """One percentile against its limit, needing enough samples for that percentile to mean something."""
    return Measurement(
        name=f"latency.{label(q)}",
        subject=route,
        value=value,
        unit="ms",
        check=check,
        samples=samples,
        budget=Budget(
            limit,
            min_samples=max(budget.min_samples, samples_needed(q, budget.tail_samples)),
            warn_only=budget.warn_only,
        ),
        note=note,
    )


def error_rate_measurement(
    route: str, value: float | None, requests: int, budget: RouteBudget, note: str, check: str
) -> Measurement:
    assert budget.error_rate is not None
    return Measurement(
        name="error-rate",
        subject=route,
        value=value,
        unit="ratio",
        check=check,
        samples=requests,
        budget=Budget(
            budget.error_rate,
            min_samples=max(budget.min_samples, error_rate_samples(budget.error_rate)),
            warn_only=budget.warn_only,
        ),
        note=note,
    )


def route_measurements(route: str, result: LoadResult, budget: RouteBudget, *, check: str = CHECK) -> list[Measurement]:
    """Percentiles, error rate and cold start of one route's run, each with its budget."""
    context = _context(result)
    measurements = []
    for q, limit in budget.percentiles():
        if result.client_bound is not None:
            value, note = None, f"not judged: {result.client_bound}"
        else:
            value, note = result.latencies.at(q), context
        measurements.append(latency_measurement(route, q, limit, value, result.latencies.count, budget, note, check))
    if budget.error_rate is not None:
        measurements.append(error_rate_measurement(route, result.error_rate, result.requests, budget, context, check))
    if budget.cold_ms is not None:
        cold = result.cold
        measurements.append(
            Measurement(
                name="cold-start",
                subject=route,
                value=cold.ms,
                unit="ms",
                check=check,
                budget=Budget(budget.cold_ms, warn_only=budget.warn_only),
                note=cold.error or "first request on a fresh connection, connect and TLS included",
            )
        )
    return measurements


def stream_measurements(
    route: str, result: StreamResult, budget: StreamBudget, *, check: str = CHECK
) -> list[Measurement]:
    """First event, longest silence and total time of one streamed response, each with its budget."""
    rows = (
        ("stream.first-event", result.first_event_ms, budget.first_event_ms),
        ("stream.max-gap", result.max_gap_ms, budget.max_gap_ms),
        ("stream.total", result.total_ms, budget.total_ms),
    )
    note = f"{result.chunks} chunks, {result.events} events"
    if result.error:
        # A cut-off stream's gap and total are lower bounds: still enough to fail a budget.
        note += f"; {result.error}, cut off at {result.total_ms or 0:.0f} ms"
    return [
        Measurement(
            name=name,
            subject=route,
            value=value,
            unit="ms",
            check=check,
            budget=Budget(limit, warn_only=budget.warn_only),
            note=note,
        )
        for name, value, limit in rows
        if limit is not None
    ]
