"""Redirect chains: apex and www end on the one canonical host, in one hop, without loops,
downgrades or long chains, and no alias serves the site itself."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from typing import Any

from gate.checks.http.cors import SAFE_METHODS
from gate.checks.http.crawl import mixed_content
from gate.checks.http.markup import parse_page
from gate.checks.http.preview import netloc, normalise_host
from gate.checks.http.rules import RULES
from gate.checks.http.surface import Surface
from gate.checks.http.transport import Page, RequestFailed
from gate.errors import CheckFailure
from gate.model import Finding, Location


def body_digest(page: Page) -> str:
    return hashlib.sha256(page.body).hexdigest()


# What makes a chain broken wherever it starts: the rules about canonical hosts apply to aliases only.
BROKEN = frozenset({"http.redirect.loop", "http.redirect.too-long", "http.redirect.downgrade"})


def judge_chain(
    start: str,
    chain: Sequence[Page],
    *,
    max_redirects: int,
    canonical: str | None,
    own: Callable[[str], bool],
    preview_host: str,
    canonical_digest: str | None = None,
) -> Iterator[Finding]:
    """Findings for one chain `Session.follow` returned (followed only while `own` accepted the hosts).

    Longer than a function should be because it is one ordered decision list, read top to bottom:
    the first problem a chain shows is the one reported, and splitting it would hide that order.
    """
    location = Location(url=start, name=netloc(start))
    hops = " -> ".join([start, *(page.location or "" for page in chain if page.location)])
    for page in chain:
        target = page.location
        if target and page.url.startswith("https://") and target.startswith("http://"):
            yield RULES.finding(
                "http.redirect.downgrade",
                f"{page.url} redirects to {target}, dropping HTTPS.",
                location=location,
                details={"chain": hops},
                preview_host=preview_host,
            )
            return
    last = chain[-1]
    visited = {page.url for page in chain}
    if last.location is not None and last.location in visited:
        yield RULES.finding(
            "http.redirect.loop",
            f"Redirects from {start} loop back to {last.location}: {hops}.",
            location=location,
            details={"chain": hops},
            preview_host=preview_host,
        )
        return
    if last.location is not None and not own(last.location):
        # Leaving the declared hosts is normal for a preview (a sign-in provider) but not for an alias.
        if canonical is not None:
            yield RULES.finding(
                "http.redirect.not-canonical",
                f"{start} redirects to {netloc(last.location)}, outside the declared hosts, not to "
                f"{canonical}: {hops}.",
                location=location,
                details={"chain": hops},
                preview_host=preview_host,
            )
        return
    if last.location is not None:
        yield RULES.finding(
            "http.redirect.too-long",
            f"{start} still redirects after {len(chain)} hops (bound: {max_redirects}): {hops}.",
            location=location,
            details={"chain": hops},
            preview_host=preview_host,
        )
        return
    if canonical is None:
        return
    redirects = len(chain) - 1
    final = netloc(last.url)
    if redirects == 0 and final != canonical:
        same = canonical_digest is not None and body_digest(last) == canonical_digest
        yield RULES.finding(
            "http.redirect.alias-not-redirected",
            f"{final} answers HTTP {last.status} itself instead of redirecting to {canonical}"
            + (", with the same content as the canonical host." if same else "."),
            location=location,
            preview_host=preview_host,
        )
    elif final != canonical:
        yield RULES.finding(
            "http.redirect.not-canonical",
            f"{start} ends on {final}, not on the canonical {canonical}: {hops}.",
            location=location,
            details={"chain": hops},
            preview_host=preview_host,
        )
    elif redirects > 1:
        yield RULES.finding(
            "http.redirect.multi-hop",
            f"{start} reaches {canonical} in {redirects} hops: {hops}.",
            location=location,
            details={"chain": hops},
            preview_host=preview_host,
        )


def aliases_of(canonical: str, hosts: Sequence[str], declared: Sequence[str]) -> list[str]:
    """The hosts that must redirect to the canonical one: those declared, plus its apex/www twin."""
    twin = canonical[4:] if canonical.startswith("www.") else f"www.{canonical}"
    found = [host for host in declared if host != canonical]
    if twin in hosts and twin not in found:
        found.append(twin)
    return found


async def check_redirects(surface: Surface) -> AsyncIterator[Finding]:
    """The preview's root chain, every declared page and route, every other declared host, and
    every alias of the canonical host; pages landed on are kept for grading."""
    preview, session = surface.preview, surface.session
    chain, found = await _followed(surface, preview.base_url)
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
    surface.graded.append((landing, None))
    async for finding in _declared_paths(surface):
        yield finding
    canonical = preview.canonical_host
    aliases = (
        aliases_of(canonical, preview.hosts, [normalise_host(a) for a in surface.config.get("aliases", [])])
        if canonical is not None
        else []
    )
    async for finding in _other_hosts(surface, aliases):
        yield finding
    if canonical is None:
        return
    try:
        canonical_page = (await session.follow(f"https://{canonical}/", stay_on=preview.is_own))[-1]
        digest: str | None = body_digest(canonical_page)
    except RequestFailed:
        # The TLS rules already reported a canonical host that does not answer HTTPS.
        digest = None
    for alias in aliases:
        if alias in surface.unreachable:
            # Its TLS findings say why nothing was asked of it.
            continue
        _, found = await _followed(surface, f"https://{alias}/", canonical=canonical, digest=digest)
        for finding in found:
            yield finding


async def _followed(
    surface: Surface,
    start: str,
    *,
    own: Callable[[str], bool] | None = None,
    canonical: str | None = None,
    digest: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> tuple[list[Page], list[Finding]]:
    """The chain from `start`, followed while `own` (default: the declared hosts) accepts each
    hop, and what is wrong with it."""
    preview = surface.preview
    stay_on = own or preview.is_own
    chain = await surface.session.follow(start, stay_on=stay_on, headers=headers)
    found = judge_chain(
        start,
        chain,
        max_redirects=preview.limits.max_redirects,
        canonical=canonical,
        own=stay_on,
        preview_host=preview.base_host,
        canonical_digest=digest,
    )
    return chain, list(found)


async def _declared_paths(surface: Surface) -> AsyncIterator[Finding]:
    """Every declared page and readable route, entered over https and over plain HTTP, followed
    hop by hop: a loop or an endless chain off the root is found like one on it. Authenticated
    routes are followed signed in over https, where their real chain is."""
    config, preview, credentials = surface.config, surface.preview, surface.credentials
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
            _, found = await _followed(surface, start, own=preview.is_reachable, headers=headers)
        except RequestFailed as failure:
            if start.startswith("https://") or failure.refused:
                raise
            # A preview may refuse plain HTTP altogether; the TLS rules judge that.
            continue
        # Which host a deep page ends on is not the canonical rules' business: only broken chains.
        for finding in found:
            if finding.rule_id in BROKEN:
                yield finding


async def _other_hosts(surface: Surface, aliases: list[str]) -> AsyncIterator[Finding]:
    """Every declared host that is not an alias gets the main host's surface: its root page is
    followed like the preview's and graded for HSTS, headers, cookies and mixed content."""
    preview = surface.preview
    for host in preview.hosts:
        if host == preview.base_host or host in aliases or host in surface.unreachable:
            continue
        chain, found = await _followed(surface, f"https://{host}/")
        for finding in found:
            yield finding
        landing = chain[-1]
        if landing.location is not None:
            continue
        surface.graded.append((landing, None))
        if landing.is_html and not landing.truncated:
            surface.observations.extend(mixed_content(landing, parse_page(landing.text(), landing.url)))


def _readable(route: Mapping[str, Any]) -> bool:
    """Routes the gate may request as they are: GET and HEAD change nothing."""
    return route.get("method", "GET") in SAFE_METHODS
