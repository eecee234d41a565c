"""The data every part of the gate shares: findings, measurements, budgets and the verdict.

Checks produce `Finding`s and `Measurement`s and never decide; `gate.policy` turns them into a
`Verdict`; reporters only render a verdict.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal


class Severity(enum.IntEnum):
    INFO = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @classmethod
    def parse(cls, text: str) -> Severity:
        return cls[text.upper()]

    def __str__(self) -> str:
        return self.name.lower()


@dataclass(frozen=True)
class RuleDoc:
    """What a rule means, why it matters for a launch, and how to fix it."""

    id: str
    title: str
    severity: Severity
    why: str
    fix: str


@dataclass(frozen=True)
class Location:
    """Exactly one primary place a finding points at; what does not apply stays None.

    `path` is relative to the scanned root with `/` separators. DNS findings use `name`.
    HTTP findings use `url` (and `route` for the gate.yml route it belongs to).
    """

    path: str | None = None
    line: int | None = None
    end_line: int | None = None
    column: int | None = None
    commit: str | None = None
    url: str | None = None
    route: str | None = None
    name: str | None = None

    def subject(self) -> str:
        """The most specific human-readable name of the place, for matching and messages."""
        for value in (self.path, self.route, self.url, self.name):
            if value:
                return value
        return ""

    def __str__(self) -> str:
        if self.path:
            text = self.path
            if self.line:
                text += f":{self.line}"
            if self.commit:
                text += f" @ {self.commit[:10]}"
            return text
        return self.route or self.url or self.name or "(no location)"


def fingerprint_of(rule_id: str, subject: str, secret_digest: str = "") -> str:
    """Stable across runs and line moves: rule + subject + an already hashed secret or value."""
    material = "\x1f".join((rule_id, subject, secret_digest)).encode()
    return f"{rule_id}:{hashlib.sha256(material).hexdigest()[:24]}"


@dataclass(frozen=True)
class Finding:
    """Something is wrong here. `evidence` must come from `gate.redact`, never raw."""

    rule_id: str
    check: str
    severity: Severity
    title: str
    message: str
    fix: str
    location: Location = field(default_factory=Location)
    evidence: str | None = None
    fingerprint: str = ""
    details: Mapping[str, Any] = field(default_factory=dict)
    # A reviewed in-source suppression the check itself found (an inline `gate: allow` comment,
    # a detect-secrets pragma or baseline entry); policy treats it like one from gate.yml.
    suppression: Suppression | None = None

    def __post_init__(self) -> None:
        if not self.fingerprint:
            object.__setattr__(self, "fingerprint", fingerprint_of(self.rule_id, self.location.subject()))


Comparison = Literal["max", "min"]


@dataclass(frozen=True)
class Budget:
    """A limit a measurement is judged against, resolved by the check from gate.yml."""

    limit: float
    comparison: Comparison = "max"
    min_samples: int = 0
    warn_only: bool = False


@dataclass(frozen=True)
class Measurement:
    """A number the gate measured, e.g. the p95 of one route, with the budget that applies."""

    name: str
    subject: str
    value: float | None
    unit: str
    check: str
    samples: int = 1
    budget: Budget | None = None
    note: str | None = None


Outcome = Literal["pass", "warn", "fail", "error"]


@dataclass(frozen=True)
class Suppression:
    """A reviewed decision in gate.yml to accept a finding; never a silent drop."""

    reason: str
    fingerprint: str | None = None
    rule: str | None = None
    path: str | None = None
    expires: date | None = None
    reviewed_by: str | None = None
    source: str = "gate.yml"
    # True for a comment beside the code (`gate: allow`, a detect-secrets pragma).
    in_source: bool = False

    def describe(self) -> str:
        target = self.fingerprint or " ".join(part for part in (self.rule, self.path) if part)
        return f"{target} ({self.source})"


@dataclass(frozen=True)
class JudgedFinding:
    finding: Finding
    blocking: bool
    suppression: Suppression | None = None

    @property
    def suppressed(self) -> bool:
        return self.suppression is not None


@dataclass(frozen=True)
class BudgetResult:
    id: str
    check: str
    subject: str
    status: Outcome
    measured: float | None
    limit: float | None
    unit: str
    samples: int | None = None
    comparison: Comparison = "max"
    note: str | None = None


@dataclass(frozen=True)
class CheckResult:
    """What one check produced, or why it could not finish."""

    name: str
    findings: tuple[Finding, ...]
    measurements: tuple[Measurement, ...]
    duration_s: float
    error: str | None = None


@dataclass(frozen=True)
class CheckVerdict:
    name: str
    status: Outcome
    duration_s: float
    error: str | None
    counts: Mapping[str, int]


@dataclass(frozen=True)
class Target:
    root: str
    repo: str | None = None
    commit: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    exit_code: int
    preset: str
    checks: tuple[CheckVerdict, ...]
    budgets: tuple[BudgetResult, ...]
    findings: tuple[JudgedFinding, ...]
    target: Target
    started_at: str
    duration_s: float
    # About the policy that judged the run, e.g. what a pull request changes in it.
    notes: tuple[str, ...] = ()

    @property
    def blocking(self) -> tuple[JudgedFinding, ...]:
        return tuple(f for f in self.findings if f.blocking)
