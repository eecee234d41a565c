"""Turns what the checks found and measured into one verdict, applying reviewed suppressions.

This is the only place that decides pass or fail.
"""

from __future__ import annotations

import datetime
import fnmatch
from collections import Counter
from collections.abc import Iterable, Sequence

from gate.errors import EXIT_BAD_INPUT, EXIT_BLOCKED, EXIT_INTERNAL, EXIT_PASS
from gate.model import (
    BudgetResult,
    CheckResult,
    CheckVerdict,
    Finding,
    JudgedFinding,
    Location,
    Measurement,
    Outcome,
    RuleDoc,
    Severity,
    Suppression,
    Target,
    Verdict,
)

DEFAULT_FAIL_ON = "high"
EXPIRED = RuleDoc(
    "policy.suppression-expired",
    "Suppression expired",
    Severity.HIGH,
    "A suppression is a reviewed promise to fix something by a date; past it, the finding must be "
    "looked at again rather than stay hidden forever.",
    "Fix the findings it covered and delete the suppression, or review it again and move its "
    "`expires` date in gate.yml.",
)
# Rules the gate raises about its own configuration rather than about the project.
POLICY_RULES = (EXPIRED,)
EXIT_FOR: dict[Outcome, int] = {"pass": EXIT_PASS, "warn": EXIT_PASS, "fail": EXIT_BLOCKED, "error": EXIT_INTERNAL}
assert EXIT_BAD_INPUT not in EXIT_FOR.values()  # bad input never reaches a verdict


# Findings that say a check could not look (a file not scanned, a package not audited, a preview
# that did not answer). A glob written for what the check found must not also hide what it never
# saw; only a suppression naming the rule exactly (or the finding's fingerprint) may.
COULD_NOT_LOOK = frozenset(
    {
        "secrets.unscanned",
        "deps.unaudited",
        "http.preview.unreachable",
        "http.tls.legacy-untested",
        "http.cache.private-unchecked",
        "http.route.writes-skipped",
    }
)


def matches(suppression: Suppression, finding: Finding) -> bool:
    if suppression.fingerprint is not None:
        return suppression.fingerprint == finding.fingerprint
    if finding.rule_id in COULD_NOT_LOOK and suppression.rule != finding.rule_id:
        return False
    if suppression.rule is not None and not fnmatch.fnmatchcase(finding.rule_id, suppression.rule):
        return False
    if suppression.path is not None:
        places = [
            p for p in (finding.location.path, finding.location.route, finding.location.url, finding.location.name) if p
        ]
        return any(fnmatch.fnmatchcase(place, suppression.path) for place in places)
    return True


def _expired_finding(suppression: Suppression, today: datetime.date) -> Finding:
    assert suppression.expires is not None
    return Finding(
        rule_id=EXPIRED.id,
        check="policy",
        severity=EXPIRED.severity,
        title=EXPIRED.title,
        message=(
            f"The suppression of {suppression.describe()} expired on {suppression.expires.isoformat()} "
            f"({(today - suppression.expires).days} days ago); the findings it covered block again. "
            f"Its reason was: {suppression.reason}"
        ),
        fix=EXPIRED.fix,
        location=Location(path=suppression.source),
    )


def _judge_measurement(measurement: Measurement) -> BudgetResult:
    budget = measurement.budget
    status: Outcome = "pass"
    note = measurement.note
    if budget is not None:
        if measurement.value is None:
            status = "error"
            note = note or "could not be measured"
        elif measurement.samples < budget.min_samples:
            status = "error"
            note = f"only {measurement.samples} samples; at least {budget.min_samples} are needed to judge this"
        else:
            over = measurement.value > budget.limit if budget.comparison == "max" else measurement.value < budget.limit
            if over:
                status = "warn" if budget.warn_only else "fail"
    return BudgetResult(
        id=measurement.name,
        check=measurement.check,
        subject=measurement.subject,
        status=status,
        measured=measurement.value,
        limit=budget.limit if budget else None,
        unit=measurement.unit,
        samples=measurement.samples,
        comparison=budget.comparison if budget else "max",
        note=note,
    )


