"""The "known safe concurrency": step the load up (bounded) until a route misses its budget.

Each step runs every route at one concurrency for a fixed number of requests and judges the
measurements the same way the policy does. Stepping stops at the first level where any route
fails, where a number cannot be judged (too few samples), or where the gate itself became the
bottleneck; the answer is the highest level before that, with the reason it went no higher.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from gate.errors import InputError
from gate.load.generator import MAX_CONNECTIONS, LoadResult
from gate.load.measure import RouteBudget, route_measurements
from gate.model import Measurement

MAX_STEPS = 12


@dataclass(frozen=True)
class Step:
    concurrency: int
    passed: bool
    reason: str | None


@dataclass(frozen=True)
class SafeConcurrency:
    """`safe` is the highest level at which every route met its budget, None if not even the first."""

    safe: int | None
    steps: tuple[Step, ...]
    stopped_because: str


def _verdict(measurements: Sequence[Measurement]) -> str | None:
    """Why this set of measurements does not pass; None when every budget holds."""
    for measurement in measurements:
        budget = measurement.budget
        if budget is None:
            continue
        where = f"{measurement.subject} {measurement.name}"
        if measurement.value is None:
            return f"{where} could not be judged: {measurement.note}"
        if measurement.samples < budget.min_samples:
            return f"{where} had {measurement.samples} samples, {budget.min_samples} needed"
        over = measurement.value > budget.limit if budget.comparison == "max" else measurement.value < budget.limit
        if over:
            return f"{where} measured {measurement.value:g} {measurement.unit} against {budget.limit:g}"
    return None


def levels(start: int, stop: int, factor: float = 2.0) -> list[int]:
    """Geometric steps from `start` to `stop` inclusive, at most MAX_STEPS of them."""
    if not 0 < start <= stop <= MAX_CONNECTIONS or factor <= 1.0:
        raise InputError(
            f"concurrency steps must go up from 1 to at most {MAX_CONNECTIONS}", hint="fix the step range in gate.yml"
        )
    found = [start]
    while found[-1] < stop and len(found) < MAX_STEPS:
        found.append(min(stop, max(found[-1] + 1, round(found[-1] * factor))))
    return found


async def find_safe_concurrency(
    steps: Sequence[int],
    routes: Sequence[tuple[str, RouteBudget]],
    run: Callable[[str, int], Awaitable[LoadResult]],
) -> SafeConcurrency:
    """Run `run(route, concurrency)` for each route at each level in `steps`, lowest first."""
    if len(steps) > MAX_STEPS:
        raise InputError(f"at most {MAX_STEPS} concurrency steps", hint="use fewer steps")
    done: list[Step] = []
    safe: int | None = None
    for concurrency in steps:
        reason = None
        for route, budget in routes:
            reason = _verdict(route_measurements(route, await run(route, concurrency), budget))
            if reason is not None:
                break
        done.append(Step(concurrency, reason is None, reason))
        if reason is not None:
            return SafeConcurrency(safe, tuple(done), f"at concurrency {concurrency}: {reason}")
        safe = concurrency
    return SafeConcurrency(safe, tuple(done), f"every step up to {steps[-1]} held; the highest step tried")
