"""Latency under load: each loaded route is driven by the load engine and its p95, error rate and
throughput judged against its class's budget, compared with a baseline report, and optionally
stepped up to the highest concurrency that still meets every budget."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path

from gate.checks.http.flow_context import FlowContext
from gate.checks.http.routes import Route, budget_for
from gate.load import (
    Closed,
    LoadPlan,
    LoadResult,
    find_safe_concurrency,
    levels,
    load_plan,
    read_baseline,
    regressions,
    route_measurements,
)
from gate.model import Budget, Measurement

# A route to load, with the headers of the account it is loaded as.
Loaded = tuple[Route, Mapping[str, str]]


async def measure(flow: FlowContext, loaded: Sequence[Loaded]) -> AsyncIterator[Measurement]:
    """Load every route in turn, then compare with the baseline and find the safe concurrency."""
    measured: list[Measurement] = []
    for index, (route, auth) in enumerate(loaded):
        flow.ctx.progress.update(f"load on {route.name} (route {index + 1} of {len(loaded)})")
        result = await load(flow, route, auth, None, progress=True)
        for measurement in route_measurements(route.name, result, budget_for(flow.config, route)):
            measured.append(measurement)
            yield measurement
    for measurement in compared_with_baseline(flow, measured):
        yield measurement
    if "safe_concurrency" in flow.config and loaded:
        yield await safe_concurrency(flow, loaded)


def plan_for(flow: FlowContext, route: Route, concurrency: int | None) -> LoadPlan:
    plan = load_plan({**flow.config.get("load", {}), **route.spec.get("load", {})})
    if concurrency is not None:
        plan = replace(plan, model=Closed(concurrency, plan.model.requests, plan.model.duration_s))
    return replace(plan, expect=route.expect)


async def load(
    flow: FlowContext, route: Route, auth: Mapping[str, str], concurrency: int | None, *, progress: bool = False
) -> LoadResult:
    from gate.load import run_load

    def tell(done: int, planned: int | None) -> None:
        flow.ctx.progress.update(f"requests to {route.name}", done, planned)

    plan = plan_for(flow, route, concurrency)
    return await run_load(flow.endpoint, flow.request(route, auth), plan, tell if progress else None)


def compared_with_baseline(flow: FlowContext, measured: Sequence[Measurement]) -> list[Measurement]:
    raw = flow.config.get("baseline")
    if not raw:
        return []
    path = Path(raw)
    baseline = read_baseline(path if path.is_absolute() else Path.cwd() / path)
    return regressions(measured, baseline, max_growth=float(flow.config.get("max_growth", 1.2)))


async def safe_concurrency(flow: FlowContext, loaded: Sequence[Loaded]) -> Measurement:
    spec = flow.config["safe_concurrency"]
    steps = levels(1, int(spec.get("up_to", 32)))
    by_name = {route.name: (route, auth) for route, auth in loaded}
    flow.ctx.progress.update(f"stepping concurrency up to {steps[-1]}")

    async def run(name: str, concurrency: int) -> LoadResult:
        route, auth = by_name[name]
        return await load(flow, route, auth, concurrency)

    found = await find_safe_concurrency(
        steps, [(route.name, budget_for(flow.config, route)) for route, _ in loaded], run
    )
    require = spec.get("require")
    return Measurement(
        name="load.safe-concurrency",
        subject="all routes",
        value=float(found.safe) if found.safe is not None else 0.0,
        unit="connections",
        check="http",
        budget=Budget(float(require), comparison="min") if require else None,
        note=found.stopped_because,
    )
