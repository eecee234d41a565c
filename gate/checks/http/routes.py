"""A route as gate.yml declares it under checks.http.routes: its method, class, body, expected
statuses, roles, and the budget its class and its own `budget:` give it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gate.load import BUDGET_SCHEMA, LOAD_SCHEMA, STREAM_SCHEMA, RouteBudget, route_budget

ROUTE_CLASSES = ["read", "write", "heavy", "stream", "auth"]
SAFE_METHODS = frozenset({"GET", "OPTIONS"})

STATUSES: dict[str, Any] = {
    "type": "array",
    "items": {"type": "integer", "minimum": 100, "maximum": 599},
    "minItems": 1,
}

# How a burst on an auth route is judged: for every such route (checks.http.rate_limit) or one.
RATE_LIMIT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "attempts": {"type": "integer", "minimum": 1, "maximum": 1000},
        "statuses": STATUSES,
        "header": {"type": "string", "minLength": 1, "description": "Header whose presence means limited."},
    },
}

ROUTE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["path"],
    "properties": {
        "path": {"type": "string", "pattern": "^/", "description": "Path on the preview."},
        "name": {"type": "string"},
        "method": {"enum": ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]},
        "class": {"enum": ROUTE_CLASSES, "description": "Picks the route's default budget."},
        "auth": {"type": "boolean", "description": "The route serves authenticated data."},
        "body": {"type": ["string", "object", "array"], "description": "Request body; objects are sent as JSON."},
        "headers": {"type": "object", "additionalProperties": {"type": "string"}},
        "expect": {**STATUSES, "description": "Statuses that count as success (default: below 400)."},
        "write": {"type": "boolean", "description": "The route changes data (default: methods other than GET)."},
        "roles": {
            "type": "array",
            "items": {"type": "string", "minLength": 1},
            "description": "The only roles that may use the route; other accounts must be refused.",
        },
        "budget": BUDGET_SCHEMA,
        "stream": STREAM_SCHEMA,
        "load": LOAD_SCHEMA,
        "rate_limit": RATE_LIMIT_SCHEMA,
    },
}

STREAM_KEYS = frozenset(STREAM_SCHEMA["properties"])


@dataclass(frozen=True)
class Route:
    name: str
    method: str
    path: str
    klass: str
    auth: bool
    write: bool
    headers: Mapping[str, str]
    body: bytes
    expect: frozenset[int] | None
    roles: tuple[str, ...]
    spec: Mapping[str, Any] = field(repr=False)

    @classmethod
    def from_config(cls, spec: Mapping[str, Any]) -> Route:
        method = spec.get("method", "GET")
        headers = {name.lower(): value for name, value in spec.get("headers", {}).items()}
        raw = spec.get("body")
        if raw is None:
            body = b""
        elif isinstance(raw, str):
            body = raw.encode()
        else:
            body = json.dumps(raw).encode()
            headers.setdefault("content-type", "application/json")
        klass = spec.get("class", "read" if method in SAFE_METHODS else "write")
        return cls(
            name=spec.get("name") or f"{method} {spec['path']}",
            method=method,
            path=spec["path"],
            klass=klass,
            auth=bool(spec.get("auth", False)),
            write=bool(spec.get("write", method not in SAFE_METHODS | {"HEAD"})),
            headers=headers,
            body=body,
            expect=frozenset(spec["expect"]) if "expect" in spec else None,
            roles=tuple(spec.get("roles", ())),
            spec=spec,
        )

    @property
    def loaded(self) -> bool:
        """Measured under load: streams are timed and auth routes burst instead, unless given a `load:`."""
        # HEAD answers carry no body, which the load client's parser cannot be told.
        return self.klass != "stream" and (self.klass != "auth" or "load" in self.spec) and self.method != "HEAD"


def budget_for(config: Mapping[str, Any], route: Route) -> RouteBudget:
    """The class's preset budget with the route's own `budget:` merged over it."""
    preset = {
        key: value for key, value in config.get("budgets", {}).get(route.klass, {}).items() if key not in STREAM_KEYS
    }
    return route_budget({**preset, **route.spec.get("budget", {})})