def open_findings_text(verdict: Verdict) -> str:
    """Findings that neither block nor are suppressed: "2 warning(s) and 1 note(s)", or ""."""
    open_findings = [j for j in verdict.findings if not j.blocking and not j.suppressed]
    notes = sum(1 for j in open_findings if j.finding.severity == Severity.INFO)
    warnings = len(open_findings) - notes
    return " and ".join([f"{warnings} warning(s)"] * bool(warnings) + [f"{notes} note(s)"] * bool(notes))


def _worst(statuses: Iterable[Outcome]) -> Outcome:
    order: list[Outcome] = ["pass", "warn", "fail", "error"]
    return max(statuses, key=order.index, default="pass")


def _outcome(statuses: Sequence[Outcome], definite_failure: bool) -> Outcome:
    """Exit-code precedence: a definite failure (a blocking finding, a budget measured over its
    limit, an expired suppression) is `fail` (exit 1) even when another check could not finish;
    the reports still name the checks that could not. `error` (exit 3) only when nothing definite
    failed, since "blocked by X" is more use than "could not judge Y" and both block the release."""
    if definite_failure:
        return "fail"
    return _worst(statuses)


def judge(
    results: Sequence[CheckResult],
    *,
    fail_on: dict[str, Severity],
    suppressions: Sequence[Suppression],
    preset: str,
    target: Target,
    started_at: str,
    duration_s: float,
    today: datetime.date | None = None,
) -> Verdict:
    """Budgets per check: no unsuppressed finding at or above `fail_on`; measurements within limits.

    `fail_on` maps check names to thresholds, and may map rule ids to a threshold of their own.
    """
    today = today or datetime.date.today()
    live = [s for s in suppressions if s.expires is None or s.expires >= today]
    expired = [s for s in suppressions if s.expires is not None and s.expires < today]

    judged: list[JudgedFinding] = []
    check_verdicts: list[CheckVerdict] = []
    budgets: list[BudgetResult] = []
    for result in results:
        threshold = fail_on.get(result.name, Severity.parse(DEFAULT_FAIL_ON))
        counts: Counter[str] = Counter()
        blocking_here = False
        for finding in result.findings:
            suppression = finding.suppression or next((s for s in live if matches(s, finding)), None)
            blocking = suppression is None and finding.severity >= fail_on.get(finding.rule_id, threshold)
            blocking_here |= blocking
            counts["suppressed" if suppression else str(finding.severity)] += 1
            judged.append(JudgedFinding(finding=finding, blocking=blocking, suppression=suppression))
        measured = [_judge_measurement(m) for m in result.measurements]
        budgets.extend(measured)
        if result.error is not None:
            status: Outcome = "error"
        else:
            # Info findings are notes (an unsigned zone, a part not checked): they do not make a warning.
            unsuppressed = counts.total() - counts["suppressed"] - counts[str(Severity.INFO)]
            status = _worst(
                [b.status for b in measured] + ["fail" if blocking_here else ("warn" if unsuppressed else "pass")]
            )
        check_verdicts.append(
            CheckVerdict(
                name=result.name,
                status=status,
                duration_s=result.duration_s,
                error=result.error,
                counts={str(level): counts[str(level)] for level in Severity} | {"suppressed": counts["suppressed"]},
            )
        )

    for suppression in expired:
        judged.append(JudgedFinding(finding=_expired_finding(suppression, today), blocking=True))

    definite = any(j.blocking for j in judged) or any(b.status == "fail" for b in budgets)
    outcome = _outcome([c.status for c in check_verdicts], definite)
    judged.sort(key=lambda j: (j.suppressed, not j.blocking, -j.finding.severity, j.finding.check, j.finding.rule_id))
    return Verdict(
        outcome=outcome,
        exit_code=EXIT_FOR[outcome],
        preset=preset,
        checks=tuple(check_verdicts),
        budgets=tuple(budgets),
        findings=tuple(judged),
        target=target,
        started_at=started_at,
        duration_s=duration_s,
    )
