"""What the crawled pages and client bundles give away: mixed content, staging or local hosts
named in bundles, public source maps (and those that could not be checked), and secrets in
bundles and source maps."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from gate.checks.http.crawl import BundleRules, Crawl, CrawlLimits, bundle_hosts, bundle_secrets, mixed_content
from gate.checks.http.rules import RULES
from gate.checks.http.surface import Surface
from gate.model import Finding, Location


async def check_bundles(surface: Surface, crawled: Crawl) -> AsyncIterator[Finding]:
    preview = surface.preview
    limits = CrawlLimits.from_config(surface.config)
    rules = BundleRules.load()
    for page, parts in crawled.pages:
        surface.observations.extend(mixed_content(page, parts))
    for script in crawled.scripts:
        # Megabytes of regex work per bundle: off the event loop other network checks share.
        surface.observations.extend(await asyncio.to_thread(list, bundle_hosts(script, rules, preview, limits)))
    if crawled.source_maps:
        maps = [source_map.url for _, source_map in crawled.source_maps]
        shown = ", ".join(maps[:3]) + (f" and {len(maps) - 3} more" if len(maps) > 3 else "")
        # One finding for the build: map names carry content hashes that change every deploy.
        yield RULES.finding(
            "http.exposed.source-map",
            f"{len(maps)} client bundle(s) have public source maps: {shown}.",
            location=Location(url=maps[0]),
            where=preview.base_host,
            details={"source_maps": maps},
            preview_host=preview.base_host,
        )
    if crawled.unchecked:
        why = {url: reason for _, url, reason in crawled.unchecked}
        shown = "; ".join(f"{url} ({reason})" for url, reason in list(why.items())[:3])
        more = f"; and {len(why) - 3} more" if len(why) > 3 else ""
        yield RULES.finding(
            "http.exposed.source-map-unchecked",
            f"{len(why)} source map(s) named by client bundles were not checked for secrets: {shown}{more}.",
            location=Location(url=crawled.unchecked[0][0].url),
            where=preview.base_host,
            details={"source_maps": list(why)},
            preview_host=preview.base_host,
        )
    for finding in await bundle_secrets(crawled):
        yield finding
