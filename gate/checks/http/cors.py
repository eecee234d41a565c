"""CORS on authenticated routes: no arbitrary Origin reflected, no `null` origin, no wildcard with
credentials. GET routes are asked with a real request; others only with a preflight, so the gate
never performs a write."""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from gate.checks.http.observations import Observation
from gate.checks.http.transport import Page, Session
from gate.model import Severity

SAFE_METHODS = frozenset({"GET", "HEAD"})


@dataclass(frozen=True)
class Route:
    """A route from gate.yml's `routes`, resolved against the preview URL."""

    path: str
    method: str
    url: str
    auth: bool


def probe_origin() -> str:
    """An origin no allow-list can contain: reflecting it means reflecting anything."""
    return f"https://gate-probe-{secrets.token_hex(4)}.example"


def _credentials(page: Page) -> bool:
    return str(page.headers.get("access-control-allow-credentials", "")).strip().lower() == "true"


def judge(page: Page, origin: str, route: Route) -> Iterator[Observation]:
    allowed = page.headers.get("access-control-allow-origin", "").strip()
    with_credentials = _credentials(page)
    severity = Severity.HIGH if with_credentials else Severity.MEDIUM
    suffix = " with Access-Control-Allow-Credentials: true" if with_credentials else ""
    where = f"{route.method} {route.path}"
    if origin == "null" and allowed == "null":
        yield Observation(
            "http.cors.null-origin",
            page.url,
            "null",
            f"{where} allows the `null` origin{suffix}.",
            severity=severity,
            route=route.path,
        )
    elif origin != "null" and allowed == origin:
        yield Observation(
            "http.cors.reflected-origin",
            page.url,
            "reflected",
            f"{where} echoes an arbitrary Origin ({origin}) back in Access-Control-Allow-Origin{suffix}.",
            severity=severity,
            route=route.path,
        )
    elif allowed == "*" and with_credentials:
        yield Observation(
            "http.cors.wildcard-credentials",
            page.url,
            "wildcard",
            f"{where} sends Access-Control-Allow-Origin: * together with Access-Control-Allow-Credentials: true.",
            route=route.path,
        )


async def check_route(session: Session, route: Route, auth_headers: Mapping[str, str]) -> list[Observation]:
    found: list[Observation] = []
    for origin in (probe_origin(), "null"):
        headers = {"origin": origin}
        if route.method in SAFE_METHODS:
            method = route.method
            headers.update(auth_headers)
        else:
            method = "OPTIONS"
            headers["access-control-request-method"] = route.method
            headers["access-control-request-headers"] = "authorization, content-type"
        page = await session.fetch(route.url, method=method, headers=headers, max_body=64_000)
        found.extend(judge(page, origin, route))
    return found
