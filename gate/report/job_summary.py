"""The job summary and check-run text: Markdown people read on the run page.

Order is what a reader needs first: the verdict, then one row per check (severities from critical
down), the top fixes (one per rule, its distinct fixes), the findings per check grouped by rule with
a count and their places folded, what was suppressed and why, and the budgets with a bar per route.
No table cell is left blank. Every
piece of text from a finding is escaped, since a finding may quote a file an attacker wrote, and
the whole is kept under the size GitHub takes (1 MiB per step summary, 65,535 characters for a
check run's summary); when it would not fit, rows are dropped and the text says how many.
"""

from __future__ import annotations

import html
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from gate.model import BudgetResult, JudgedFinding, Severity, Verdict
from gate.policy import open_findings_text
from gate.redact import scrub
from gate.report.bars import bar, number

STEP_SUMMARY_LIMIT = 1024 * 1024
CHECK_RUN_SUMMARY_LIMIT = 65_535
TOP_FIXES = 5
# Enough to stop emphasis, links, images and tables; `(` only matters after an escaped `]`.
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>!|~])")
_ICON = {"pass": "✅", "warn": "⚠️", "fail": "❌", "error": "🛑", "skipped": "⏭️"}


def md(text: str) -> str:
    """Inline text safe in a table cell: no Markdown, no HTML, no line breaks."""
    text = scrub(text).replace("\r", " ").replace("\n", " ")
    return _MD_SPECIAL.sub(r"\\\1", html.escape(text, quote=False))


def code(text: str) -> str:
    """A code span that no backtick inside can close early."""
    text = scrub(text).replace("\r", " ").replace("\n", " ").replace("|", "\\|")
    fence = "`"
    while fence in text:
        fence += "`"
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


@dataclass(frozen=True)
class Headline:
    icon: str
    title: str
    detail: str


def headline(verdict: Verdict) -> Headline:
    blocking = verdict.blocking
    if verdict.outcome == "error":
        names = ", ".join(c.name for c in verdict.checks if c.status == "error") or "the run"
        return Headline(
            _ICON["error"],
            "NO-GO: a check could not finish",
            f"{names} could not finish; the gate fails closed (exit 3).",
        )
    if verdict.outcome == "fail":
        failed = [b for b in verdict.budgets if b.status == "fail"]
        reasons = []
        if blocking:
            reasons.append(f"{len(blocking)} blocking finding(s)")
        if failed:
            reasons.append(f"{len(failed)} budget(s) over their limit")
        unfinished = ", ".join(c.name for c in verdict.checks if c.status == "error")
        tail = f" {unfinished} could not finish, so more may be wrong." if unfinished else ""
        return Headline(
            _ICON["fail"],
            "NO-GO: release blocked",
            f"Blocked by {' and '.join(reasons) or 'the policy'} (exit 1).{tail}",
        )
    remaining = open_findings_text(verdict)
    tail = f", with {remaining}" if remaining else ""
    icon = _ICON["warn"] if verdict.outcome == "warn" else _ICON["pass"]
    return Headline(icon, "GO", f"Every budget of the {verdict.preset} preset holds{tail} (exit 0).")


def _where(judged: JudgedFinding) -> str:
    return code(str(judged.finding.location))


def _cell(text: str) -> str:
    """A table cell that is never blank: GitHub draws an empty cell as a hole in the table."""
    return text if text.strip() else "-"


def by_rule(findings: Sequence[JudgedFinding]) -> list[list[JudgedFinding]]:
    """One group per rule: blocking first, then the most severe, then the most frequent."""
    groups: dict[str, list[JudgedFinding]] = defaultdict(list)
    for judged in findings:
        groups[judged.finding.rule_id].append(judged)
    return sorted(
        groups.values(),
        key=lambda group: (
            not any(j.blocking for j in group),
            -max(j.finding.severity for j in group),
            -len(group),
            group[0].finding.rule_id,
        ),
    )


def _fixes(group: Sequence[JudgedFinding], shown: int = 3) -> str:
    distinct = list(dict.fromkeys(j.finding.fix for j in group))
    text = " · ".join(md(fix) for fix in distinct[:shown])
    if len(distinct) > shown:
        text += f" (+{len(distinct) - shown} more fixes)"
    return text


def _severity(group: Sequence[JudgedFinding]) -> str:
    return str(max(j.finding.severity for j in group))


def _rule_tables(group_list: Sequence[list[JudgedFinding]], rows_per_rule: int) -> list[str]:
    """A row per rule (count, distinct fixes), then each rule's places, folded, up to `rows_per_rule`."""
    lines = ["| result | severity | rule | count | how to fix |", "|---|---|---|---|---|"]
    for group in group_list:
        mark = "block" if any(j.blocking for j in group) else "warn"
        rule = group[0].finding.rule_id
        lines.append(f"| {mark} | {_severity(group)} | {code(rule)} | {len(group)} | {_cell(_fixes(group))} |")
    lines.append("")
    if rows_per_rule == 0:
        return lines
    for group in group_list:
        rule = group[0].finding.rule_id
        places = sorted(group, key=lambda j: (not j.blocking, -j.finding.severity))
        lines += [
            f"<details><summary>{html.escape(rule)}: {len(group)} place(s)</summary>",
            "",
            "| where | what |",
            "|---|---|",
        ]
        for judged in places[:rows_per_rule]:
            finding = judged.finding
            what = md(finding.message)
            if finding.evidence:
                what += f" (evidence: {code(finding.evidence)})"
            lines.append(f"| {_where(judged)} | {_cell(what)} |")
        if len(places) > rows_per_rule:
            lines.append(f"\n…and {len(places) - rows_per_rule} more not listed here (see the SARIF or JSON report).")
        lines += ["", "</details>", ""]
    return lines


