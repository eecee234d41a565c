"""The job summary: verdict first, a table per check, fixes, suppressions, budgets, within size."""

from __future__ import annotations

import datetime

from gate import redact
from gate.github import summary
from gate.model import Budget, CheckResult, Finding, Location, Measurement, Severity, Suppression, Target, Verdict
from gate.policy import judge


def _verdict(
    findings: list[Finding], measurements: tuple[Measurement, ...] = (), suppressions: tuple[Suppression, ...] = ()
) -> Verdict:
    return judge(
        [CheckResult(name="secrets", findings=tuple(findings), measurements=measurements, duration_s=1.0)],
        fail_on={"secrets": Severity.HIGH},
        suppressions=suppressions,
        preset="launch",
        target=Target(root="/x"),
        started_at="2026-11-23T10:00:00Z",
        duration_s=1.2,
        today=datetime.date(2026, 11, 23),
    )


def _finding(index: int, message: str = "found something", severity: Severity = Severity.HIGH) -> Finding:
    return Finding(
        rule_id="secrets.x",
        check="secrets",
        severity=severity,
        title=f"Problem {index}",
        message=message,
        fix=f"Fix number {index}.",
        location=Location(path=f"src/f{index}.py", line=index + 1),
        fingerprint=f"secrets.x:{index:024d}",
    )


def test_the_verdict_comes_first_then_checks_fixes_findings_suppressed_budgets() -> None:
    budgets = (
        Measurement("latency.p95", "/api/items", 180.0, "ms", "secrets", samples=50, budget=Budget(300.0)),
        Measurement("latency.p95", "/api/report", 2600.0, "ms", "secrets", samples=50, budget=Budget(2000.0)),
    )
    suppressed = Suppression(reason="test fixture, reviewed", rule="secrets.x", path="src/f9.py")
    text = summary.render(_verdict([_finding(i) for i in range(10)], budgets, (suppressed,)))
    first = text.splitlines()[0]
    assert first == "## ❌ launch-gate: NO-GO: release blocked"
    order = [
        text.index(h) for h in ("### Checks", "### Top fixes", "### Findings", "### Suppressed (1)", "### Budgets")
    ]
    assert order == sorted(order)
    assert text.count("\n1. **Problem") == 1 and "\n5. **Problem" in text and "\n6. " not in text
    assert "| test fixture, reviewed |" in text
    assert "#### `/api/items`" in text and "#### `/api/report`" in text


def test_a_bar_marks_the_limit_and_fills_to_the_value() -> None:
    under = summary.bar(150.0, 300.0)
    assert under.count("█") == 10 and under.index("│") == 20
    over = summary.bar(600.0, 300.0)
    assert over.count("█") == 20 and over.index("│") == 10
    assert summary.bar(None, 300.0) == "" and summary.bar(5.0, None) == ""


def test_hostile_text_cannot_inject_markdown_or_html() -> None:
    hostile = "![x](https://evil.example/p.png) <img src=x> | cell | **bold** `code`\nnew line"
    text = summary.render(_verdict([_finding(1, hostile)]))
    row = next(line for line in text.splitlines() if line.startswith("| block"))
    assert "<img" not in row and "![x]" not in row and "\\!\\[x\\]" in row
    assert row.count(" | ") == 4  # the message's `|` did not add a column
    assert "&lt;img src=x&gt;" in row


def test_code_spans_survive_backticks() -> None:
    assert summary.code("a`b") == "``a`b``"
    assert summary.code("`x") == "`` `x ``"


def test_a_huge_verdict_is_cut_to_the_limit_and_says_so() -> None:
    findings = [_finding(i, "x" * 6000) for i in range(800)]
    text = summary.render(_verdict(findings), limit=summary.STEP_SUMMARY_LIMIT)
    assert len(text.encode()) <= summary.STEP_SUMMARY_LIMIT
    assert text.startswith("## ❌ launch-gate: NO-GO")
    assert "more not listed here" in text and "shortened to fit GitHub's size limit" in text
    small = summary.render(_verdict(findings), limit=summary.CHECK_RUN_SUMMARY_LIMIT)
    assert len(small.encode()) <= summary.CHECK_RUN_SUMMARY_LIMIT


def test_registered_secrets_never_reach_the_summary() -> None:
    canary = "CANARY-summary-7c1e0b9d2f"
    redact.register(canary)
    text = summary.render(_verdict([_finding(1, f"value {canary} leaked")]), notes=[f"note {canary}"])
    assert canary not in text


def test_a_pass_says_go_with_its_warnings() -> None:
    text = summary.render(_verdict([_finding(1, severity=Severity.LOW)]))
    assert text.startswith("## ⚠️ launch-gate: GO") and "with 1 warning(s)" in text
