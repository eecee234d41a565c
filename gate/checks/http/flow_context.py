"""What every flow on the preview works with: the check's context, the preview, the session, the
load engine's endpoint, the declared routes and the account signed in."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from gate.checks.base import CheckContext
from gate.checks.http.preview import Preview
from gate.checks.http.routes import Route
from gate.checks.http.transport import Session
from gate.load import Endpoint, Request
from gate.model import Location


@dataclass(frozen=True)
class Account:
    role: str
    headers: Mapping[str, str]


class FlowContext:
    """One run of the flows of one preview."""

    def __init__(self, ctx: CheckContext, preview: Preview, session: Session) -> None:
        self.ctx = ctx
        self.config = ctx.config
        self.preview = preview
        self.session = session
        self.endpoint = Endpoint.parse(preview.base_url, preview.trust)
        self.routes = [Route.from_config(spec) for spec in self.config.get("routes", [])]
        # The signed-in account, once signing in got one: the surface's CORS and caching probes use it too.
        self.account: Account | None = None
        # The platform's bypass header goes only to an https preview, as in the surface checks.
        self.base_headers: Mapping[str, str] = (
            {name.lower(): value for name, value in preview.secret_headers.items()}
            if preview.base_url.startswith("https://")
            else {}
        )

    def location(self, route: Route | None = None) -> Location:
        return Location(url=self.preview.url(route.path) if route else self.preview.base_url)

    def request(self, route: Route, auth: Mapping[str, str]) -> Request:
        return Request.build(
            self.endpoint, route.method, route.path, {**self.base_headers, **route.headers, **auth}, route.body
        )
