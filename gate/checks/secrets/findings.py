"""From a raw hit to a `Finding`: the one place a found secret is turned into redacted evidence.

Rule documentation is read from rules/secrets/detectors.yml without importing detect-secrets, so
`gate --help` and `gate explain` stay fast.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

import yaml

from gate import redact
from gate.checks.base import RuleDoc
from gate.checks.secrets.detectors import LOCAL_SUFFIX, Detector, local_title, rule_entries
from gate.checks.secrets.hits import Hit
from gate.model import Finding, Location, Severity, Suppression, fingerprint_of
from gate.rules_data import rules_file

CHECK = "secrets"
_WHY_KEYED = (
    "Anyone with read access to the repository, its history, a fork, a CI log or a build artifact can "
    "use this credential. Deleting it in a later commit does not help: git keeps every version."
)
_WHY_GENERIC = (
    "This looks like a credential assigned in code or config. It is reported at lower severity than a "
    "provider key because its shape alone does not prove it is one."
)
_WHY_LOCAL = (
    "The URL points at a local host or a domain reserved for documentation, so it is most likely a "
    "development or example URL, hence the low severity. The password is still committed, and "
    "development passwords are often reused elsewhere."
)
_FIX_DEFAULT = (
    "Rotate the credential at its provider first (it is leaked as soon as it was pushed), then remove "
    "it from the code and read it from an environment variable or secret store."
)
SCAN_RULES = (
    RuleDoc(
        "secrets.unscanned",
        "Part of the repository could not be scanned",
        Severity.MEDIUM,
        "A file or history the scan had to skip (too large, unreadable, outside the tree, a submodule, "
        "a shallow clone's missing commits) may hold a secret nobody looked at.",
        "Read the message: fetch full history (actions/checkout fetch-depth: 0), raise "
        "checks.secrets.max_file_size, or scan the submodule in its own repository.",
    ),
)


@cache
def rule_docs() -> tuple[RuleDoc, ...]:
    data = yaml.safe_load(rules_file("secrets", "detectors.yml").read_text())
    docs: dict[str, RuleDoc] = {}
    entries: list[Mapping[str, Any]] = rule_entries(data)
    for entry in entries:
        rule_id = f"secrets.{entry['id']}"
        if rule_id in docs:
            continue
        generic = bool(entry.get("generic"))
        docs[rule_id] = RuleDoc(
            rule_id,
            f"{entry['title']} committed",
            Severity.parse(entry["severity"]),
            _WHY_GENERIC if generic else _WHY_KEYED,
            f"Rotate it: {entry['fix']}" if entry.get("fix") and not generic else entry.get("fix", _FIX_DEFAULT),
        )
        if entry.get("local_hosts") == "demote":
            docs[rule_id + LOCAL_SUFFIX] = RuleDoc(
                rule_id + LOCAL_SUFFIX,
                f"{local_title(entry['title'])} committed",
                Severity.LOW,
                _WHY_LOCAL,
                f"Rotate it if it is used anywhere: {entry['fix']}",
            )
    from gate.checks.secrets.rekey import RULES as REKEY_RULES

    for doc in (*SCAN_RULES, *REKEY_RULES):
        docs[doc.id] = doc
    return tuple(docs.values())


def fingerprint(detector: Detector, hit: Hit) -> str:
    """Rule + hashed secret: the same key anywhere (another file, after a rebase) is one finding."""
    return fingerprint_of(detector.rule_id, "", redact.secret_id(hit.identity))


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
    doc = {d.id: d for d in rule_docs()}[detector.rule_id]
    if hit.partner:
        redact.register(hit.partner)
    identity = hit.identity
    if "\n" in identity:
        # A key body: each line on its own too, as a channel would print it.
        for line in identity.split("\n"):
            redact.register(line)
    evidence = redact.evidence(identity.replace("\n", ""), detector.title, detector.public_prefix)
    print_id = fingerprint(detector, hit)
    suppression = None
    if hit.silenced:
        suppression = Suppression(
            reason=hit.silenced, fingerprint=print_id, source=f"{path}:{hit.line}", in_source=True
        )
    elif baseline_hashes and _sha1(identity) in baseline_hashes:
        suppression = Suppression(
            reason="listed in the detect-secrets baseline", fingerprint=print_id, source=".secrets.baseline"
        )
    text = message or f"{detector.title} in {path} at line {hit.line}."
    if hit.partner:
        text += f" Its secret is on line {hit.partner_line}: the two are one credential, reported once."
    return Finding(
        rule_id=detector.rule_id,
        check=CHECK,
        severity=detector.severity,
        title=f"{doc.title.removesuffix(' committed')} {WHERE[source]}",
        message=text,
        fix=_FIX_STAGED if source == "staged" else doc.fix,
        location=Location(path=path, line=hit.line, end_line=hit.line, column=hit.column, commit=commit),
        evidence=evidence,
        fingerprint=print_id,
        details={**(details or {}), **({"secret_line": hit.partner_line} if hit.partner else {})},
        suppression=suppression,
    )


def _sha1(secret: str) -> str:
    """detect-secrets' `hashed_secret`: plain SHA-1 of the value, as its baseline stores it."""
    import hashlib

    return hashlib.sha1(secret.encode("utf-8"), usedforsecurity=False).hexdigest()
