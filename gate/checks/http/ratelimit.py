"""Rate limits on auth-sensitive routes (login, OTP, password reset): a bounded burst of attempts
must meet the limiter's signal (HTTP 429 by default, or the status or header gate.yml names)."""

from __future__ import annotations

from collections.abc import AsyncIterator

from gate.checks.http.flow_context import FlowContext
from gate.checks.http.routes import Route
from gate.checks.http.rules import RULES
from gate.load import LimitSignal, burst_probe
from gate.model import Finding


async def check_rate_limit(flow: FlowContext, route: Route) -> AsyncIterator[Finding]:
    """Burst an auth-sensitive route (bounded) and expect the limiter's signal before the end."""
    defaults = flow.config.get("rate_limit", {})
    spec = {**defaults, **route.spec.get("rate_limit", {})}
    attempts = int(spec.get("attempts", 30))
    signal = LimitSignal(frozenset(spec.get("statuses", [429])), spec.get("header"))
    flow.ctx.progress.update(f"rate-limit burst on {route.name}")
    result = await burst_probe(flow.endpoint, flow.request(route, {}), limit=attempts, signal=signal)
    if result.limited_at is None:
        seen = ", ".join(f"{count}x HTTP {status}" for status, count in sorted(result.statuses.items()))
        errors = ", ".join(f"{count}x {kind}" for kind, count in result.errors.items())
        yield RULES.finding(
            "http.ratelimit.missing",
            f"No rate limit on {route.name} within {result.sent} attempts in {result.duration_s:.1f}s "
            f"(answers: {seen or 'none'}{'; errors: ' + errors if errors else ''}).",
            location=flow.location(route),
            preview_host=flow.preview.base_host,
        )
