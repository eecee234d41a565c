"""The load, budget and stream gate.yml fragments: validated by the real schema code, converted exactly."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gate.config.schema import build_schema, validate
from gate.config.yamlpos import load_text
from gate.errors import InputError
from gate.load.config import BUDGET_SCHEMA, LOAD_SCHEMA, STREAM_SCHEMA, load_plan, route_budget, stream_settings
from gate.load.generator import Closed, Open

SCHEMA = build_schema(
    {"http": {"properties": {"load": LOAD_SCHEMA, "budget": BUDGET_SCHEMA, "stream": STREAM_SCHEMA}}}, ["launch"]
)


def section(text: str) -> tuple[dict[str, Any], list[InputError]]:
    doc = load_text(text, Path("gate.yml"))
    return doc.data["checks"]["http"], validate(doc, SCHEMA)


def test_a_closed_load_with_budgets_converts_to_plan_and_budget_in_milliseconds_and_ratios() -> None:
    http, errors = section(
        "version: 1\nchecks:\n  http:\n    load: {concurrency: 16, requests: 600, warmup: 20, timeout: 5s}\n"
        "    budget: {p50: 120ms, p95: 300ms, p99: 1s, error_rate: 1%, cold_start: 3s, min_samples: 50}\n"
    )
    assert errors == []
    plan = load_plan(http["load"])
    assert plan.model == Closed(16, 600, None)
    assert (plan.warmup, plan.timeout_s) == (20, 5.0)
    budget = route_budget(http["budget"])
    assert (budget.p50_ms, budget.p95_ms, budget.p99_ms, budget.cold_ms) == (120.0, 300.0, 1000.0, 3000.0)
    assert budget.error_rate == pytest.approx(0.01) and budget.min_samples == 50


def test_a_rate_picks_the_open_model_and_a_duration_fits_the_deadline() -> None:
    http, errors = section("checks:\n  http:\n    load: {rate: 50, duration: 90s, deadline: 30s}\n")
    assert errors == []
    plan = load_plan(http["load"])
    assert plan.model == Open(50.0, None, 90.0, 256)
    assert plan.deadline_s >= 90.0


def test_defaults_are_a_small_closed_run() -> None:
    plan = load_plan({})
    assert plan.model == Closed(8, 300, None)


def test_stream_settings_give_budget_and_bounds() -> None:
    http, errors = section("checks:\n  http:\n    stream: {first_event: 2s, max_gap: 5s, stall: 8s, max_time: 45s}\n")
    assert errors == []
    budget, limits = stream_settings(http["stream"])
    assert (budget.first_event_ms, budget.max_gap_ms, budget.total_ms) == (2000.0, 5000.0, None)
    assert (limits.stall_s, limits.total_s) == (8.0, 45.0)


def test_mistakes_are_named_with_their_line() -> None:
    _, errors = section(
        "checks:\n  http:\n    load: {requests: 10, duration: 5s}\n    budget:\n      p95: 300\n      p96: 1s\n"
    )
    rendered = "\n".join(error.render() for error in errors)
    assert "gate.yml:3" in rendered  # both a count and a duration
    assert "gate.yml:5" in rendered  # a latency without its unit
    assert "p96" in rendered
