"""JUnit XML for CI systems that show test results: a suite per check, a case per finding or budget."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from gate.report import ReportInput

# XML 1.0 cannot carry most control characters, and file names or server answers may hold them.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _clean(text: str) -> str:
    return _NOT_XML.sub(lambda match: f"\\x{ord(match.group()):02x}", text)


def render(report: ReportInput) -> str:
    verdict = report.verdict
    root = ET.Element("testsuites", name="launch-gate", time=f"{verdict.duration_s:.3f}")
    for check in verdict.checks:
        suite = ET.SubElement(root, "testsuite", name=check.name, time=f"{check.duration_s:.3f}")
        cases = failures = errors = skipped = 0
        if check.error:
            case = ET.SubElement(suite, "testcase", classname=f"gate.{check.name}", name="check finished")
            ET.SubElement(case, "error", message=check.error)
            cases, errors = cases + 1, errors + 1
        for judged in (j for j in verdict.findings if j.finding.check == check.name):
            finding = judged.finding
            case = ET.SubElement(
                suite, "testcase", classname=f"gate.{check.name}", name=f"{finding.rule_id} at {finding.location}"
            )
            cases += 1
            body = f"{finding.message}\nfix: {finding.fix}"
            if judged.suppressed:
                assert judged.suppression is not None
                ET.SubElement(case, "skipped", message=f"suppressed: {judged.suppression.reason}")
                skipped += 1
            elif judged.blocking:
                ET.SubElement(case, "failure", message=finding.title, type=str(finding.severity)).text = body
                failures += 1
            else:
                ET.SubElement(case, "system-out").text = f"[{finding.severity}] {finding.title}: {body}"
        for budget in (b for b in verdict.budgets if b.check == check.name):
            case = ET.SubElement(
                suite, "testcase", classname=f"gate.{check.name}", name=f"{budget.id} {budget.subject}"
            )
            cases += 1
            text = f"measured {budget.measured} {budget.unit}, limit {budget.limit} {budget.unit}"
            if budget.status == "fail":
                ET.SubElement(case, "failure", message=text, type="budget")
                failures += 1
            elif budget.status == "error":
                ET.SubElement(case, "error", message=budget.note or text)
                errors += 1
        if cases == 0:
            ET.SubElement(suite, "testcase", classname=f"gate.{check.name}", name="no findings")
            cases = 1
        suite.set("tests", str(cases))
        suite.set("failures", str(failures))
        suite.set("errors", str(errors))
        suite.set("skipped", str(skipped))
    if verdict.notes:
        # A suite of its own, so CI test views show that the policy judging this run is not the one
        # the pull request proposes; notes inform, they neither pass nor fail anything.
        suite = ET.SubElement(root, "testsuite", name="policy", tests="1", failures="0", errors="0", skipped="0")
        case = ET.SubElement(suite, "testcase", classname="gate.policy", name="policy changes in this run")
        ET.SubElement(case, "system-out").text = "\n".join(verdict.notes)
    for element in root.iter():
        element.attrib.update({key: _clean(value) for key, value in element.attrib.items()})
        if element.text:
            element.text = _clean(element.text)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
