"""Every response the run saw, graded once: security headers by content type, leaking headers,
stack traces, cookie flags, and cookies set on cacheable responses."""

from __future__ import annotations

from urllib.parse import urlsplit

from gate.checks.http import headers
from gate.checks.http.caching import set_cookie_on_cacheable
from gate.checks.http.crawl import Crawl
from gate.checks.http.surface import Graded, Surface


def grade(surface: Surface, crawled: Crawl) -> None:
    """Add what is wrong with each distinct response to `surface.observations`."""
    rules = headers.HeaderRules.load()
    policy = headers.HeaderPolicy.from_config(surface.config)
    meta = {page.url: parts.meta_csp for page, parts in crawled.pages}
    responses: dict[tuple[str, str], Graded] = {}
    for page, route in [*surface.graded, *((page, None) for page, _ in crawled.pages)]:
        responses.setdefault((page.method, page.url), (page, route))
    # A host without HSTS under one whose HSTS includes subdomains: the finding says so.
    covering = {
        urlsplit(page.url).hostname or "" for page, _ in responses.values() if headers.includes_subdomains(page)
    }
    observations = surface.observations
    for page, route in responses.values():
        name = urlsplit(page.url).hostname or ""
        parent = next((host for host in sorted(covering) if name.endswith(f".{host}")), None)
        observations.extend(
            headers.grade(page, rules, policy, meta_csp=meta.get(page.url, ()), route=route, covered_by=parent)
        )
        observations.extend(headers.leaks(page, rules, route))
        observations.extend(headers.stack_trace(page, rules, route))
        observations.extend(headers.cookies(page, rules, route))
        observations.extend(set_cookie_on_cacheable(page, route))
