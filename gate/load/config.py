"""gate.yml fragments for load, budgets and streams, and their conversion into this package's types.

The http check owns its gate.yml section; it embeds these schema fragments where it wants them
(for example `checks.http.load`, a route class's budget in the preset, a route's `budget:`
override) so every route, preset and override spells them the same way, and converts the
validated values with the functions below. Durations and percentages are strings (`300ms`,
`1%`), as everywhere in gate.yml; `#/$defs/...` are the shared definitions of gate/config/schema.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gate.config.units import fraction, milliseconds, seconds
from gate.load.generator import MAX_CONNECTIONS, MAX_REQUESTS, Closed, LoadPlan, Open
from gate.load.measure import RouteBudget, StreamBudget
from gate.load.stream import StreamLimits

_DURATION = {"$ref": "#/$defs/duration"}
_PERCENT = {"$ref": "#/$defs/percent"}

LOAD_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "description": "How hard and how long each route is loaded; at most one of requests and duration.",
    "not": {"required": ["requests", "duration"]},
    "properties": {
        "concurrency": {
            "type": "integer",
            "minimum": 1,
            "maximum": MAX_CONNECTIONS,
            "description": "Connections sending back to back (closed model).",
        },
        "rate": {
            "type": "number",
            "exclusiveMinimum": 0,
            "maximum": 10_000,
            "description": "Requests per second per route, whatever the server does (open model).",
        },
        "requests": {"type": "integer", "minimum": 1, "maximum": MAX_REQUESTS, "description": "Measured requests."},
        "duration": {**_DURATION, "description": "Measure for this long instead of a request count."},
        "warmup": {"type": "integer", "minimum": 0, "maximum": 10_000, "description": "Requests not counted."},
        "timeout": {**_DURATION, "description": "One request's limit; past it, the request is an error."},
        "deadline": {**_DURATION, "description": "The whole run's limit per route."},
        "max_connections": {
            "type": "integer",
            "minimum": 1,
            "maximum": MAX_CONNECTIONS,
            "description": "Open model: connections it may open.",
        },
    },
}

BUDGET_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "p50": _DURATION,
        "p95": _DURATION,
        "p99": _DURATION,
        "error_rate": {**_PERCENT, "description": "Largest share of failed or timed-out requests."},
        "cold_start": {**_DURATION, "description": "The first request, on a fresh connection."},
        "min_samples": {
            "type": "integer",
            "minimum": 1,
            "description": "At least this many samples before anything is judged.",
        },
        "warn_only": {"type": "boolean"},
    },
}

STREAM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "first_event": {**_DURATION, "description": "Until the first event (SSE) or chunk arrives."},
        "max_gap": {**_DURATION, "description": "Longest silence between chunks."},
        "total": {**_DURATION, "description": "The whole stream."},
        "stall": {**_DURATION, "description": "Silence after which the stream is cut off as stalled."},
        "max_time": {**_DURATION, "description": "The longest the gate waits for a stream to end."},
        "warn_only": {"type": "boolean"},
    },
}

DEFAULT_CONCURRENCY = 8
# Enough for the presets' 1 % error-rate budget to be judged (rule of three: 3 / 0.01).
DEFAULT_REQUESTS = 300


def _ms(config: Mapping[str, Any], key: str) -> float | None:
    value = config.get(key)
    return milliseconds(value) if value is not None else None


def load_plan(config: Mapping[str, Any]) -> LoadPlan:
    """A validated `LOAD_SCHEMA` value as a plan; without `rate` it is the closed model."""
    duration = seconds(config["duration"]) if "duration" in config else None
    requests = config.get("requests", None if duration is not None else DEFAULT_REQUESTS)
    deadline = seconds(config.get("deadline", "2m"))
    model: Closed | Open
    if "rate" in config:
        model = Open(float(config["rate"]), requests, duration, config.get("max_connections", 256))
    else:
        model = Closed(config.get("concurrency", DEFAULT_CONCURRENCY), requests, duration)
    return LoadPlan(
        model,
        warmup=config.get("warmup", 10),
        timeout_s=seconds(config.get("timeout", "10s")),
        deadline_s=max(deadline, (duration or 0.0) + seconds(config.get("timeout", "10s"))),
    )


def route_budget(config: Mapping[str, Any]) -> RouteBudget:
    """A validated `BUDGET_SCHEMA` value (a class's preset budget with a route's overrides merged)."""
    error_rate = config.get("error_rate")
    return RouteBudget(
        p50_ms=_ms(config, "p50"),
        p95_ms=_ms(config, "p95"),
        p99_ms=_ms(config, "p99"),
        error_rate=fraction(error_rate) if error_rate is not None else None,
        cold_ms=_ms(config, "cold_start"),
        min_samples=config.get("min_samples", 0),
        warn_only=config.get("warn_only", False),
    )


def stream_settings(config: Mapping[str, Any]) -> tuple[StreamBudget, StreamLimits]:
    """A validated `STREAM_SCHEMA` value as the stream's budget and its measurement bounds."""
    budget = StreamBudget(
        first_event_ms=_ms(config, "first_event"),
        max_gap_ms=_ms(config, "max_gap"),
        total_ms=_ms(config, "total"),
        warn_only=config.get("warn_only", False),
    )
    defaults = StreamLimits()
    limits = StreamLimits(
        stall_s=seconds(config["stall"]) if "stall" in config else defaults.stall_s,
        total_s=seconds(config["max_time"]) if "max_time" in config else defaults.total_s,
    )
    return budget, limits
