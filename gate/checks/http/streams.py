"""Streaming routes (server-sent events, chunked answers): each is timed once against the stream
budget of its class, and stalls, breaks, buffering and unclean ends are findings."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping

from gate.checks.base import Result
from gate.checks.http.flow_context import FlowContext
from gate.checks.http.routes import STREAM_KEYS, Route
from gate.checks.http.rules import RULES
from gate.load import measure_stream, stream_measurements, stream_settings


async def check_stream(flow: FlowContext, route: Route, auth: Mapping[str, str]) -> AsyncIterator[Result]:
    """Time one streaming route against its budget and say how the stream misbehaved."""
    flow.ctx.progress.update(f"stream {route.name}")
    merged = {**flow.config.get("budgets", {}).get("stream", {}), **route.spec.get("stream", {})}
    budget, limits = stream_settings({key: value for key, value in merged.items() if key in STREAM_KEYS})
    result = await measure_stream(flow.endpoint, flow.request(route, auth), limits)
    for problem in result.problems(limits.stall_s):
        yield RULES.finding(
            f"http.stream.{problem.kind}",
            f"{route.name}: {problem.message}.",
            location=flow.location(route),
            preview_host=flow.preview.base_host,
        )
    for measurement in stream_measurements(route.name, result, budget):
        yield measurement
