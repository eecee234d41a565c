"""The declared routes' own surface: every readable route is fetched for grading, authenticated
ones are probed for CORS, and their private answers are asked for twice to catch a shared cache."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from gate.checks.http.caching import EdgeRules, private_response
from gate.checks.http.cors import SAFE_METHODS, Route, check_route
from gate.checks.http.rules import RULES
from gate.checks.http.surface import Surface
from gate.model import Finding, Location


async def check_routes(surface: Surface) -> AsyncIterator[Finding]:
    preview, session, credentials = surface.preview, surface.session, surface.credentials
    routes = [
        Route(r["path"], r.get("method", "GET"), preview.url(r["path"]), bool(r.get("auth", False)))
        for r in surface.config.get("routes", [])
    ]
    token = bool(credentials)
    refused: list[str] = []
    for route in routes:
        if route.method not in SAFE_METHODS:
            continue
        page = await session.fetch(route.url, method=route.method, headers=credentials if route.auth else {})
        surface.graded.append((page, route.path))
        if not (route.auth and token):
            continue
        if 200 <= page.status < 300:
            # Ask twice: a shared cache that kept the first answer shows itself on the second.
            again = await session.fetch(route.url, method=route.method, headers=credentials)
            surface.observations.extend(private_response(again, EdgeRules.load(), route.path))
        else:
            refused.append(f"{route.path} (HTTP {page.status})")
    authenticated = [r for r in routes if r.auth]
    for found in await asyncio.gather(*(check_route(session, r, credentials) for r in authenticated)):
        surface.observations.extend(found)
    readable = [r for r in authenticated if r.method in SAFE_METHODS]
    if readable and not token:
        yield RULES.finding(
            "http.cache.private-unchecked",
            f"No credentials were given (checks.http.login, or auth_token_env), so the private responses of "
            f"{len(readable)} authenticated route(s) were not checked for shared caching.",
            location=Location(url=preview.base_url),
            preview_host=preview.base_host,
        )
    elif refused:
        yield RULES.finding(
            "http.cache.private-unchecked",
            f"The credentials were refused by {', '.join(refused)}, so those private responses were not "
            "checked for shared caching.",
            location=Location(url=preview.base_url),
            preview_host=preview.base_host,
        )
