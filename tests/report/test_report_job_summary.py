"""The job summary: verdict first, a table per check, fixes, suppressions, budgets, within size."""

from __future__ import annotations

import datetime

from gate import redact
from gate.model import Budget, CheckResult, Finding, Location, Measurement, Severity, Suppression, Target, Verdict
from gate.policy import judge
from gate.report import job_summary


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
    text = job_summary.render(_verdict([_finding(i) for i in range(10)], budgets, (suppressed,)))
    first = text.splitlines()[0]
    assert first == "## ❌ launch-gate: NO-GO: release blocked"
    order = [
        text.index(h) for h in ("### Checks", "### Top fixes", "### Findings", "### Suppressed (1)", "### Budgets")
    ]
    assert order == sorted(order)
    # One rule, nine places: one top fix naming its distinct fixes, never the same fix five times.
    assert text.count("\n1. **Problem") == 1 and "\n2. " not in text
    assert "9 places, e.g." in text and "(+6 more fixes)" in text
    assert "| test fixture, reviewed |" in text
    assert "#### `/api/items`" in text and "#### `/api/report`" in text


def test_a_bar_marks_the_limit_and_fills_to_the_value() -> None:
    under = job_summary.bar(150.0, 300.0)
    assert under.count("█") == 10 and under.index("│") == 20
    over = job_summary.bar(600.0, 300.0)
    assert over.count("█") == 20 and over.index("│") == 10
    assert job_summary.bar(None, 300.0) == "" and job_summary.bar(5.0, None) == ""


def test_hostile_text_cannot_inject_markdown_or_html() -> None:
    hostile = "![x](https://evil.example/p.png) <img src=x> | cell | **bold** `code`\nnew line"
    text = job_summary.render(_verdict([_finding(1, hostile)]))
    row = next(line for line in text.splitlines() if line.startswith("| `src/f1.py:2`"))
    assert "<img" not in row and "![x]" not in row and "\\!\\[x\\]" in row
    assert row.count(" | ") == 1  # the message's `|` did not add a column
    assert "&lt;img src=x&gt;" in row


def test_code_spans_survive_backticks() -> None:
    assert job_summary.code("a`b") == "``a`b``"
    assert job_summary.code("`x") == "`` `x ``"


def test_a_huge_verdict_is_cut_to_the_limit_and_says_so() -> None:
    findings = [_finding(i, "x" * 6000) for i in range(800)]
    text = job_summary.render(_verdict(findings), limit=job_summary.STEP_SUMMARY_LIMIT)
    assert len(text.encode()) <= job_summary.STEP_SUMMARY_LIMIT
    assert text.startswith("## ❌ launch-gate: NO-GO")
    assert "more not listed here" in text and "shortened to fit GitHub's size limit" in text
    small = job_summary.render(_verdict(findings), limit=job_summary.CHECK_RUN_SUMMARY_LIMIT)
    assert len(small.encode()) <= job_summary.CHECK_RUN_SUMMARY_LIMIT


def test_registered_secrets_never_reach_the_summary() -> None:
    canary = "CANARY-summary-7c1e0b9d2f"
    redact.register(canary)
    text = job_summary.render(_verdict([_finding(1, f"value {canary} leaked")]), notes=[f"note {canary}"])
    assert canary not in text


def test_a_pass_says_go_with_its_warnings() -> None:
    text = job_summary.render(_verdict([_finding(1, severity=Severity.LOW)]))
    assert text.startswith("## ⚠️ launch-gate: GO") and "with 1 warning(s)" in text


def _rule(rule: str, index: int, severity: Severity, fix: str, message: str = "found") -> Finding:
    return Finding(
        rule_id=rule,
        check="secrets",
        severity=severity,
        title=f"Title of {rule}",
        message=message,
        fix=fix,
        location=Location(path=f"src/{rule}/{index}.py", line=index + 1),
        fingerprint=f"{rule}:{index:024d}",
    )


def test_findings_are_grouped_by_rule_with_a_count_and_distinct_fixes_critical_first() -> None:
    findings = [_rule("secrets.aws", i, Severity.CRITICAL, "Rotate the key.") for i in range(67)]
    findings.append(_rule("secrets.generic", 0, Severity.MEDIUM, "Move it to the environment."))
    text = job_summary.render(_verdict(findings))
    [checks_row] = [line for line in text.splitlines() if line.startswith("| ❌ | secrets |")]
    assert "| 67 critical, 1 medium |" in checks_row
    rows = [line for line in text.splitlines() if line.startswith(("| block |", "| warn |"))]
    assert rows == [
        "| block | critical | `secrets.aws` | 67 | Rotate the key. |",
        "| warn | medium | `secrets.generic` | 1 | Move it to the environment. |",
    ]
    top = [line for line in text.splitlines() if line[:3] in ("1. ", "2. ", "3. ")]
    assert len(top) == 2 and "67 places" in top[0] and top[0].count("Rotate the key.") == 1
    assert "<details><summary>secrets.aws: 67 place(s)</summary>" in text


def test_no_table_cell_is_blank() -> None:
    budgets = (Measurement("cold-start", "/api/a", None, "ms", "secrets", samples=0, budget=Budget(300.0)),)
    suppressed = Suppression(reason="reviewed", rule="secrets.generic")
    findings = [_rule("secrets.aws", 0, Severity.HIGH, ""), _rule("secrets.generic", 1, Severity.LOW, "x", "")]
    text = job_summary.render(_verdict(findings, budgets, (suppressed,)))
    for line in text.splitlines():
        if line.startswith("|") and not line.startswith("|---"):
            cells = line.strip("|").split(" | ")
            assert all(cell.strip() for cell in cells), line


def test_thousands_of_findings_stay_within_the_step_summary_limit_grouped_by_rule() -> None:
    rules = [f"secrets.rule-{n}" for n in range(30)]
    findings = [_rule(rules[i % 30], i, Severity(i % 5), f"Fix {i % 7}.", "a long message " * 40) for i in range(6000)]
    text = job_summary.render(_verdict(findings), limit=job_summary.STEP_SUMMARY_LIMIT)
    assert len(text.encode()) <= job_summary.STEP_SUMMARY_LIMIT
    # Every rule keeps its row and count even when the places had to be cut.
    for rule in rules:
        assert f"| `{rule}` | 200 |" in text
    assert "(+4 more fixes)" in text
    check_run = job_summary.render(_verdict(findings), limit=job_summary.CHECK_RUN_SUMMARY_LIMIT)
    assert len(check_run.encode()) <= job_summary.CHECK_RUN_SUMMARY_LIMIT and "secrets.rule-0" in check_run
