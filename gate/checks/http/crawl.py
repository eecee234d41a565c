"""A bounded crawl of the pages gate.yml names, their client bundles and source maps, and what is
checked in them: mixed content, local and staging API bases, and secrets (via the secrets check's
scanner).

Everything is bounded: link depth, page count, script count and bytes per file. Only the preview's
own hosts are crawled; third-party scripts are someone else's build.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import importlib
import json
import re
import threading
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

import yaml

from gate.checks.http.markup import PageParts, parse_page
from gate.checks.http.observations import Observation
from gate.checks.http.preview import Preview
from gate.checks.http.transport import Page, RequestFailed, Session
from gate.errors import CheckFailure
from gate.model import Finding, Location, Severity
from gate.rules_data import rules_file

# Distinct hosts reported per bundle and rule: enough to act on, bounded against crafted bundles.
MAX_HOSTS_PER_BUNDLE = 20
# detect-secrets keeps global settings; one scan at a time keeps it consistent across threads.
_SCAN_LOCK = threading.Lock()


@dataclass(frozen=True)
class CrawlLimits:
    """checks.http.crawl in gate.yml."""

    depth: int = 1
    max_pages: int = 10
    max_scripts: int = 30
    max_script_bytes: int = 5_000_000
    allow_hosts: tuple[str, ...] = ()

    @classmethod
    def from_config(cls, section: Mapping[str, Any]) -> CrawlLimits:
        raw = section.get("crawl", {})
        default = cls()
        return cls(
            depth=int(raw.get("depth", default.depth)),
            max_pages=int(raw.get("max_pages", default.max_pages)),
            max_scripts=int(raw.get("max_scripts", default.max_scripts)),
            max_script_bytes=int(raw.get("max_script_bytes", default.max_script_bytes)),
            allow_hosts=tuple(host.lower() for host in raw.get("allow_hosts", [])),
        )


@dataclass(frozen=True)
class BundleRules:
    """rules/http/bundles.yml, compiled."""

    local_url: re.Pattern[str]
    url_literal: re.Pattern[str]
    staging_labels: frozenset[str]
    allow_hosts: frozenset[str]
    script_reference: re.Pattern[str]
    source_map_comment: re.Pattern[str]

    @classmethod
    @functools.cache
    def load(cls) -> BundleRules:
        data: dict[str, Any] = yaml.safe_load(rules_file("http", "bundles.yml").read_text())
        return cls(
            local_url=re.compile(data["local_url"]),
            url_literal=re.compile(data["url_literal"]),
            staging_labels=frozenset(data["staging_labels"]),
            allow_hosts=frozenset(data["allow_hosts"]),
            script_reference=re.compile(data["script_reference"]),
            source_map_comment=re.compile(data["source_map_comment"]),
        )

    def is_staging(self, host: str) -> bool:
        for label in host.lower().split("."):
            if label in self.staging_labels:
                return True
            parts = label.split("-")
            if len(parts) > 1 and (parts[0] in self.staging_labels or parts[-1] in self.staging_labels):
                return True
        return False


@dataclass
class Crawl:
    pages: list[tuple[Page, PageParts]] = field(default_factory=list)
    scripts: list[Page] = field(default_factory=list)
    stylesheets: list[Page] = field(default_factory=list)
    source_maps: list[tuple[Page, Page]] = field(default_factory=list)
    # Source maps named by a bundle that were not checked: (bundle, map URL, why).
    unchecked: list[tuple[Page, str, str]] = field(default_factory=list)


# The opening of a Source Map v3 file, for maps too big to keep whole.
_MAP_OPENING = re.compile(rb'\A\s*\{\s*"version"\s*:\s*3\s*,')


def _is_source_map(page: Page) -> bool:
    if page.status != 200:
        return False
    if page.truncated:
        return _MAP_OPENING.match(page.body) is not None and b'"sources"' in page.body
    return _parse_map(page) is not None


def _parse_map(page: Page) -> Mapping[str, Any] | None:
    try:
        data = json.loads(page.body)
    except ValueError:
        return None
    if isinstance(data, dict) and data.get("version") == 3 and "mappings" in data:
        return data
    return None


def _strip_fragment(url: str) -> str:
    return url.split("#", 1)[0]


async def crawl(
    session: Session, preview: Preview, pages: Sequence[str], limits: CrawlLimits, rules: BundleRules
) -> Crawl:
    result = Crawl()
    # Pages and bundles are untrusted: every list is capped as it grows, and membership is a set,
    # so a page with a million links costs the same as one with ten.
    queue: deque[tuple[str, int]] = deque()
    queued: set[str] = set()
    script_urls: list[str] = []
    style_urls: list[str] = []

    def enqueue(url: str, depth: int) -> None:
        url = _strip_fragment(url)
        if url not in queued and preview.is_own(url) and len(queued) < 2 * limits.max_pages:
            queued.add(url)
            queue.append((url, depth))

    def add(found: list[str], url: str) -> None:
        if url not in found and preview.is_own(url) and len(found) < limits.max_scripts:
            found.append(url)

    for path in pages:
        enqueue(preview.url(path), 0)
    while queue and len(result.pages) < limits.max_pages:
        url, depth = queue.popleft()
        chain = await session.follow(url, stay_on=preview.is_own)
        page = chain[-1]
        if not page.is_html or page.location is not None or not preview.is_own(page.url):
            continue
        if page.truncated:
            # Links, scripts, mixed content and secrets past the cut were never seen: not a pass.
            raise CheckFailure(
                f"{page.url} is an HTML page larger than limits.max_body (or one that never ends); "
                "it could not be checked whole, so nothing about it passed"
            )
        parts = parse_page(page.text(), page.url)
        result.pages.append((page, parts))
        for script in parts.scripts:
            add(script_urls, script)
        for sheet in parts.stylesheets:
            add(style_urls, sheet)
        if depth < limits.depth:
            for link in parts.links:
                enqueue(link, depth + 1)
    result.scripts = await _scripts(session, script_urls, limits, rules, lambda url: add(script_urls, url))
    result.stylesheets = [
        page
        for page in await asyncio.gather(*(session.fetch(url, max_body=0) for url in style_urls))
        if page.status == 200
    ]
    maps = await asyncio.gather(
        *(_source_map(session, preview, script, rules, limits, result) for script in result.scripts)
    )
    result.source_maps = [(script, found) for script, found in zip(result.scripts, maps, strict=True) if found]
    return result


async def _scripts(
    session: Session, urls: list[str], limits: CrawlLimits, rules: BundleRules, add: Callable[[str], None]
) -> list[Page]:
    """Every script in `urls`, which grows (through `add`, bounded) by the chunks each script loads."""
    scripts: list[Page] = []
    index = 0
    while index < len(urls):
        page = await session.fetch(urls[index], max_body=limits.max_script_bytes)
        index += 1
        if page.status != 200:
            continue
        scripts.append(page)
        for match in rules.script_reference.finditer(page.text()):
            if len(urls) >= limits.max_scripts:
                break
            add(urljoin(page.url, match.group(1)))
    return scripts


async def _source_map(
    session: Session, preview: Preview, script: Page, rules: BundleRules, limits: CrawlLimits, result: Crawl
) -> Page | None:
    """The bundle's source map when it is publicly served (named in the bundle or beside it).

    The bundle chooses the name, so a map on another host is never fetched (it could name any
    server, the cloud metadata address included); it is listed as not checked instead.
    """
    named = [match.group(1) for match in rules.source_map_comment.finditer(script.text()[-4096:])]
    named += [script.headers[h] for h in ("sourcemap", "x-sourcemap") if h in script.headers]
    candidates = [urljoin(script.url, name) for name in named if not name.startswith("data:")]
    candidates.append(script.url.split("?")[0] + ".map")
    for url in [url for url in candidates if not preview.is_own(url)][:MAX_HOSTS_PER_BUNDLE]:
        result.unchecked.append((script, url, "on a host gate.yml does not declare, so never fetched"))
    for url in dict.fromkeys(url for url in candidates if preview.is_own(url)):
        try:
            page = await session.fetch(url, max_body=limits.max_script_bytes)
        except RequestFailed as failure:
            result.unchecked.append((script, url, f"no answer: {failure.reason}"))
            continue
        if _is_source_map(page):
            return page
    return None


def _listed(urls: Sequence[str]) -> str:
    shown = ", ".join(urls[:3])
    return shown + (f" and {len(urls) - 3} more" if len(urls) > 3 else "")


def mixed_content(page: Page, parts: PageParts) -> Iterator[Observation]:
    """At most one observation per kind (active, passive, forms) per page, however many there are."""
    if not page.url.startswith("https://"):
        return
    for active in (True, False):
        urls = list(dict.fromkeys(r.url for r in parts.resources if r.active is active and r.url.startswith("http://")))
        if urls:
            kind = "active" if active else "passive"
            yield Observation(
                "http.mixed-content",
                page.url,
                kind,
                f"The https page loads {len(urls)} {kind} sub-resource(s) over plain HTTP: {_listed(urls)}.",
                severity=Severity.HIGH if active else Severity.MEDIUM,
            )
    actions = [action for action in parts.forms if action.startswith("http://")]
    if actions:
        yield Observation(
            "http.mixed-content",
            page.url,
            "form",
            f"Forms on the https page submit over plain HTTP: {_listed(actions)}.",
        )


def bundle_hosts(script: Page, rules: BundleRules, preview: Preview, limits: CrawlLimits) -> Iterator[Observation]:
    text = script.text()
    name = urlsplit(script.url).path
    locals_seen: set[str] = set()
    for match in rules.local_url.finditer(text):
        literal = match.group(1)
        host = urlsplit(literal).netloc
        if host in locals_seen or len(locals_seen) >= MAX_HOSTS_PER_BUNDLE:
            continue
        locals_seen.add(host)
        yield Observation(
            "http.bundle.local-api",
            script.url,
            host,
            f"The client bundle {name} contains the URL {literal[:120]}, a local or private address.",
        )
    allowed = rules.allow_hosts | set(limits.allow_hosts) | {h.split(":")[0] for h in preview.hosts}
    staging_seen: set[str] = set()
    for match in rules.url_literal.finditer(text):
        host = match.group(2).lower()
        if host in allowed or host in staging_seen or not rules.is_staging(host):
            continue
        if len(staging_seen) >= MAX_HOSTS_PER_BUNDLE:
            break
        staging_seen.add(host)
        yield Observation(
            "http.bundle.staging-host",
            script.url,
            host,
            f"The client bundle {name} names the staging host {host} ({match.group(1)[:120]}).",
        )


def scan_secrets(text: str, url: str, path: str) -> list[Finding]:
    """Run the secrets check's scanner on a bundle; a missing scanner fails the check closed."""
    try:
        # Imported by name, not statically: the secrets check ships the scanner, and an
        # installation without it must fail closed here rather than at import time.
        scanner = importlib.import_module("gate.checks.secrets.scanner")
    except ImportError as error:
        raise CheckFailure(
            "client bundles could not be scanned for secrets: the secrets scanner "
            "(gate.checks.secrets.scanner) is not available in this installation"
        ) from error
    scan_text: Callable[[str, str], list[Finding]] = scanner.scan_text
    with _SCAN_LOCK:
        found = scan_text(text, path)
    return [
        dataclasses.replace(finding, check="http", location=Location(url=url, line=finding.location.line))
        for finding in found
    ]


def source_map_texts(source_map: Page) -> Iterator[tuple[str, str]]:
    """(name, text) of each original source embedded in a source map.

    A map cut at the size cap cannot be parsed; its kept prefix is scanned as it is.
    """
    data = _parse_map(source_map)
    if data is None:
        yield "(first bytes of the map)", source_map.text()
        return
    sources = data.get("sources") or []
    contents = data.get("sourcesContent") or []
    for index, text in enumerate(contents):
        if isinstance(text, str) and text:
            name = sources[index] if index < len(sources) and isinstance(sources[index], str) else f"source {index}"
            yield name, text


async def bundle_secrets(crawl_result: Crawl) -> list[Finding]:
    found: list[Finding] = []
    for script in crawl_result.scripts:
        found += await asyncio.to_thread(scan_secrets, script.text(), script.url, urlsplit(script.url).path)
    for _, source_map in crawl_result.source_maps:
        for name, text in source_map_texts(source_map):
            path = f"{urlsplit(source_map.url).path}#{name}"
            found += await asyncio.to_thread(scan_secrets, text, f"{source_map.url}#{name}", path)
    return found