def _budget_tables(budgets: Sequence[BudgetResult]) -> list[str]:
    by_subject: dict[str, list[BudgetResult]] = defaultdict(list)
    for budget in budgets:
        by_subject[budget.subject or budget.check].append(budget)
    lines: list[str] = []
    for subject, rows in by_subject.items():
        lines += [
            f"#### {code(subject)}",
            "",
            "| result | budget | measured | limit | against the limit |",
            "|---|---|---|---|---|",
        ]
        for budget in rows:
            relation = "≤" if budget.comparison == "max" else "≥"
            limit = f"{relation} {number(budget.limit, budget.unit)}" if budget.limit is not None else "-"
            note = f" ({md(budget.note)})" if budget.note else ""
            samples = f", n={budget.samples}" if budget.samples and budget.samples > 1 else ""
            chart = bar(budget.measured, budget.limit)
            measured = f"{number(budget.measured, budget.unit)}{samples}{note}"
            chart_cell = code(chart) if chart else "-"
            icon = _ICON.get(budget.status, budget.status)
            lines.append(f"| {icon} | {md(budget.id)} | {measured} | {limit} | {chart_cell} |")
        lines.append("")
    return lines


def render(
    verdict: Verdict,
    *,
    context_line: str | None = None,
    notes: Sequence[str] = (),
    limit: int = STEP_SUMMARY_LIMIT,
    rows_per_check: int = 200,
) -> str:
    """The whole summary within `limit` bytes (UTF-8); drops finding rows first, then says so."""
    while True:
        text = _render(verdict, context_line, notes, rows_per_check)
        if len(text.encode()) <= limit:
            return text
        if rows_per_check == 0:
            return _minimal(verdict, limit)
        rows_per_check //= 4


def _render(verdict: Verdict, context_line: str | None, notes: Sequence[str], rows_per_check: int) -> str:
    head = headline(verdict)
    lines = [f"## {head.icon} launch-gate: {head.title}", "", f"**{md(head.detail)}**", ""]
    facts = [f"preset **{md(verdict.preset)}**", f"{verdict.duration_s:.1f} s"]
    if verdict.target.commit:
        facts.append(f"commit {code(verdict.target.commit[:12])}")
    if context_line:
        facts.append(md(context_line))
    lines += [" · ".join(facts), ""]
    for note in notes:
        lines.append(f"> [!NOTE]\n> {md(note)}\n")
    lines += ["### Checks", "", "| result | check | status | findings | time |", "|---|---|---|---|---|"]
    for check in verdict.checks:
        order = [*(str(level) for level in sorted(Severity, reverse=True)), "suppressed"]
        counts = ", ".join(f"{check.counts[k]} {k}" for k in order if check.counts.get(k)) or "none"
        status = check.status + (f": {md(check.error)}" if check.error else "")
        lines.append(f"| {_ICON[check.status]} | {md(check.name)} | {status} | {counts} | {check.duration_s:.1f} s |")
    lines.append("")
    active = [j for j in verdict.findings if not j.suppressed]
    groups = by_rule(active)
    if groups:
        lines += ["### Top fixes", ""]
        for index, group in enumerate(groups[:TOP_FIXES], 1):
            first = group[0]
            places = f"{len(group)} places, e.g. {_where(first)}" if len(group) > 1 else _where(first)
            lines.append(
                f"{index}. **{md(first.finding.title)}** ({code(first.finding.rule_id)}, {places}): {_fixes(group)}"
            )
        lines.append("")
    by_check: dict[str, list[JudgedFinding]] = defaultdict(list)
    for judged in active:
        by_check[judged.finding.check].append(judged)
    if by_check:
        lines += ["### Findings", ""]
        for name, found in by_check.items():
            blocking = sum(1 for j in found if j.blocking)
            lines += [f"#### {md(name)}: {len(found)} finding(s), {blocking} blocking", ""]
            lines += _rule_tables(by_rule(found), rows_per_check)
    suppressed = [j for j in verdict.findings if j.suppressed]
    if suppressed:
        lines += [
            f"### Suppressed ({len(suppressed)}), reviewed in gate.yml",
            "",
            "| rule | where | reason | expires |",
            "|---|---|---|---|",
        ]
        for judged in suppressed[: max(rows_per_check, 1)]:
            assert judged.suppression is not None
            expires = judged.suppression.expires.isoformat() if judged.suppression.expires else "never"
            reason = _cell(md(judged.suppression.reason))
            lines.append(f"| {code(judged.finding.rule_id)} | {_where(judged)} | {reason} | {expires} |")
        if len(suppressed) > rows_per_check:
            lines.append(f"\n…and {len(suppressed) - rows_per_check} more suppressed (see the JSON report).")
        lines.append("")
    if verdict.budgets:
        lines += ["### Budgets", "", *_budget_tables(verdict.budgets)]
    if rows_per_check < 200:
        lines.append(
            "_This summary was shortened to fit GitHub's size limit; the JSON and SARIF reports have everything._"
        )
    return "\n".join(lines) + "\n"


def _minimal(verdict: Verdict, limit: int) -> str:
    head = headline(verdict)
    blocking = len(verdict.blocking)
    text = (
        f"## {head.icon} launch-gate: {head.title}\n\n**{md(head.detail)}**\n\n"
        f"{blocking} blocking finding(s) of {len(verdict.findings)}. The full summary did not fit GitHub's size "
        "limit; read the JSON and SARIF reports.\n"
    )
    return text.encode()[:limit].decode(errors="ignore")
