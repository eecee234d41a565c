"""gate.yml's http flows as a k6 script or a locustfile, and their summaries judged by the same budgets.

For a team that needs more load than one CI runner makes: `gate export k6|locust` writes the
routes, login and thresholds for k6's or Locust's own distributed engine, and `gate import`
reads their summary back into the http check, which yields the measurements a local run would.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from gate.checks.http.routes import Route, budget_for
from gate.config.units import seconds
from gate.errors import InputError
from gate.load import (
    ExportLogin,
    ExportPlan,
    ExportRoute,
    imported_measurements,
    load_plan,
    read_k6_summary,
    read_locust_stats,
)
from gate.load.generator import Closed
from gate.model import Measurement

FORMATS = ("k6", "locust")
IMPORT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["format", "path"],
    "description": "Judge an outside engine's summary (gate import) instead of loading the preview.",
    "properties": {"format": {"enum": list(FORMATS)}, "path": {"type": "string", "minLength": 1}},
}


def _routes(section: Mapping[str, Any]) -> Iterator[Route]:
    """The routes a local run would load: no streams, no bursts, writes only where allowed."""
    allowed = bool(section.get("allow_writes", False))
    for spec in section.get("routes", []):
        route = Route.from_config(spec)
        if route.loaded and (allowed or not route.write):
            yield route


def export_plan(section: Mapping[str, Any], *, duration: str | None = None) -> ExportPlan:
    """The http section's routes, login and budgets as an ExportPlan; credentials stay env var names."""
    url = section.get("url")
    if not url:
        raise InputError("gate export needs checks.http.url", hint="set it in gate.yml or pass --url")
    plan = load_plan(section.get("load", {}))
    model = plan.model
    routes = [
        ExportRoute(
            name=route.name,
            method=route.method,
            path=route.path,
            budget=budget_for(section, route),
            headers=route.headers,
            body=route.body.decode() if route.body else None,
            authenticated=route.auth,
            expect=tuple(sorted(route.expect)) if route.expect else None,
        )
        for route in _routes(section)
    ]
    if not routes:
        raise InputError(
            "checks.http.routes has no route to export", hint="declare read routes under checks.http.routes"
        )
    login = section.get("login")
    exported_login = (
        ExportLogin(
            path=login["path"],
            fields=dict(login["fields"]),
            method=login.get("method", "POST"),
            form=login.get("format", "json") == "form",
            token_path=login.get("success", {}).get("token"),
            header=login.get("header", "Authorization"),
            scheme=login.get("scheme", "Bearer"),
        )
        if login
        else None
    )
    return ExportPlan(
        url=url,
        routes=routes,
        concurrency=model.concurrency if isinstance(model, Closed) else model.max_connections,
        duration_s=seconds(duration) if duration else (model.duration_s or 60.0),
        rate=None if isinstance(model, Closed) else model.rate,
        login=exported_login,
    )


def imported(section: Mapping[str, Any]) -> list[Measurement]:
    """The measurements of every exportable route, from the summary `checks.http.imported` names."""
    spec = section["imported"]
    path = Path(spec["path"])
    summary = read_k6_summary(path) if spec["format"] == "k6" else read_locust_stats(path)
    measurements: list[Measurement] = []
    for route in _routes(section):
        measurements.extend(imported_measurements(route.name, summary.get(route.name), budget_for(section, route)))
    return measurements
