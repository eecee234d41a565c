"""Every rule the secrets check can raise, and the one way it turns a rule into a finding.

One rule per kind of secret, read from rules/secrets/detectors.yml (the data users tune) without
importing detect-secrets, so `gate --help` and `gate explain` stay fast; then the rules about the
scan itself: what it could not read, and silencing written for fingerprints that did not cover the
whole secret (see rekey.py).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import yaml

from gate.checks.base import RuleBook, RuleDoc
from gate.checks.secrets.detectors import LOCAL_SUFFIX, local_title, rule_entries
from gate.model import Severity
from gate.rules_data import rules_file

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

_SCAN_RULES = (
    RuleDoc(
        "secrets.unscanned",
        "Part of the repository could not be scanned",
        Severity.MEDIUM,
        "A file or history the scan had to skip (too large, unreadable, outside the tree, a submodule, "
        "a shallow clone's missing commits) may hold a secret nobody looked at.",
        "Read the message: fetch full history (actions/checkout fetch-depth: 0), raise "
        "checks.secrets.max_file_size, or scan the submodule in its own repository.",
    ),
    RuleDoc(
        "secrets.stale-suppression",
        "Suppression made for an old secret fingerprint",
        Severity.MEDIUM,
        "Until fingerprints covered the whole secret, some kinds shared one fingerprint (every GitHub "
        "token was `ghp`), so this reviewed suppression silenced secrets nobody reviewed. It silences "
        "nothing now, and the findings it hid are reported.",
        "Review each finding named in the message; suppress the ones that really are accepted by their "
        "new fingerprint (`gate check secrets --format json` lists them) and delete this entry.",
    ),
    RuleDoc(
        "secrets.stale-baseline-entry",
        "Baseline entry that cannot say which secret was reviewed",
        Severity.MEDIUM,
        "detect-secrets stores the hash of what its plugin matched; for GitHub and GitLab tokens and "
        "private keys that is a prefix or header shared by every secret of the kind, so the entry "
        "would accept any of them. The gate no longer accepts it, and the finding is reported.",
        "Review the finding at that place and suppress it in gate.yml by its fingerprint, or remove "
        "the secret; then delete the entry (or re-run `detect-secrets scan --baseline`).",
    ),
)


def _detector_docs(entries: list[Mapping[str, Any]]) -> Iterator[RuleDoc]:
    """A rule per detector entry (the first entry of an id wins), and its demoted twin for
    credentials in URLs to local or example hosts."""
    seen: set[str] = set()
    for entry in entries:
        rule_id = f"secrets.{entry['id']}"
        if rule_id in seen:
            continue
        seen.add(rule_id)
        generic = bool(entry.get("generic"))
        yield RuleDoc(
            rule_id,
            f"{entry['title']} committed",
            Severity.parse(entry["severity"]),
            _WHY_GENERIC if generic else _WHY_KEYED,
            f"Rotate it: {entry['fix']}" if entry.get("fix") and not generic else entry.get("fix", _FIX_DEFAULT),
        )
        if entry.get("local_hosts") == "demote":
            yield RuleDoc(
                rule_id + LOCAL_SUFFIX,
                f"{local_title(entry['title'])} committed",
                Severity.LOW,
                _WHY_LOCAL,
                f"Rotate it if it is used anywhere: {entry['fix']}",
            )


RULES = RuleBook(
    "secrets",
    [*_detector_docs(rule_entries(yaml.safe_load(rules_file("secrets", "detectors.yml").read_text()))), *_SCAN_RULES],
)
