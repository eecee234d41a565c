"""The console report: grouped by severity, what is wrong, where, how to fix; go/no-go last."""

from __future__ import annotations

from collections import Counter

from gate.model import BudgetResult, JudgedFinding, Severity
from gate.policy import open_findings_text
from gate.printable import printable
from gate.report import ReportInput
from gate.report.bars import bar

_STYLE = {"critical": "\033[1;31m", "high": "\033[31m", "medium": "\033[33m", "low": "\033[36m", "info": "\033[2m"}
_OUTCOME = {"pass": "\033[1;32m", "warn": "\033[1;33m", "fail": "\033[1;31m", "error": "\033[1;35m"}
_RESET = "\033[0m"


def _paint(text: str, code: str, color: bool) -> str:
    return f"{code}{text}{_RESET}" if color else text


def _number(value: float | None, unit: str) -> str:
    if value is None:
        return "n/a"
    if unit == "ratio":
        return f"{value * 100:.2f}%"
    return f"{value:.0f} {unit}" if abs(value) >= 10 else f"{value:.3g} {unit}"


def _finding_lines(judged: JudgedFinding, color: bool) -> list[str]:
    finding = judged.finding
    mark = "BLOCK" if judged.blocking else "warn "
    head = f"  {mark} {printable(finding.title)}  [{finding.rule_id}]"
    lines = [_paint(head, _STYLE[str(finding.severity)], color), f"        at {printable(finding.location)}"]
    lines.append(f"        {printable(finding.message)}")
    if finding.evidence:
        lines.append(f"        evidence: {printable(finding.evidence)}")
    lines.append(f"        fix: {printable(finding.fix)}")
    return lines


def _budget_line(budget: BudgetResult) -> str:
    relation = "<=" if budget.comparison == "max" else ">="
    limit = _number(budget.limit, budget.unit) if budget.limit is not None else "-"
    samples = f" n={budget.samples}" if budget.samples and budget.samples > 1 else ""
    note = f"  ({printable(budget.note)})" if budget.note else ""
    # The bar makes a route that is near, at or far over its limit visible without reading numbers.
    chart = bar(budget.measured, budget.limit, width=12)
    return (
        f"  {budget.status.upper():5} {budget.id:<24} {printable(budget.subject):<28} {chart:<13} "
        f"{_number(budget.measured, budget.unit)} {relation} {limit}{samples}{note}"
    )


def _go_line(report: ReportInput) -> str:
    verdict = report.verdict
    blocking = verdict.blocking
    errors = [c for c in verdict.checks if c.status == "error"]
    failed_budgets = [b for b in verdict.budgets if b.status == "fail"]
    if verdict.outcome == "error":
        names = ", ".join(c.name for c in errors)
        return (
            f"NO-GO (exit 3): check(s) could not finish: {names}. The gate fails closed; fix the cause and run again."
        )
    if verdict.outcome == "fail":
        counts = Counter(str(j.finding.severity) for j in blocking)
        parts = [f"{counts[str(s)]} {s}" for s in sorted(Severity, reverse=True) if counts[str(s)]]
        reasons = []
        if blocking:
            reasons.append(f"{len(blocking)} blocking finding(s) ({', '.join(parts)})")
        if failed_budgets:
            reasons.append(f"{len(failed_budgets)} budget(s) over their limit")
        first = (
            f" First fix: {printable(blocking[0].finding.title)} at {printable(blocking[0].finding.location)}."
            if blocking
            else ""
        )
        unfinished = (
            f" Also, check(s) could not finish, so more may be wrong: {', '.join(c.name for c in errors)}."
            if errors
            else ""
        )
        return f"NO-GO (exit 1): release blocked by {' and '.join(reasons)}.{first}{unfinished}"
    remaining = open_findings_text(verdict)
    tail = f" with {remaining}" if remaining else ""
    return f"GO (exit 0): every budget of the {verdict.preset} preset holds{tail}."


def render(report: ReportInput) -> str:
    verdict = report.verdict
    color = report.color
    lines = [f"launch-gate {report.tool_version} · preset {verdict.preset} · {printable(verdict.target.root)}", ""]
    if verdict.notes:
        lines += ["POLICY", *(f"  - {printable(note)}" for note in verdict.notes), ""]
    active = [j for j in verdict.findings if not j.suppressed]
    for level in sorted(Severity, reverse=True):
        group = [j for j in active if j.finding.severity == level]
        if not group:
            continue
        lines.append(_paint(f"{str(level).upper()} ({len(group)})", _STYLE[str(level)], color))
        for judged in group:
            lines.extend(_finding_lines(judged, color))
        lines.append("")
    suppressed = [j for j in verdict.findings if j.suppressed]
    if suppressed:
        lines.append(f"SUPPRESSED ({len(suppressed)}), each reviewed where it says:")
        for judged in suppressed:
            assert judged.suppression is not None
            expiry = f", expires {judged.suppression.expires}" if judged.suppression.expires else ""
            lines.append(
                f"  - {judged.finding.rule_id} at {printable(judged.finding.location)}: "
                f"{printable(judged.suppression.reason)}{expiry} [{printable(judged.suppression.source)}]"
            )
        lines.append("")
    if verdict.budgets:
        lines.append("BUDGETS")
        lines.extend(_budget_line(b) for b in verdict.budgets)
        lines.append("")
    lines.append("CHECKS")
    for check in verdict.checks:
        counts = ", ".join(f"{n} {k}" for k, n in check.counts.items() if n)
        detail = printable(check.error) if check.error else counts or "no findings"
        lines.append(f"  {check.status.upper():5} {check.name:<10} {check.duration_s:6.2f}s  {detail}")
    lines.append("")
    lines.append(_paint(_go_line(report), _OUTCOME[verdict.outcome], color))
    return "\n".join(lines) + "\n"
