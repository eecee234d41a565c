"""Signing in once, with the http check's login, for the AI routes declared `auth: true`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from gate.checks.ai.template import AiRoute
from gate.checks.base import CheckContext

if TYPE_CHECKING:
    import httpx

    from gate.checks.http.client import Preview


async def signed_in(
    client: httpx.AsyncClient, preview: Preview, http_ctx: CheckContext, routes: Sequence[AiRoute]
) -> tuple[Mapping[str, str], str | None]:
    """The headers of the signed-in account, or why signing in was refused or failed."""
    from gate.checks.http.client import RequestFailed, Session
    from gate.checks.http.flows import LoginFailed, login

    if not any(route.auth for route in routes):
        return {}, None
    spec = http_ctx.config.get("login")
    if spec is None:
        return {}, "it is declared auth: true but checks.http.login is not set (or checks.ai.url names another origin)"
    if not preview.base_url.startswith("https://"):
        return {}, "the preview URL is plain HTTP and the credentials would travel unencrypted"
    try:
        account = await login(Session(client, preview.limits), preview, spec, http_ctx, "login")
    except (LoginFailed, RequestFailed) as failure:
        return {}, f"signing in failed: {failure}"
    return account.headers, None
