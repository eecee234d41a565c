"""Suppressions and baseline entries written for fingerprints that did not cover the whole secret.

Before, GitHub and GitLab tokens were identified by their prefix (`ghp`, `glpat`: detect-secrets
reports that group), a Google service-account key by the literal `service_account`, a private key
by its header and first body line, a JWT without its signature, an Azure storage key with
`AccountKey=` in front, and an AWS
secret access key was a finding of its own under the access key's rule. A reviewed
suppression of one such finding silenced every secret of the kind. Those suppressions now silence
nothing; each is named here with the fingerprints that replace it, so nothing is un-suppressed
or suppressed without a word.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gate.checks.secrets.detectors import Detector
from gate.checks.secrets.hits import Hit
from gate.checks.secrets.identity import baseline_hash, fingerprint_of_secret
from gate.checks.secrets.rules import RULES
from gate.model import Finding, Location

# What each kind's value used to be when it was not the secret.
SHARED_VALUES: Mapping[str, tuple[str, ...]] = {
    "secrets.github-token": ("ghp", "gho", "ghu", "ghs", "ghr"),
    "secrets.gitlab-token": ("glpat", "gldt", "glft", "glsoat", "glrt"),
    "secrets.google-service-account": ("service_account",),
}
# What detect-secrets' own plugins store (SHA-1 in a baseline) for every secret of a kind.
BASELINE_SHARED_VALUES: tuple[str, ...] = (
    *SHARED_VALUES["secrets.github-token"],
    *SHARED_VALUES["secrets.gitlab-token"],
    "BEGIN DSA PRIVATE KEY",
    "BEGIN EC PRIVATE KEY",
    "BEGIN OPENSSH PRIVATE KEY",
    "BEGIN PGP PRIVATE KEY BLOCK",
    "BEGIN PRIVATE KEY",
    "BEGIN RSA PRIVATE KEY",
    "BEGIN SSH2 ENCRYPTED PRIVATE KEY",
    "PuTTY-User-Key-File-2",
)


def old_prints(detector: Detector, hit: Hit) -> tuple[tuple[str, str], ...]:
    """(old fingerprint, its rule) of this hit from before its value was the whole secret."""
    rule = detector.rule_id
    values: tuple[str, ...] = ()
    if rule == "secrets.google-service-account":
        values = SHARED_VALUES[rule]
    elif rule in SHARED_VALUES:
        values = tuple(v for v in SHARED_VALUES[rule] if hit.secret.startswith(v))
    elif rule == "secrets.azure-storage-key":
        values = ("AccountKey=" + hit.secret,)
    elif rule == "secrets.jwt" and hit.secret.count(".") == 2:
        # detect-secrets' pattern stopped before the signature.
        values = (hit.secret[: hit.secret.rindex(".") + 1],)
    elif rule == "secrets.private-key" and hit.material:
        values = (f"{hit.secret}\n{hit.material.split(chr(10), 1)[0]}",)
    prints = tuple((fingerprint_of_secret(rule, value), rule) for value in values)
    if hit.partner:
        # An AWS secret access key was its own finding, under the access key's rule.
        prints += ((fingerprint_of_secret("secrets.aws-access-key", hit.partner), "secrets.aws-secret-access-key"),)
    elif rule == "secrets.aws-secret-access-key":
        prints += ((fingerprint_of_secret("secrets.aws-access-key", hit.secret), rule),)
    return prints


def stock_values(detector: Detector, hit: Hit) -> tuple[str, ...]:
    """What detect-secrets' own plugin reads of this secret, where that is not the whole secret
    and not shared by the kind (those are in BASELINE_SHARED_VALUES): its baseline hashes it."""
    rule, secret = detector.rule_id, hit.secret
    if rule == "secrets.jwt" and secret.count(".") == 2:
        return (secret[: secret.rindex(".") + 1],)
    if rule == "secrets.azure-storage-key":
        return ("AccountKey=" + secret,)
    if rule == "secrets.stripe-secret-key" and len(secret) > 32:
        return (secret[:32],)
    return ()


@dataclass
class Rekeying:
    """Old fingerprints met during a scan, each with the fingerprints that replace it."""

    replaced_by: dict[str, set[str]] = field(default_factory=dict)
    kinds: dict[str, str] = field(default_factory=dict)
    # SHA-1 of what detect-secrets read of a found secret -> (its title, where it was found).
    stock_hashes: dict[str, tuple[str, str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for rule, values in SHARED_VALUES.items():
            for value in values:
                self.kinds[fingerprint_of_secret(rule, value)] = rule

    def note(self, detector: Detector, hit: Hit, new: str, path: str) -> None:
        for old, rule in old_prints(detector, hit):
            self.kinds.setdefault(old, rule)
            self.replaced_by.setdefault(old, set()).add(new)
        for value in stock_values(detector, hit):
            self.stock_hashes.setdefault(baseline_hash(value), (detector.title, f"{path}:{hit.line}"))

    def stale_baseline_hashes(self, hashes: frozenset[str]) -> Iterator[tuple[str, str]]:
        """(title, place) of each found secret that a baseline entry accepted by a partial value."""
        for digest in sorted(hashes & self.stock_hashes.keys()):
            yield self.stock_hashes[digest]

    def stale(self, suppressions: Iterable[Any], source: str) -> Iterator[tuple[str, str]]:
        """(fingerprint, message) for each suppression whose fingerprint is an old one."""
        for entry in suppressions:
            old = entry.get("fingerprint") if isinstance(entry, Mapping) else None
            if not isinstance(old, str) or old not in self.kinds:
                continue
            new = sorted(self.replaced_by.get(old, ()))
            shared = "old" if old in self.replaced_by and len(self.replaced_by[old]) == 1 else "shared"
            now = (
                f"The findings it stood for now have these fingerprints: {', '.join(new)}."
                if new
                else "No finding of that kind is in this scan."
            )
            yield (
                old,
                f"The suppression {old} in {source} (reason: {entry.get('reason', '')!s}) uses the {shared} "
                f"fingerprint of {self.kinds[old]} from before fingerprints covered the whole secret, so it "
                f"silences nothing now. {now} Review them and suppress the accepted ones by fingerprint.",
            )


def stale_baseline_entries(root: Path, relative: str, hashes: frozenset[str]) -> Iterator[tuple[str, str, str]]:
    """(where, kind, shared value) of each baseline entry hashing a value every secret of its kind
    has. Only read when such a hash is in the (already validated) baseline."""
    shared = {baseline_hash(value): value for value in BASELINE_SHARED_VALUES}
    if not hashes & shared.keys():
        return
    results = json.loads((root / relative).read_text())["results"]
    for path, entries in sorted(results.items()):
        for entry in entries if isinstance(entries, list) else []:
            value = shared.get(str(entry.get("hashed_secret"))) if isinstance(entry, dict) else None
            if value is not None and entry.get("is_secret") is not True:
                yield f"{path}:{entry.get('line_number', '?')}", str(entry.get("type", "secret")), value


def stale_findings(
    rekeying: Rekeying,
    suppressions: Iterable[Any],
    source: str,
    root: Path,
    baseline_path: str,
    baseline: frozenset[str],
) -> Iterator[Finding]:
    """Each suppression (in `source`) or baseline entry made for a fingerprint that was not the whole secret."""
    for old, message in rekeying.stale(suppressions, source):
        yield RULES.finding("secrets.stale-suppression", message, location=Location(path=source), subject=old)
    for place, kind, value in stale_baseline_entries(root, baseline_path, baseline):
        yield RULES.finding(
            "secrets.stale-baseline-entry",
            f"The {baseline_path} entry for {kind} at {place} holds the hash of `{value}`, which every "
            f"{kind} has, so it cannot say which secret was reviewed; it no longer silences anything.",
            location=Location(path=baseline_path),
            subject=place,
        )
    for title, place in rekeying.stale_baseline_hashes(baseline):
        yield RULES.finding(
            "secrets.stale-baseline-entry",
            f"A {baseline_path} entry holds the hash of what detect-secrets read of the {title} at {place}, "
            "which is not the whole secret; it no longer accepts it, and the finding is reported.",
            location=Location(path=baseline_path),
            subject=f"partial:{place}",
        )
