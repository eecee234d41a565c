"""The `http` check: the deployed preview's surface.

TLS on every declared host, redirects to the canonical host, security headers graded by content
type, leaking headers and stack traces, CORS and private caching on authenticated routes, cookie
flags, edge and static caching, exposed files, and a bounded crawl of the client bundles.

The check first waits (bounded) for the preview to answer; a preview that never does is a
blocking finding, not a crash. A request that fails after that means the check could not finish:
it raises CheckFailure and the run fails closed. Latency budgets and the login flow build on the
same plumbing in `gate.checks.http.transport`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from typing import Any, ClassVar
from urllib.parse import urlsplit

from gate.checks.base import Check, CheckContext, CheckOption, Result
from gate.checks.dns.hosts import domain_map
from gate.checks.http import caching, cors, crawl, exposed, external_load, flows, headers, redirects, tls
from gate.checks.http.markup import parse_page
from gate.checks.http.observations import Observation, aggregate
from gate.checks.http.preview import Preview, normalise_host, preview_from_context
from gate.checks.http.rules import RULES, MakeFinding
from gate.checks.http.transport import Page, RequestFailed, Session, make_client, wait_ready
from gate.config.units import seconds
from gate.errors import CheckFailure
from gate.model import Finding, Location, fingerprint_of

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
        "routes": {"type": "array", "items": flows.ROUTE_SCHEMA},
        **flows.FLOW_SCHEMA,
        "imported": external_load.IMPORT_SCHEMA,
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
    rules = RULES
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
    _make: MakeFinding

    def prepare(self, ctx: CheckContext) -> None:
        if "imported" not in ctx.config:
            self._preview = preview_from_context(ctx, domain_map(ctx.full_config))

    def _maker(self, preview: Preview) -> MakeFinding:
        """`finding` with fingerprints that survive a new preview URL.

        Every deploy gets a new preview host, so the preview's own host is replaced by a fixed
        label before hashing: a reviewed suppression keeps matching the next preview's finding.
        `where` names what a finding is about when its location's URL is only an example.
        """

        def make(rule_id: str, message: str, *, subject: str = "", where: str | None = None, **fields: Any) -> Finding:
            location: Location = fields.get("location", Location())
            place = where if where is not None else location.subject()
            stable = place.replace(preview.base_host, "<preview>")
            fields.setdefault("fingerprint", fingerprint_of(rule_id, f"{stable}\x1f{subject}"))
            return self.finding(rule_id, message, **fields)

        return make

    async def arun(self, ctx: CheckContext) -> AsyncIterator[Result]:
        if "imported" in ctx.config:
            # `gate import`: an outside engine loaded the preview; judge its summary, touch nothing.
            for measurement in external_load.imported(ctx.config):
                yield measurement
            return
        preview = self._preview or preview_from_context(ctx, domain_map(ctx.full_config))
        try:
            async for item in self._surface(ctx, preview):
                yield item
        except RequestFailed as failure:
            raise CheckFailure(f"the preview stopped answering during the check: {failure}") from failure

    async def _surface(self, ctx: CheckContext, preview: Preview) -> AsyncIterator[Result]:
        config = ctx.config
        make = self._make = self._maker(preview)
        async with make_client(preview) as client:
            session = Session(client, preview.limits)
            wait = config.get("wait", {})
            ctx.progress.update(f"waiting for {preview.base_url}")
            patience = seconds(wait.get("timeout", "60s"))
            ready = await wait_ready(
                client,
                preview.base_url,
                limits=preview.limits,
                timeout=patience,
                interval=seconds(wait.get("interval", "2s")),
                on_wait=lambda waited: ctx.progress.update(
                    f"seconds waited for {preview.base_url}", round(waited), round(patience)
                ),
            )
            if not ready.answered:
                yield make(
                    "http.preview.unreachable",
                    f"{preview.base_url} gave no usable answer in {ready.waited:.0f}s ({ready.attempts} attempts); "
                    f"last: {ready.last_error}.",
                    location=Location(url=preview.base_url),
                )
                return
            if not preview.base_url.startswith("https://"):
                yield make(
                    "http.tls.no-https",
                    f"The preview URL {preview.base_url} is plain HTTP; HSTS, Secure cookies and everything "
                    "sent to it travel unencrypted. Check the https:// URL users will get.",
                    location=Location(url=preview.base_url, name=preview.base_host),
                )
            ctx.progress.update("TLS on every declared host")
            trusted = True
            # Hosts whose identity is unproven or that do not speak HTTPS get no further request.
            unreachable: set[str] = set()
            async for finding in self._tls(config, preview):
                if finding.rule_id in tls.UNTRUSTED or finding.rule_id == "http.tls.no-https":
                    unreachable.add(finding.location.name or "")
                if finding.location.name == preview.base_host and finding.rule_id in tls.UNTRUSTED:
                    trusted = False
                    finding = dataclasses.replace(
                        finding,
                        message=finding.message + " The other surface checks were skipped: they would send "
                        "credentials to a server whose identity is not proven.",
                    )
                yield finding
            if not trusted:
                return
            flow = flows.Flows(ctx, preview, session, make)
            async for item in flow.run():
                yield item
            observations: list[Observation] = []
            graded: list[tuple[Page, str | None]] = []
            credentials = _credentials(preview, flow.account)
            async for item in self._redirects(config, preview, session, graded, observations, unreachable, credentials):
                yield item
            if config.get("exposed_files", True):
                ctx.progress.update("probing for exposed files")
                async for item in self._exposed(preview, session, graded):
                    yield item
            ctx.progress.update("crawling pages and client bundles")
            crawled = await crawl.crawl(
                session,
                preview,
                config.get("pages", ["/"]),
                crawl.CrawlLimits.from_config(config),
                crawl.BundleRules.load(),
            )
            async for item in self._bundles(config, preview, session, crawled, observations):
                yield item
            ctx.progress.update("routes: CORS and private caching")
            async for item in self._routes(config, preview, session, graded, observations, credentials):
                yield item
            self._grade(config, crawled, graded, observations)
            for finding in aggregate(observations, make):
                yield finding

    async def _tls(self, config: Mapping[str, Any], preview: Preview) -> AsyncIterator[Finding]:
        hosts = [host for host in preview.hosts if host != preview.base_host or preview.base_url.startswith("https")]
        verify = preview.trust
        raw = config.get("tls", {})
        thresholds = tls.Thresholds(int(raw.get("warn_days", 30)), int(raw.get("fail_days", 7)))
        now = datetime.datetime.now(datetime.UTC)

        async def one(host: str) -> list[Finding]:
            found = [f async for f in tls.check_host(host, preview, verify, thresholds, self._make, now)]
            found += [f async for f in tls.check_plain_http(host, preview.http_port(host), preview, self._make)]
            return found

        for found in await asyncio.gather(*(one(host) for host in hosts)):
            for finding in found:
                yield finding

    async def _followed(
        self,
        session: Session,
        preview: Preview,
        start: str,
        *,
        own: Callable[[str], bool] | None = None,
        canonical: str | None = None,
        digest: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> tuple[list[Page], list[Finding]]:
        """The chain from `start`, followed while `own` (default: the declared hosts) accepts each
        hop, and what is wrong with it."""
        stay_on = own or preview.is_own
        chain = await session.follow(start, stay_on=stay_on, headers=headers)
        found = redirects.judge_chain(
            start,
            chain,
            max_redirects=preview.limits.max_redirects,
            canonical=canonical,
            own=stay_on,
            make=self._make,
            canonical_digest=digest,
        )
        return chain, list(found)

    async def _redirects(
        self,
        config: Mapping[str, Any],
        preview: Preview,
        session: Session,
        graded: list[tuple[Page, str | None]],
        observations: list[Observation],
        unreachable: set[str],
        credentials: Mapping[str, str],
    ) -> AsyncIterator[Finding]:
        chain, found = await self._followed(session, preview, preview.base_url)
        for finding in found:
            yield finding
        landing = chain[-1]
        if landing.status in (401, 403):
            bypass = (
                "the bypass header in checks.http.bypass_header was refused"
                if preview.secret_headers
                else ("if the platform protects previews, set checks.http.bypass_header")
            )
            raise CheckFailure(
                f"{landing.url} answers HTTP {landing.status} to the gate, so the preview's surface cannot be "
                f"checked; {bypass}"
            )
        graded.append((landing, None))
        async for finding in self._declared_paths(config, preview, session, credentials):
            yield finding
        canonical = preview.canonical_host
        aliases = (
            redirects.aliases_of(canonical, preview.hosts, [normalise_host(a) for a in config.get("aliases", [])])
            if canonical is not None
            else []
        )
        async for finding in self._other_hosts(preview, session, aliases, graded, observations, unreachable):
            yield finding
        if canonical is None:
            return
        try:
            canonical_page = (await session.follow(f"https://{canonical}/", stay_on=preview.is_own))[-1]
            digest: str | None = redirects.body_digest(canonical_page)
        except RequestFailed:
            # The TLS rules already reported a canonical host that does not answer HTTPS.
            digest = None
        for alias in aliases:
            if alias in unreachable:
                # Its TLS findings say why nothing was asked of it.
                continue
            _, found = await self._followed(session, preview, f"https://{alias}/", canonical=canonical, digest=digest)
            for finding in found:
                yield finding

    async def _declared_paths(
        self, config: Mapping[str, Any], preview: Preview, session: Session, credentials: Mapping[str, str]
    ) -> AsyncIterator[Finding]:
        """Every declared page and readable route, entered over https and over plain HTTP, followed
        hop by hop: a loop or an endless chain off the root is found like one on it. Authenticated
        routes are followed signed in over https, where their real chain is."""
        routes = [r for r in config.get("routes", []) if _readable(r)]
        paths = [*config.get("pages", ["/"]), *(r["path"] for r in routes)]
        signed_in = {preview.url(r["path"]) for r in routes if r.get("auth")} if credentials else set()
        starts = [preview.url(path) for path in dict.fromkeys(paths)]
        starts += [preview.plain_url(path) for path in dict.fromkeys(paths)]
        for start in dict.fromkeys(starts):
            if start == preview.base_url:
                continue
            headers = credentials if start in signed_in else None
            try:
                _, found = await self._followed(session, preview, start, own=preview.is_reachable, headers=headers)
            except RequestFailed as failure:
                if start.startswith("https://") or failure.refused:
                    raise
                # A preview may refuse plain HTTP altogether; the TLS rules judge that.
                continue
            # Which host a deep page ends on is not the canonical rules' business: only broken chains.
            for finding in found:
                if finding.rule_id in redirects.BROKEN:
                    yield finding

    async def _other_hosts(
        self,
        preview: Preview,
        session: Session,
        aliases: list[str],
        graded: list[tuple[Page, str | None]],
        observations: list[Observation],
        unreachable: set[str],
    ) -> AsyncIterator[Finding]:
        """Every declared host that is not an alias gets the main host's surface: its root page is
        followed like the preview's and graded for HSTS, headers, cookies and mixed content."""
        for host in preview.hosts:
            if host == preview.base_host or host in aliases or host in unreachable:
                continue
            chain, found = await self._followed(session, preview, f"https://{host}/")
            for finding in found:
                yield finding
            landing = chain[-1]
            if landing.location is not None:
                continue
            graded.append((landing, None))
            if landing.is_html and not landing.truncated:
                observations.extend(crawl.mixed_content(landing, parse_page(landing.text(), landing.url)))

    async def _exposed(
        self, preview: Preview, session: Session, graded: list[tuple[Page, str | None]]
    ) -> AsyncIterator[Finding]:
        baseline = await exposed.soft_not_found(session, preview)
        # Error pages are where stack traces and leaking headers show.
        graded.extend((page, None) for page, _ in baseline.pages)
        for entry, page in await exposed.probe(session, preview, exposed.load_files(), baseline):
            yield self._make(
                "http.exposed.file",
                f"{entry.path} is publicly served and really is the file ({entry.what}; {len(page.body)}"
                f"{'+' if page.truncated else ''} bytes, content signature matched).",
                severity=entry.severity,
                location=Location(url=page.url),
                subject=entry.id,
            )

    async def _bundles(
        self,
        config: Mapping[str, Any],
        preview: Preview,
        session: Session,
        crawled: crawl.Crawl,
        observations: list[Observation],
    ) -> AsyncIterator[Finding]:
        limits = crawl.CrawlLimits.from_config(config)
        rules = crawl.BundleRules.load()
        for page, parts in crawled.pages:
            observations.extend(crawl.mixed_content(page, parts))
        for script in crawled.scripts:
            # Megabytes of regex work per bundle: off the event loop other network checks share.
            observations.extend(await asyncio.to_thread(list, crawl.bundle_hosts(script, rules, preview, limits)))
        if crawled.source_maps:
            maps = [source_map.url for _, source_map in crawled.source_maps]
            shown = ", ".join(maps[:3]) + (f" and {len(maps) - 3} more" if len(maps) > 3 else "")
            # One finding for the build: map names carry content hashes that change every deploy.
            yield self._make(
                "http.exposed.source-map",
                f"{len(maps)} client bundle(s) have public source maps: {shown}.",
                location=Location(url=maps[0]),
                where=preview.base_host,
                details={"source_maps": maps},
            )
        if crawled.unchecked:
            why = {url: reason for _, url, reason in crawled.unchecked}
            shown = "; ".join(f"{url} ({reason})" for url, reason in list(why.items())[:3])
            more = f"; and {len(why) - 3} more" if len(why) > 3 else ""
            yield self._make(
                "http.exposed.source-map-unchecked",
                f"{len(why)} source map(s) named by client bundles were not checked for secrets: {shown}{more}.",
                location=Location(url=crawled.unchecked[0][0].url),
                where=preview.base_host,
                details={"source_maps": list(why)},
            )
        for finding in await crawl.bundle_secrets(crawled):
            yield finding
        edge_rules = caching.EdgeRules.load()
        policy = caching.EdgePolicy.from_config(config)
        assets = [*crawled.scripts, *crawled.stylesheets]
        for asset in assets:
            observations.extend(caching.static_asset(asset, edge_rules, policy))
        responses = [page for page, _ in crawled.pages] + assets
        cdn = next((name for name in map(edge_rules.cdn_of, responses) if name), None)
        if cdn is None and policy.require_cdn:
            yield self._make(
                "http.edge.no-cdn",
                f"No response from {preview.base_host} carries the headers of a known CDN or edge network.",
                location=Location(url=preview.base_url),
            )
        hashed = [asset for asset in assets if edge_rules.hashed_asset.search(asset.url.split("?")[0])]
        if cdn is not None and hashed:
            again = await session.fetch(hashed[0].url, max_body=0)
            if edge_rules.cache_hit(again) is None:
                yield self._make(
                    "http.edge.static-not-cached",
                    f"{hashed[0].url} was requested twice and {cdn} answered from the origin both times.",
                    location=Location(url=hashed[0].url),
                )

    async def _routes(
        self,
        config: Mapping[str, Any],
        preview: Preview,
        session: Session,
        graded: list[tuple[Page, str | None]],
        observations: list[Observation],
        auth_headers: Mapping[str, str],
    ) -> AsyncIterator[Finding]:
        routes = [
            cors.Route(r["path"], r.get("method", "GET"), preview.url(r["path"]), bool(r.get("auth", False)))
            for r in config.get("routes", [])
        ]
        token = bool(auth_headers)
        refused: list[str] = []
        for route in routes:
            if route.method not in cors.SAFE_METHODS:
                continue
            page = await session.fetch(route.url, method=route.method, headers=auth_headers if route.auth else {})
            graded.append((page, route.path))
            if not (route.auth and token):
                continue
            if 200 <= page.status < 300:
                # Ask twice: a shared cache that kept the first answer shows itself on the second.
                again = await session.fetch(route.url, method=route.method, headers=auth_headers)
                observations.extend(caching.private_response(again, caching.EdgeRules.load(), route.path))
            else:
                refused.append(f"{route.path} (HTTP {page.status})")
        authenticated = [r for r in routes if r.auth]
        for found in await asyncio.gather(*(cors.check_route(session, r, auth_headers) for r in authenticated)):
            observations.extend(found)
        readable = [r for r in authenticated if r.method in cors.SAFE_METHODS]
        if readable and not token:
            yield self._make(
                "http.cache.private-unchecked",
                f"No credentials were given (checks.http.login, or auth_token_env), so the private responses of "
                f"{len(readable)} authenticated route(s) were not checked for shared caching.",
                location=Location(url=preview.base_url),
            )
        elif refused:
            yield self._make(
                "http.cache.private-unchecked",
                f"The credentials were refused by {', '.join(refused)}, so those private responses were not "
                "checked for shared caching.",
                location=Location(url=preview.base_url),
            )

    def _grade(
        self,
        config: Mapping[str, Any],
        crawled: crawl.Crawl,
        graded: Iterable[tuple[Page, str | None]],
        observations: list[Observation],
    ) -> None:
        rules = headers.HeaderRules.load()
        policy = headers.HeaderPolicy.from_config(config)
        meta = {page.url: parts.meta_csp for page, parts in crawled.pages}
        responses: dict[tuple[str, str], tuple[Page, str | None]] = {}
        for page, route in [*graded, *((page, None) for page, _ in crawled.pages)]:
            responses.setdefault((page.method, page.url), (page, route))
        # A host without HSTS under one whose HSTS includes subdomains: the finding says so.
        covering = {
            urlsplit(page.url).hostname or "" for page, _ in responses.values() if headers.includes_subdomains(page)
        }
        for page, route in responses.values():
            name = urlsplit(page.url).hostname or ""
            parent = next((host for host in sorted(covering) if name.endswith(f".{host}")), None)
            observations.extend(
                headers.grade(page, rules, policy, meta_csp=meta.get(page.url, ()), route=route, covered_by=parent)
            )
            observations.extend(headers.leaks(page, rules, route))
            observations.extend(headers.stack_trace(page, rules, route))
            observations.extend(headers.cookies(page, rules, route))
            observations.extend(caching.set_cookie_on_cacheable(page, route))


def _credentials(preview: Preview, account: flows.Account | None) -> Mapping[str, str]:
    """One login: the session `login` obtained drives every authenticated probe; auth_token_env is
    the fallback. Nothing that is a credential goes to a plain-HTTP preview."""
    if account is not None:
        return account.headers
    if preview.auth_token and preview.base_url.startswith("https://"):
        return {"authorization": f"Bearer {preview.auth_token}"}
    return {}


def _readable(route: Mapping[str, Any]) -> bool:
    """Routes the gate may request as they are: GET and HEAD change nothing."""
    return route.get("method", "GET") in cors.SAFE_METHODS
