"""The JSON report, `launch-gate/report/v1`: a public interface, described by report.schema.json."""

from __future__ import annotations

import json
from typing import Any

from gate.model import JudgedFinding
from gate.report import ReportInput

SCHEMA_NAME = "launch-gate/report/v1"


def _finding(judged: JudgedFinding) -> dict[str, Any]:
    finding = judged.finding
    location = finding.location
    suppression = judged.suppression
    return {
        "rule_id": finding.rule_id,
        "check": finding.check,
        "severity": str(finding.severity),
        "blocking": judged.blocking,
        "title": finding.title,
        "message": finding.message,
        "fix": finding.fix,
        "location": {
            "path": location.path,
            "line": location.line,
            "end_line": location.end_line,
            "column": location.column,
            "commit": location.commit,
            "url": location.url,
            "route": location.route,
            "name": location.name,
        },
        "evidence": finding.evidence,
        "fingerprint": finding.fingerprint,
        "details": {key: _json_value(value) for key, value in finding.details.items()},
        "suppressed": suppression is not None,
        "suppression": None
        if suppression is None
        else {
            "reason": suppression.reason,
            "reviewed_by": suppression.reviewed_by,
            "expires": suppression.expires.isoformat() if suppression.expires else None,
            "source": suppression.source,
        },
    }


def document(report: ReportInput) -> dict[str, Any]:
    verdict = report.verdict
    return {
        "schema": SCHEMA_NAME,
        "tool": {"name": "launch-gate", "version": report.tool_version},
        "started_at": verdict.started_at,
        "duration_s": round(verdict.duration_s, 3),
        "preset": verdict.preset,
        "target": {
            "root": verdict.target.root,
            "repo": verdict.target.repo,
            "commit": verdict.target.commit,
            "url": verdict.target.url,
        },
        "verdict": verdict.outcome,
        "exit_code": verdict.exit_code,
        "checks": [
            {
                "name": check.name,
                "status": check.status,
                "duration_s": round(check.duration_s, 3),
                "error": check.error,
                "counts": dict(check.counts),
            }
            for check in verdict.checks
        ],
        "budgets": [
            {
                "id": budget.id,
                "check": budget.check,
                "subject": budget.subject,
                "measured": budget.measured,
                "limit": budget.limit,
                "comparison": budget.comparison,
                "unit": budget.unit,
                "samples": budget.samples,
                "status": budget.status,
                "note": budget.note,
            }
            for budget in verdict.budgets
        ],
        "findings": [_finding(judged) for judged in verdict.findings],
    } | ({"notes": list(verdict.notes)} if verdict.notes else {})


def render(report: ReportInput) -> str:
    return json.dumps(document(report), indent=2, sort_keys=False) + "\n"


def _json_value(value: Any) -> str | list[str]:
    """A list detail (the URLs a finding was seen on) stays a JSON array; every other value is text."""
    if isinstance(value, list | tuple):
        return [str(item) for item in value]
    return str(value)
