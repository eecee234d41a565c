"""From a raw hit to a `Finding`: the one place a found secret is turned into redacted evidence.

Its title says where the secret is (committed, staged, shipped in build output); everything else
(why, fix, default severity) comes from the rule's documentation in rules.py.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from gate import redact
from gate.checks.secrets.detectors import Detector
from gate.checks.secrets.hits import Hit
from gate.checks.secrets.identity import fingerprint
from gate.checks.secrets.rules import RULES
from gate.checks.secrets.silencing import suppression_for
from gate.model import Finding, Location

if TYPE_CHECKING:
    from gate.checks.secrets.patches import Skipped

# How a finding's title says where the secret is: wording follows the source.
WHERE = {"committed": "committed", "staged": "staged for commit", "shipped": "shipped in build output"}
_FIX_STAGED = (
    "Unstage it (`git restore --staged <file>`), move the value into an environment variable or secret "
    "store, and commit again. It has not left this machine, so nothing needs rotating unless it was "
    "shared some other way."
)


def finding_for(
    detector: Detector,
    hit: Hit,
    *,
    path: str,
    commit: str | None = None,
    message: str | None = None,
    details: Mapping[str, Any] | None = None,
    baseline_hashes: frozenset[str] = frozenset(),
    source: str = "committed",
) -> Finding:
    """The finding for a hit; `source` is `committed`, `staged` or `shipped` (build output)."""
    doc = RULES[detector.rule_id]
    if hit.partner:
        redact.register(hit.partner)
    identity = hit.identity
    if "\n" in identity:
        # A key body: each line on its own too, as a channel would print it.
        for line in identity.split("\n"):
            redact.register(line)
    print_id = fingerprint(detector, hit)
    text = message or f"{detector.title} in {path} at line {hit.line}."
    if hit.partner:
        text += f" Its secret is on line {hit.partner_line}: the two are one credential, reported once."
    finding = RULES.finding(
        detector.rule_id,
        text,
        severity=detector.severity,
        fix=_FIX_STAGED if source == "staged" else doc.fix,
        location=Location(path=path, line=hit.line, end_line=hit.line, column=hit.column, commit=commit),
        evidence=redact.evidence(identity.replace("\n", ""), detector.title, detector.public_prefix),
        fingerprint=print_id,
        details={**(details or {}), **({"secret_line": hit.partner_line} if hit.partner else {})},
        suppression=suppression_for(hit, print_id, path, baseline_hashes),
    )
    # The rule's title says "committed"; a staged or shipped secret is named where it is.
    return dataclasses.replace(finding, title=f"{doc.title.removesuffix(' committed')} {WHERE[source]}")


def unscanned_findings(skipped: Sequence[Skipped]) -> Iterator[Finding]:
    """A finding for each file or object the scan could not look at, and why."""
    for item in skipped:
        where = f" in commit {item.commit[:10]}" if item.commit else ""
        yield RULES.finding(
            "secrets.unscanned",
            f"{item.path}{where} was not scanned: {item.reason}.",
            location=Location(path=item.path, commit=item.commit),
            subject=f"{item.commit or ''}:{item.reason}",
        )
