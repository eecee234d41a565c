"""Severity of an OSV record: its CVSS vector first, then the database's own rating.

CVSS v4 is preferred over v3 when a record carries both, because it is the newer assessment of
the same flaw. Vectors are scored by the `cvss` library (Red Hat Product Security), never by a
home-made calculator.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gate.model import Severity

logger = logging.getLogger(__name__)

# GitHub's advisory database says MODERATE where CVSS says medium.
_DATABASE_WORDS = {
    "critical": Severity.CRITICAL,
    "high": Severity.HIGH,
    "moderate": Severity.MEDIUM,
    "medium": Severity.MEDIUM,
    "low": Severity.LOW,
    "none": Severity.INFO,
}
_CVSS_WORDS = {
    "critical": Severity.CRITICAL,
    "high": Severity.HIGH,
    "medium": Severity.MEDIUM,
    "low": Severity.LOW,
    "none": Severity.INFO,
}


@dataclass(frozen=True)
class Rated:
    severity: Severity
    source: str  # "CVSS 3.1 9.8" or "database: MODERATE", for the message


def _score_vector(kind: str, vector: str) -> Rated | None:
    from cvss import CVSS3, CVSS4
    from cvss.exceptions import CVSSError

    try:
        if kind == "CVSS_V4":
            v4 = CVSS4(vector)
            word, score, version = str(v4.severity), float(v4.base_score), "4.0"
        else:
            v3 = CVSS3(vector)
            word, score, version = str(v3.severities()[0]), float(v3.scores()[0]), vector.split("/")[0].split(":")[-1]
    except (CVSSError, ValueError, KeyError, IndexError) as error:
        logger.debug("unreadable %s vector %r: %s", kind, vector, error)
        return None
    level = _CVSS_WORDS.get(word.lower())
    return Rated(level, f"CVSS {version} {score:g}") if level is not None else None


def rate(entries: Sequence[Mapping[str, Any]], database_specific: Mapping[str, Any] | None) -> Rated | None:
    """The record's severity, or None when it carries no usable rating."""
    by_kind: dict[str, Rated] = {}
    for entry in entries:
        if not isinstance(entry, Mapping):
            continue
        kind, vector = entry.get("type"), entry.get("score")
        if kind in ("CVSS_V3", "CVSS_V4") and isinstance(vector, str) and kind not in by_kind:
            rated = _score_vector(kind, vector)
            if rated is not None:
                by_kind[kind] = rated
    for kind in ("CVSS_V4", "CVSS_V3"):
        if kind in by_kind:
            return by_kind[kind]
    word = (database_specific or {}).get("severity")
    if isinstance(word, str) and word.lower() in _DATABASE_WORDS:
        return Rated(_DATABASE_WORDS[word.lower()], f"database: {word}")
    return None
