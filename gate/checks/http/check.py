"""The `http` check: the deployed preview's surface, and the flows and budgets on it.

TLS on every declared host, redirects to the canonical host, security headers graded by content
type, leaking headers and stack traces, CORS and private caching on authenticated routes, cookie
flags, edge and static caching, exposed files, and a bounded crawl of the client bundles; then
login, access control, streams, rate limits and load against budgets (`flows`).

The check first waits (bounded) for the preview to answer; a preview that never does is a
blocking finding, not a crash. A request that fails after that means the check could not finish:
it raises CheckFailure and the run fails closed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any, ClassVar

from gate.checks.base import Check, CheckContext, CheckOption, Result
from gate.checks.http import bundles, caching, exposed, flows, grading, redirects, route_probes, tls
from gate.checks.http.crawl import BundleRules, CrawlLimits, crawl
from gate.checks.http.external_load import IMPORT_SCHEMA, imported
from gate.checks.http.flow_context import FlowContext
from gate.checks.http.flows import FLOW_SCHEMA
from gate.checks.http.login import probe_credentials
from gate.checks.http.observations import aggregate
from gate.checks.http.preview import Preview, preview_from_context
from gate.checks.http.readiness import wait_for_preview
from gate.checks.http.routes import ROUTE_SCHEMA
from gate.checks.http.rules import RULES
from gate.checks.http.surface import Surface
from gate.checks.http.transport import RequestFailed, Session, make_client

# The one thing the http check shares with the dns check: the domain map gate.yml's dns section
# declares (checks.dns.domain, .hosts, .canonical), the preview's default hosts and canonical host.
from gate.config.domains import domain_map as dns_domain_map
from gate.errors import CheckFailure

_DURATION = {"$ref": "#/$defs/duration"}
_HOSTS = {"type": "array", "items": {"type": "string", "minLength": 1}}
_COUNT = {"type": "integer", "minimum": 0}
_PORT = {"type": "integer", "minimum": 1, "maximum": 65535}

CONFIG_SCHEMA: dict[str, Any] = {
    "properties": {
        "url": {"type": "string", "description": "The preview's base URL (or --url, or the deployment event)."},
        "hosts": {**_HOSTS, "description": "Every host of the domain map to TLS-check (app, api, admin, ...)."},
        "canonical_host": {
            "type": "string",
            "description": "The one host apex and www must redirect to (default: checks.dns.canonical).",
        },
        "aliases": {
            **_HOSTS,
            "description": "Hosts that must redirect to canonical_host (default: its apex/www twin).",
        },
        "http_port": {
            "oneOf": [
                _PORT,
                {"type": "object", "additionalProperties": _PORT, "minProperties": 1},
            ],
            "description": "Port probed for plain HTTP (default 80): one for every host, or per host "
            "(host[:port] -> port, `'*'` for the others).",
        },
        "resolve": {
            "type": "object",
            "additionalProperties": {"type": "string", "minLength": 1},
            "description": "host[:port] -> IP address, as curl --resolve: no DNS query for these hosts.",
        },
        "ca_bundle": {"type": "string", "description": "PEM file of extra CAs for a private preview."},
        "bypass_header": {
            "type": "object",
            "additionalProperties": False,
            "required": ["name", "env"],
            "description": "Protection-bypass header the hosting platform asks for (e.g. Vercel's).",
            "properties": {
                "name": {"type": "string", "minLength": 1, "description": "Header name."},
                "env": {"type": "string", "minLength": 1, "description": "Secret env var holding its value."},
            },
        },
        "auth_token_env": {
            "type": "string",
            "minLength": 1,
            "description": "Secret env var with a bearer token for authenticated routes.",
        },
        "secret_env_allow": {
            "type": "array",
            "items": {"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_]*$"},
            "description": "Variables besides GATE_* that secrets may be read from (never the runner's own).",
        },
        "pages": {
            "type": "array",
            "items": {"type": "string", "minLength": 1},
            "description": "HTML pages to grade and crawl for bundles (default: [/]).",
        },
        "routes": {"type": "array", "items": ROUTE_SCHEMA},
        **FLOW_SCHEMA,
        "imported": IMPORT_SCHEMA,
        "wait": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"timeout": _DURATION, "interval": _DURATION},
        },
        "limits": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "timeout": {**_DURATION, "description": "Deadline of one request, body included."},
                "max_body": {"type": "integer", "minimum": 1024, "description": "Bytes of a body kept."},
                "max_redirects": {"type": "integer", "minimum": 1, "maximum": 20},
                "concurrency": {"type": "integer", "minimum": 1, "maximum": 64},
            },
        },
        "crawl": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "depth": {"type": "integer", "minimum": 0, "maximum": 3},
                "max_pages": {"type": "integer", "minimum": 1, "maximum": 200},
                "max_scripts": {"type": "integer", "minimum": 0, "maximum": 500},
                "max_script_bytes": {"type": "integer", "minimum": 1024},
                "allow_hosts": {**_HOSTS, "description": "Staging-looking hosts a bundle may name."},
            },
        },
        "tls": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"warn_days": _COUNT, "fail_days": _COUNT},
        },
        "headers": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "hsts_min_max_age": {**_COUNT, "description": "Seconds; 0 only requires HSTS to be present."},
                "hsts_include_subdomains": {"type": "boolean"},
                "csp_forbid_unsafe_inline": {"type": "boolean"},
            },
        },
        "edge": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "require_cdn": {"type": "boolean"},
                "static_min_max_age": _COUNT,
                "static_immutable": {"type": "boolean"},
            },
        },
        "exposed_files": {"type": "boolean", "description": "Probe for exposed files (default true)."},
    }
}


class HttpCheck(Check):
    name = "http"
    summary = "The deployed preview's surface: TLS, redirects, headers, CORS, caching, exposed files, bundles."
    rules = RULES.docs
    is_async = True
    options = (
        CheckOption("--url", "url", "Check this preview URL instead of gate.yml's.", metavar="URL"),
        CheckOption(
            "--baseline",
            "baseline",
            "JSON report of an earlier run: fail routes whose p95 or error rate grew past max_growth.",
            metavar="REPORT",
        ),
    )
    config_schema: ClassVar[Mapping[str, Any]] = CONFIG_SCHEMA
    _preview: Preview | None = None

    def prepare(self, ctx: CheckContext) -> None:
        if "imported" not in ctx.config:
            self._preview = _preview(ctx)

    async def arun(self, ctx: CheckContext) -> AsyncIterator[Result]:
        if "imported" in ctx.config:
            # `gate import`: an outside engine loaded the preview; judge its summary, touch nothing.
            for measurement in imported(ctx.config):
                yield measurement
            return
        preview = self._preview or _preview(ctx)
        try:
            async with make_client(preview) as client:
                surface = Surface(ctx.config, preview, Session(client, preview.limits))
                async for item in _survey(ctx, surface):
                    yield item
        except RequestFailed as failure:
            raise CheckFailure(f"the preview stopped answering during the check: {failure}") from failure


def _preview(ctx: CheckContext) -> Preview:
    return preview_from_context(ctx, dns_domain_map(ctx.full_config))


async def _survey(ctx: CheckContext, surface: Surface) -> AsyncIterator[Result]:
    """The parts in order: each later part uses what the earlier ones found (trust, the login,
    the pages landed on), and every response seen is graded once at the end."""
    config, preview = surface.config, surface.preview
    answered, found = await wait_for_preview(ctx, surface)
    for finding in found:
        yield finding
    if not answered:
        return
    ctx.progress.update("TLS on every declared host")
    found, trusted = await tls.check_hosts(surface)
    for finding in found:
        yield finding
    if not trusted:
        return
    flow = FlowContext(ctx, preview, surface.session)
    async for item in flows.run(flow):
        yield item
    surface.credentials = probe_credentials(preview, flow.account)
    async for finding in redirects.check_redirects(surface):
        yield finding
    if config.get("exposed_files", True):
        ctx.progress.update("probing for exposed files")
        async for finding in exposed.check_exposed(surface):
            yield finding
    ctx.progress.update("crawling pages and client bundles")
    crawled = await crawl(
        surface.session, preview, config.get("pages", ["/"]), CrawlLimits.from_config(config), BundleRules.load()
    )
    async for finding in bundles.check_bundles(surface, crawled):
        yield finding
    async for finding in caching.check_edge(surface, crawled):
        yield finding
    ctx.progress.update("routes: CORS and private caching")
    async for finding in route_probes.check_routes(surface):
        yield finding
    grading.grade(surface, crawled)
    for finding in aggregate(surface.observations, preview.base_host):
        yield finding
