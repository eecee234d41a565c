"""Redirect chains: apex and www end on the one canonical host, in one hop, without loops,
downgrades or long chains, and no alias serves the site itself."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence

from gate.checks.http.preview import netloc
from gate.checks.http.rules import MakeFinding
from gate.checks.http.transport import Page
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
    make: MakeFinding,
    canonical_digest: str | None = None,
) -> Iterator[Finding]:
    """Findings for one chain `client.follow` returned (followed only while `own` accepted the hosts)."""
    location = Location(url=start, name=netloc(start))
    hops = " -> ".join([start, *(page.location or "" for page in chain if page.location)])
    for page in chain:
        target = page.location
        if target and page.url.startswith("https://") and target.startswith("http://"):
            yield make(
                "http.redirect.downgrade",
                f"{page.url} redirects to {target}, dropping HTTPS.",
                location=location,
                details={"chain": hops},
            )
            return
    last = chain[-1]
    visited = {page.url for page in chain}
    if last.location is not None and last.location in visited:
        yield make(
            "http.redirect.loop",
            f"Redirects from {start} loop back to {last.location}: {hops}.",
            location=location,
            details={"chain": hops},
        )
        return
    if last.location is not None and not own(last.location):
        # Leaving the declared hosts is normal for a preview (a sign-in provider) but not for an alias.
        if canonical is not None:
            yield make(
                "http.redirect.not-canonical",
                f"{start} redirects to {netloc(last.location)}, outside the declared hosts, not to "
                f"{canonical}: {hops}.",
                location=location,
                details={"chain": hops},
            )
        return
    if last.location is not None:
        yield make(
            "http.redirect.too-long",
            f"{start} still redirects after {len(chain)} hops (bound: {max_redirects}): {hops}.",
            location=location,
            details={"chain": hops},
        )
        return
    if canonical is None:
        return
    redirects = len(chain) - 1
    final = netloc(last.url)
    if redirects == 0 and final != canonical:
        same = canonical_digest is not None and body_digest(last) == canonical_digest
        yield make(
            "http.redirect.alias-not-redirected",
            f"{final} answers HTTP {last.status} itself instead of redirecting to {canonical}"
            + (", with the same content as the canonical host." if same else "."),
            location=location,
        )
    elif final != canonical:
        yield make(
            "http.redirect.not-canonical",
            f"{start} ends on {final}, not on the canonical {canonical}: {hops}.",
            location=location,
            details={"chain": hops},
        )
    elif redirects > 1:
        yield make(
            "http.redirect.multi-hop",
            f"{start} reaches {canonical} in {redirects} hops: {hops}.",
            location=location,
            details={"chain": hops},
        )


def aliases_of(canonical: str, hosts: Sequence[str], declared: Sequence[str]) -> list[str]:
    """The hosts that must redirect to the canonical one: those declared, plus its apex/www twin."""
    twin = canonical[4:] if canonical.startswith("www.") else f"www.{canonical}"
    found = [host for host in declared if host != canonical]
    if twin in hosts and twin not in found:
        found.append(twin)
    return found
