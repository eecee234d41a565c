"""Signing in once, with the http check's login, for the AI routes declared `auth: true`."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from gate.checks.ai.template import AiRoute
from gate.checks.base import CheckContext
from gate.errors import InputError, Position

if TYPE_CHECKING:
    import httpx

    from gate.checks.http.preview import Preview


def ai_preview(ctx: CheckContext, where: Position | None) -> tuple[CheckContext, Preview]:
    """The origin the ai check may contact, as the http check's Preview, and the context it came from.

    That is checks.http.url, with its CA bundle and login; or checks.ai.url, an AI service on
    an origin of its own, which gets neither the preview's login nor its bypass header.
    """
    from gate.checks.http.preview import preview_from_context

    http = dict(ctx.full_config.get("checks", {}).get("http", {}))
    if ctx.config.get("url"):
        http = {**http, "url": ctx.config["url"], "hosts": [], "aliases": [], "canonical_host": None}
        http.update(login=None, bypass_header=None, auth_token_env=None)
    if not http.get("url"):
        raise InputError(
            "the ai check probes the preview at checks.http.url, which is not set",
            where,
            hint="set checks.http.url to the preview's address, or checks.ai.url to the AI service's",
        )
    http_ctx = dataclasses.replace(ctx, config=http)
    return http_ctx, preview_from_context(http_ctx)


async def signed_in(
    client: httpx.AsyncClient, preview: Preview, http_ctx: CheckContext, routes: Sequence[AiRoute]
) -> tuple[Mapping[str, str], str | None]:
    """The headers of the signed-in account, or why signing in was refused or failed."""
    from gate.checks.http.login import LoginFailed, login
    from gate.checks.http.transport import RequestFailed, Session

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
