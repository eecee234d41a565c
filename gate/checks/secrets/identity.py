"""How a found secret is known across runs: its fingerprint, and detect-secrets' baseline hash.

Suppressions in gate.yml and detect-secrets baselines written before must keep matching: neither
formula may change.
"""

from __future__ import annotations

import hashlib

from gate import redact
from gate.checks.secrets.detectors import Detector
from gate.checks.secrets.hits import Hit
from gate.model import fingerprint_of


def fingerprint_of_secret(rule_id: str, secret: str) -> str:
    """Rule + hashed secret: the same key anywhere (another file, after a rebase) is one finding."""
    return fingerprint_of(rule_id, "", redact.secret_id(secret))


def fingerprint(detector: Detector, hit: Hit) -> str:
    """The fingerprint of a hit: its rule and the whole secret that identifies it."""
    return fingerprint_of_secret(detector.rule_id, hit.identity)


def baseline_hash(secret: str) -> str:
    """detect-secrets' `hashed_secret`: plain SHA-1 of the value, as its baseline stores it."""
    return hashlib.sha1(secret.encode("utf-8"), usedforsecurity=False).hexdigest()
