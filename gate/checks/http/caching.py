"""Caching at the edge: private data kept out of shared caches, no cookies on cacheable responses,
hashed static assets cached long, and a CDN in front where the preset asks for one."""

from __future__ import annotations

import functools
import re
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from gate.checks.http.crawl import Crawl
from gate.checks.http.headers import parse_set_cookie
from gate.checks.http.observations import Observation
from gate.checks.http.rules import RULES
from gate.checks.http.surface import Surface
from gate.checks.http.transport import Page
from gate.model import Finding, Location, Severity
from gate.rules_data import rules_file


@dataclass(frozen=True)
class EdgePolicy:
    """The preset's edge numbers (checks.http.edge in gate.yml)."""

    require_cdn: bool = False
    static_min_max_age: int = 0
    static_immutable: bool = False

    @classmethod
    def from_config(cls, section: Mapping[str, Any]) -> EdgePolicy:
        raw = section.get("edge", {})
        return cls(
            require_cdn=bool(raw.get("require_cdn", False)),
            static_min_max_age=int(raw.get("static_min_max_age", 0)),
            static_immutable=bool(raw.get("static_immutable", False)),
        )


@dataclass(frozen=True)
class EdgeRules:
    """rules/http/edge.yml, compiled."""

    cdn: tuple[tuple[str, str, re.Pattern[str] | None], ...]
    cache_status_headers: tuple[str, ...]
    hit_pattern: re.Pattern[str]
    hashed_asset: re.Pattern[str]

    @classmethod
    @functools.cache
    def load(cls) -> EdgeRules:
        data: dict[str, Any] = yaml.safe_load(rules_file("http", "edge.yml").read_text())
        return cls(
            cdn=tuple(
                (entry["name"], entry["header"].lower(), re.compile(entry["pattern"]) if "pattern" in entry else None)
                for entry in data["cdn"]
            ),
            cache_status_headers=tuple(name.lower() for name in data["cache_status_headers"]),
            hit_pattern=re.compile(data["cache_hit_pattern"]),
            hashed_asset=re.compile(data["hashed_asset"]),
        )

    def cdn_of(self, page: Page) -> str | None:
        for name, header, pattern in self.cdn:
            for value in page.headers.get_list(header):
                if pattern is None or pattern.search(value):
                    return name
        return None

    def cache_hit(self, page: Page) -> str | None:
        """The header that says a cache answered this response, if one does."""
        for header in self.cache_status_headers:
            value = page.headers.get(header)
            if value and self.hit_pattern.search(value):
                return f"{header}: {value}"
        age = page.headers.get("age", "").strip()
        if age.isdigit() and int(age) > 0:
            return f"age: {age}"
        return None


def cache_control(page: Page) -> dict[str, str | None]:
    """The Cache-Control directives of every header line, names lower-cased, read by Werkzeug's
    RFC 9110 parser: a quoted list (`no-cache="Set-Cookie, Authorization"`) is one argument, and a
    directive without one maps to None."""
    from werkzeug.http import parse_dict_header

    parsed = parse_dict_header(", ".join(page.headers.get_list("cache-control")))
    return {name.lower(): argument for name, argument in parsed.items()}


def field_names(argument: str | None) -> frozenset[str]:
    """The header names a qualified `no-cache="..."` or `private="..."` applies to, lower-cased."""
    from werkzeug.http import parse_list_header

    return frozenset(name.lower() for name in parse_list_header(argument or ""))


def whole(directives: Mapping[str, str | None], name: str) -> bool:
    """`private` or `no-cache` for the whole response: with field names they cover only those headers."""
    return name in directives and directives[name] is None


def _seconds(text: str | None) -> int:
    return int(text) if text is not None and text.isdigit() else 0


def shared_cacheable(page: Page) -> str | None:
    """Why a shared cache may store this response (an explicit directive), or None."""
    directives = cache_control(page)
    if "no-store" in directives or whole(directives, "private"):
        return None
    if "public" in directives:
        return "Cache-Control: public"
    if _seconds(directives.get("s-maxage")) > 0:
        return f"Cache-Control: s-maxage={directives['s-maxage']}"
    if _seconds(directives.get("max-age")) > 0 and not whole(directives, "no-cache"):
        return f"Cache-Control: max-age={directives['max-age']} without private"
    return None


