"""SARIF 2.1.0 for code scanning: one run per check (its own category), stable fingerprints.

Findings about a URL, a route or a DNS name have no file; they point at the line of the config
key that declared what was checked (see `gate.report.places`), so code scanning shows them on a
line a reviewer can open, and keep the URL or name in `logicalLocations` and in the message.
"""

from __future__ import annotations

import json
from typing import Any

from gate.checks.base import RuleDoc
from gate.model import CheckVerdict, JudgedFinding, Severity
from gate.report import ReportInput
from gate.report.places import ConfigPlaces

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/launch-gate/launch-gate"
_LEVEL = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}
# GitHub reads security-severity as: >9 critical, 7-8.9 high, 4-6.9 medium, below low.
_SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0",
    Severity.INFO: "0.5",
}
_MAX_DESCRIPTION = 1024


def _clip(text: str) -> str:
    return text if len(text) <= _MAX_DESCRIPTION else text[: _MAX_DESCRIPTION - 3] + "..."


def _rule(doc: RuleDoc) -> dict[str, Any]:
    return {
        "id": doc.id,
        "name": "".join(part.capitalize() for part in doc.id.replace(".", "-").split("-")),
        "shortDescription": {"text": _clip(doc.title)},
        "fullDescription": {"text": _clip(doc.why)},
        "help": {
            "text": f"{doc.why}\n\nHow to fix: {doc.fix}",
            "markdown": f"{doc.why}\n\n**How to fix:** {doc.fix}\n\n`gate explain {doc.id}`",
        },
        "defaultConfiguration": {"level": _LEVEL[doc.severity]},
        "properties": {
            "tags": ["security", doc.id.split(".")[0]],
            "security-severity": _SECURITY_SEVERITY[doc.severity],
            "precision": "high",
        },
    }


def _location(judged: JudgedFinding, places: ConfigPlaces) -> dict[str, Any]:
    location = judged.finding.location
    if location.path:
        physical: dict[str, Any] = {"artifactLocation": {"uri": location.path, "uriBaseId": "%SRCROOT%"}}
        region: dict[str, Any] = {"startLine": location.line or 1}
        if location.end_line and location.line and location.end_line >= location.line:
            region["endLine"] = location.end_line
        if location.column:
            region["startColumn"] = location.column
        physical["region"] = region
    else:
        declared = places.declared(judged.finding)
        uri = declared.path if declared else (places.config_path or "gate.yml")
        region = {"startLine": declared.line if declared else 1}
        if declared and declared.column:
            region["startColumn"] = declared.column
        physical = {"artifactLocation": {"uri": uri, "uriBaseId": "%SRCROOT%"}, "region": region}
    result: dict[str, Any] = {"physicalLocation": physical}
    logical = location.url or location.route or location.name
    if logical:
        result["logicalLocations"] = [{"fullyQualifiedName": logical, "kind": "resource"}]
    return result


def _result(judged: JudgedFinding, places: ConfigPlaces) -> dict[str, Any]:
    finding = judged.finding
    text = f"{finding.title}: {finding.message} Fix: {finding.fix}"
    where = str(finding.location)
    if not finding.location.path and finding.location.subject() and where not in finding.message:
        text += f" (at {where})"
    if finding.evidence:
        text += f" (evidence: {finding.evidence})"
    digest = finding.fingerprint.rsplit(":", 1)[-1]
    result: dict[str, Any] = {
        "ruleId": finding.rule_id,
        "level": _LEVEL[finding.severity],
        "message": {"text": text},
        "locations": [_location(judged, places)],
        "partialFingerprints": {"primaryLocationLineHash": digest, "launchGateFingerprint/v1": finding.fingerprint},
        "properties": {"severity": str(finding.severity), "blocking": judged.blocking},
    }
    if judged.suppression is not None:
        result["suppressions"] = [
            {
                "kind": "inSource" if judged.suppression.in_source else "external",
                "status": "accepted",
                "justification": judged.suppression.reason,
            }
        ]
    return result


def _run(check: CheckVerdict, findings: list[JudgedFinding], report: ReportInput) -> dict[str, Any]:
    used = sorted({j.finding.rule_id for j in findings})
    rules = [_rule(report.rules[rule_id]) for rule_id in used if rule_id in report.rules]
    invocation: dict[str, Any] = {"executionSuccessful": check.error is None}
    if check.error:
        invocation["toolExecutionNotifications"] = [{"level": "error", "message": {"text": check.error}}]
    if report.verdict.notes:
        # The policy notes (a pull request changing gate.yml or suppressions) concern every run:
        # a reviewer reading any one category must see that the policy judging it was not the PR's.
        invocation["toolConfigurationNotifications"] = [
            {"level": "warning", "message": {"text": note}} for note in report.verdict.notes
        ]
    return {
        "tool": {
            "driver": {
                "name": "launch-gate",
                "version": report.tool_version,
                "informationUri": INFORMATION_URI,
                "rules": rules,
            }
        },
        "automationDetails": {"id": f"launch-gate/{check.name}/"},
        "invocations": [invocation],
        "results": [_result(j, report.places) for j in findings],
        "properties": {"status": check.status},
    }


def document(report: ReportInput) -> dict[str, Any]:
    verdict = report.verdict
    names = [c.name for c in verdict.checks]
    runs = []
    for check in verdict.checks:
        findings = [j for j in verdict.findings if j.finding.check == check.name]
        runs.append(_run(check, findings, report))
    orphans = [j for j in verdict.findings if j.finding.check not in names]
    if orphans:
        policy = CheckVerdict(name="policy", status="fail", duration_s=0.0, error=None, counts={})
        runs.append(_run(policy, orphans, report))
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": runs}


def render(report: ReportInput) -> str:
    return json.dumps(document(report), indent=2) + "\n"
