"""Flows and budgets on the preview: signing in, access control, streams, rate-limit bursts and
load against budgets, in that order, each in its own module.

gate.yml declares the flows under `checks.http` (see docs/http.md, "Flows and budgets"); the
parts turn them into `gate.load` requests and plans, and yield the findings and `Measurement`s
the load engine describes. Every number is judged by gate.policy against the budget of the
route's class, merged with the route's own overrides.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

from gate.checks.base import Result
from gate.checks.http.access import check_access
from gate.checks.http.flow_context import Account, FlowContext
from gate.checks.http.latency import Loaded, measure
from gate.checks.http.login import LOGIN_SCHEMA, sign_in
from gate.checks.http.ratelimit import check_rate_limit
from gate.checks.http.routes import RATE_LIMIT_SCHEMA, ROUTE_CLASSES
from gate.checks.http.rules import RULES
from gate.checks.http.streams import check_stream
from gate.load import BUDGET_SCHEMA, LOAD_SCHEMA, STREAM_SCHEMA

FLOW_SCHEMA: dict[str, Any] = {
    "flows": {
        "type": "boolean",
        "description": "Run login, load, access, stream and rate-limit checks (default true).",
    },
    "login": LOGIN_SCHEMA,
    "accounts": {
        "type": "array",
        "items": {**LOGIN_SCHEMA, "required": ["path", "fields", "role"]},
        "description": "Other accounts, by role, to prove that role-restricted routes refuse them.",
    },
    "allow_writes": {"type": "boolean", "description": "Routes that change data may be loaded (previews only)."},
    "load": LOAD_SCHEMA,
    "budgets": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            **{name: BUDGET_SCHEMA for name in ROUTE_CLASSES if name != "stream"},
            "stream": {**STREAM_SCHEMA, "properties": {**STREAM_SCHEMA["properties"], **BUDGET_SCHEMA["properties"]}},
        },
    },
    "rate_limit": RATE_LIMIT_SCHEMA,
    "baseline": {"type": "string", "description": "JSON report of an earlier run to compare p95 and error rate."},
    "max_growth": {"type": "number", "minimum": 1, "description": "Largest allowed ratio now/baseline."},
    "safe_concurrency": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "up_to": {"type": "integer", "minimum": 1, "maximum": 512},
            "require": {"type": "integer", "minimum": 1, "description": "Fail below this safe concurrency."},
        },
    },
}


async def run(flow: FlowContext) -> AsyncIterator[Result]:
    """Every flow gate.yml declares, unless `flows: false`; `flow.account` is set once signed in."""
    config = flow.config
    if not config.get("flows", True) or (not flow.routes and "login" not in config):
        return
    # The load engine has its own client: it connects to the address the check's resolver chose.
    address = (await flow.preview.resolver.addresses(flow.endpoint.host, flow.endpoint.port))[0]
    flow.endpoint = replace(flow.endpoint, address=address)
    others: list[Account] = []
    async for finding in sign_in(flow, others):
        yield finding
    account = flow.account
    allowed = bool(config.get("allow_writes", False))
    skipped = [route.name for route in flow.routes if route.write and not allowed]
    if skipped:
        yield RULES.finding(
            "http.route.writes-skipped",
            f"{len(skipped)} route(s) change data and were not requested, since checks.http.allow_writes is "
            f"not true: {', '.join(skipped)}.",
            location=flow.location(),
            preview_host=flow.preview.base_host,
        )
    usable = [route for route in flow.routes if allowed or not route.write]
    for route in usable:
        if route.auth:
            async for finding in check_access(flow, route, account, others):
                yield finding
    loaded: list[Loaded] = []
    for route in usable:
        if route.auth and account is None:
            continue
        auth = account.headers if route.auth and account else {}
        if route.klass == "stream":
            async for item in check_stream(flow, route, auth):
                yield item
        elif route.klass == "auth":
            async for finding in check_rate_limit(flow, route):
                yield finding
        if route.loaded:
            loaded.append((route, auth))
    async for measurement in measure(flow, loaded):
        yield measurement