def private_response(page: Page, rules: EdgeRules, route: str) -> Iterator[Observation]:
    """An authenticated 2xx response must stay out of shared caches."""
    hit = rules.cache_hit(page)
    if hit:
        yield Observation(
            "http.cache.private-served-from-cache",
            page.url,
            "cached",
            f"The authenticated response of {route} was answered by a cache ({hit}).",
            route=route,
        )
    reason = shared_cacheable(page)
    directives = cache_control(page)
    if reason and reason.startswith(("Cache-Control: public", "Cache-Control: s-maxage")):
        yield Observation(
            "http.cache.private-cacheable",
            page.url,
            "cacheable",
            f"The authenticated response of {route} is marked shared-cacheable ({reason}).",
            route=route,
        )
    elif not whole(directives, "private") and "no-store" not in directives:
        shown = ", ".join(page.headers.get_list("cache-control")) or "no Cache-Control"
        yield Observation(
            "http.cache.private-cacheable",
            page.url,
            "cacheable",
            f"The authenticated response of {route} says neither private (for the whole response) nor no-store "
            f"({shown}); a "
            "CDN rule that caches by path would keep it.",
            severity=Severity.MEDIUM,
            route=route,
        )


def set_cookie_on_cacheable(page: Page, route: str | None = None) -> Iterator[Observation]:
    if page.status >= 400 or not page.headers.get_list("set-cookie"):
        return
    directives = cache_control(page)
    # `no-cache="Set-Cookie"` or `private="Set-Cookie"` keeps the header out of what a shared
    # cache stores: then caching the rest is safe.
    if "set-cookie" in field_names(directives.get("no-cache")) | field_names(directives.get("private")):
        return
    reason = shared_cacheable(page)
    if reason:
        names = ", ".join(parse_set_cookie(cookie).name for cookie in page.headers.get_list("set-cookie"))
        yield Observation(
            "http.cache.set-cookie-cacheable",
            page.url,
            "set-cookie",
            f"A response that sets cookies ({names}) is cacheable by shared caches ({reason}).",
            route=route,
        )


def static_asset(page: Page, rules: EdgeRules, policy: EdgePolicy) -> Iterator[Observation]:
    """A content-hashed asset should be cacheable for at least the preset's max-age, immutable at launch."""
    if page.status != 200 or not rules.hashed_asset.search(page.url.split("?")[0]):
        return
    if policy.static_min_max_age == 0 and not policy.static_immutable:
        return
    directives = cache_control(page)
    max_age = _seconds(directives.get("max-age"))
    problems = []
    if "no-store" in directives or "no-cache" in directives or max_age < policy.static_min_max_age:
        problems.append(f"max-age is {max_age}s (the preset asks for {policy.static_min_max_age}s)")
    if policy.static_immutable and "immutable" not in directives:
        problems.append("immutable is missing")
    if problems:
        shown = ", ".join(page.headers.get_list("cache-control")) or "no Cache-Control"
        yield Observation(
            "http.edge.static-short-cache",
            page.url,
            "static",
            f"Content-hashed assets are served with `{shown}`: {'; '.join(problems)}.",
        )


async def check_edge(surface: Surface, crawled: Crawl) -> AsyncIterator[Finding]:
    """Static assets cached long and immutable, a CDN in front where the preset asks for one, and
    a hashed asset served from that CDN's cache when asked twice."""
    preview = surface.preview
    edge_rules = EdgeRules.load()
    policy = EdgePolicy.from_config(surface.config)
    assets = [*crawled.scripts, *crawled.stylesheets]
    for asset in assets:
        surface.observations.extend(static_asset(asset, edge_rules, policy))
    responses = [page for page, _ in crawled.pages] + assets
    cdn = next((name for name in map(edge_rules.cdn_of, responses) if name), None)
    if cdn is None and policy.require_cdn:
        yield RULES.finding(
            "http.edge.no-cdn",
            f"No response from {preview.base_host} carries the headers of a known CDN or edge network.",
            location=Location(url=preview.base_url),
            preview_host=preview.base_host,
        )
    hashed = [asset for asset in assets if edge_rules.hashed_asset.search(asset.url.split("?")[0])]
    if cdn is not None and hashed:
        again = await surface.session.fetch(hashed[0].url, max_body=0)
        if edge_rules.cache_hit(again) is None:
            yield RULES.finding(
                "http.edge.static-not-cached",
                f"{hashed[0].url} was requested twice and {cdn} answered from the origin both times.",
                location=Location(url=hashed[0].url),
                preview_host=preview.base_host,
            )
