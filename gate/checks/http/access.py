"""Access control on authenticated routes: without credentials, with a forged token or session
cookie, and as a signed-in account of a role the route is not for, the route must refuse."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence

from gate.checks.http.flow_context import Account, FlowContext
from gate.checks.http.routes import Route
from gate.checks.http.rules import RULES
from gate.model import Finding

# Shaped like a token so a server that only checks the shape still has to verify it.
MALFORMED_TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJnYXRlIn0.bm90LWEtc2lnbmF0dXJl"


async def check_access(
    flow: FlowContext, route: Route, account: Account | None, others: Sequence[Account]
) -> AsyncIterator[Finding]:
    """Without credentials or with a forged token the route must refuse; other roles too."""
    flow.ctx.progress.update(f"access control on {route.name}")
    attempts: list[tuple[str, Mapping[str, str]]] = [("without credentials", {})]
    # Nothing that looks like a credential goes over plain HTTP, not even a forged one.
    if flow.preview.base_url.startswith("https://"):
        attempts.append(("with a malformed token", {"authorization": f"Bearer {MALFORMED_TOKEN}"}))
    if account is not None and "cookie" in account.headers:
        name = account.headers["cookie"].split("=", 1)[0]
        attempts.append(("with a forged session cookie", {"cookie": f"{name}=gate-forged-session"}))
    for how, headers in attempts:
        page = await flow.session.fetch(flow.preview.url(route.path), method=route.method, headers=headers, max_body=0)
        if page.status in (401, 403):
            continue
        served = page.status < 400
        yield RULES.finding(
            "http.access.unauthenticated" if served else "http.access.not-refused",
            f"{route.name} answered HTTP {page.status} {how}; an authenticated route must refuse with 401 or 403.",
            location=flow.location(route),
            subject=how,
            preview_host=flow.preview.base_host,
        )
    if not route.roles:
        return
    for other in ([account] if account else []) + list(others):
        if other.role in route.roles:
            continue
        page = await flow.session.fetch(
            flow.preview.url(route.path), method=route.method, headers=dict(other.headers), max_body=0
        )
        if page.status < 400:
            yield RULES.finding(
                "http.access.role",
                f"{route.name} is for {', '.join(route.roles)} only, but answered HTTP {page.status} to a "
                f"signed-in {other.role}.",
                location=flow.location(route),
                subject=other.role,
                preview_host=flow.preview.base_host,
            )
