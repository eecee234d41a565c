"""One finding per problem, not per response: observations of the same rule on the same host and
subject (a header, a cookie name) become one finding listing where they were seen."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

from gate.checks.http.preview import netloc
from gate.checks.http.rules import RULES
from gate.model import Finding, Location, Severity

_EXAMPLES = 3


@dataclass(frozen=True)
class Observation:
    rule: str
    url: str
    key: str
    text: str
    severity: Severity | None = None
    route: str | None = None


def aggregate(observations: Iterable[Observation], preview_host: str) -> Iterator[Finding]:
    """Group by rule, host and key; the fingerprint ignores which URLs happened to show it."""
    groups: dict[tuple[str, str, str], list[Observation]] = {}
    # The gate's own random probe paths make poor examples: real pages are listed first.
    for item in sorted(
        observations, key=lambda o: (o.rule, "/gate-probe-" in o.url or "/.gate-probe-" in o.url, o.url)
    ):
        groups.setdefault((item.rule, netloc(item.url), item.key), []).append(item)
    for (rule, host, key), items in groups.items():
        first = items[0]
        urls = list(dict.fromkeys(item.url for item in items))
        message = first.text
        if len(urls) > 1:
            shown = ", ".join(urlsplit(url).path or "/" for url in urls[:_EXAMPLES])
            more = f" and {len(urls) - _EXAMPLES} more" if len(urls) > _EXAMPLES else ""
            message += f" Seen on {len(urls)} responses from {host} ({shown}{more})."
        severities = [item.severity for item in items if item.severity is not None]
        yield RULES.finding(
            rule,
            message,
            severity=max(severities) if severities else None,
            location=Location(url=first.url, route=first.route),
            where=host,
            subject=key,
            details={"urls": urls} if len(urls) > 1 else {},
            preview_host=preview_host,
        )
