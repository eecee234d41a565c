"""`gate handover`: the page from a real run's report and gate.yml, names never values, all escaped."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from gate.config import Config
from gate.handover import sections
from tests.support.handover_support import HOSTILE, LEAKED, handover_project, real_report
from tests.support.helpers import gate


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    return handover_project(tmp_path / "app")


def test_the_page_holds_every_section_from_a_real_run(project: Path) -> None:
    report = real_report(project)
    outcome = gate(
        "handover", "--report", str(report), "--markdown", "handover.md", "--html", "handover.html", cwd=project
    )
    assert outcome.exit_code == 0, outcome.stdout + outcome.stderr
    page = (project / "handover.md").read_text()
    for heading in ("Domains and DNS", "E-mail authentication", "Environment variables", "Secrets found",
                    "Monitoring and alerts", "Deploy", "Rollback", "Open risks", "What was not checked"):  # fmt: skip
        assert f"## {heading}" in page
    assert "| DATABASE\\_URL | development, production | yes | env.manifest.yml:3 |" in page
    assert "| LOG\\_LEVEL | production | no |" in page
    assert "app:app@db.internal-prod" not in page and "api.example.com" not in page  # values never appear
    assert "src/keys.py:1" in page and "AWS" in page and "| yes |" in page
    assert LEAKED not in page and LEAKED not in (project / "handover.html").read_text()
    assert "not checked (the dns check did not run)" in page
    assert "| dns check | not run in the last report" in page
    assert "| www.example.com | points to acme.vercel.app |" in page
    assert "Namecheap / Ana Lima (renews 2027-03-01)" in page
    assert "1. Open Vercel > Deployments" not in page and "1. Open Vercel \\> Deployments" in page
    assert "Last drill 2026-11-20 took 9m (budget 15m)." in page
    assert "| alert channel | \\#ops on Slack | on-call |" in page


def test_a_slow_or_missing_rollback_drill_is_said_plainly(tmp_path: Path) -> None:
    slow = handover_project(
        tmp_path / "slow", "handover:\n  rollback:\n    last_drill: {date: '2026-10-01', took: 40m}\n"
    )
    outcome = gate("handover", "--report", str(real_report(slow)), cwd=slow)
    assert "took 40m: OVER the 15m budget" in outcome.stdout
    none = handover_project(tmp_path / "none", "")
    outcome = gate("handover", "--report", str(real_report(none)), "--preset", "demo", cwd=none)
    assert "No rollback drill recorded: nobody knows the rollback fits the 30m budget." in outcome.stdout
    assert "handover section | gate.yml has no handover" in outcome.stdout
    assert "No monitoring declared" in outcome.stdout


def test_hostile_strings_from_the_report_and_gate_yml_stay_text(project: Path) -> None:
    report_path = real_report(project)
    report = json.loads(report_path.read_text())
    for finding in report["findings"]:
        finding["message"] = HOSTILE
        finding["blocking"] = False
    report_path.write_text(json.dumps(report))
    config = project / "gate.yml"
    config.write_text(config.read_text().replace("owner: Bo Chen\n    steps", f"owner: '{HOSTILE}'\n    steps"))
    outcome = gate("handover", "--report", "gate.json", "--markdown", "h.md", "--html", "h.html", cwd=project)
    assert outcome.exit_code == 0, outcome.stderr
    page = (project / "h.html").read_text()
    tags = set(re.findall(r"<([a-zA-Z!][a-zA-Z0-9]*)", page))
    assert tags <= {"!DOCTYPE", "html", "head", "meta", "title", "style", "body", "h1", "h2", "dl", "dt", "dd",
                    "section", "p", "table", "thead", "tbody", "tr", "th", "td", "strong", "ol", "li"}  # fmt: skip
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "&lt;img src=x onerror=alert(2)&gt;" in page
    markdown = (project / "h.md").read_text()
    assert "![x](" not in markdown and "[click](" not in markdown and "<script>" not in markdown
    assert "\\<script\\>alert(1)\\</script\\> \\| \\!\\[x\\](http" in markdown


def test_a_report_that_is_not_one_is_bad_input(project: Path) -> None:
    (project / "gate.json").write_text('{"schema": "something else"}')
    outcome = gate("handover", "--report", "gate.json", cwd=project)
    assert outcome.exit_code == 2
    assert "is not a launch-gate JSON report" in outcome.stderr
    outcome = gate("handover", "--report", "missing.json", cwd=project)
    assert outcome.exit_code == 2 and "gate run --output json=gate.json" in outcome.stderr


def test_a_watch_section_is_read_tolerantly(tmp_path: Path) -> None:
    watch = {
        "targets": [{"url": "https://example.com/healthz", "every": "1m"}, "https://api.example.com/ping"],
        "alerts": {"channel": "slack:#ops"},
        "interval": "1m",
        "webhook": True,
        "notify": [42, None],
    }
    config = Config(data={"watch": watch, "handover": {}}, preset="launch", root=tmp_path, path=None, suppressions=())
    rows = sections.monitoring(config).rows
    assert rows == [
        ("gate watch: targets", "https://example.com/healthz", ""),
        ("gate watch: targets", "https://api.example.com/ping", ""),
        ("gate watch: alerts", "slack:#ops", ""),
        ("gate watch: notify", "42", ""),
    ]


def test_dns_findings_show_as_seen_and_mail_status_per_record(project: Path) -> None:
    report_path = real_report(project)
    report = json.loads(report_path.read_text())
    counts = dict.fromkeys(("critical", "high", "medium", "low", "info", "suppressed"), 0)
    report["checks"].append({"name": "dns", "status": "fail", "duration_s": 0.1, "error": None, "counts": counts})
    report["checks"].append(
        {"name": "http", "status": "error", "duration_s": 0.1, "error": "preview down", "counts": counts}
    )
    template = next(f for f in report["findings"] if f["check"] == "secrets")
    location = dict.fromkeys(template["location"])
    for rule, name, title in (
        ("dns.host.dangling-cname", "www.example.com", "Dangling CNAME"),
        ("dns.spf.missing", "example.com", "No SPF record"),
        ("dns.not-checked", "example.com", "Part of the DNS check did not run"),
    ):
        report["findings"].append(
            {
                **template,
                "rule_id": rule,
                "check": "dns",
                "severity": "high",
                "title": title,
                "message": f"{name}: {title}",
                "location": {**location, "name": name},
                "blocking": rule != "dns.not-checked",
            }
        )
    report_path.write_text(json.dumps(report))
    outcome = gate("handover", "--report", "gate.json", cwd=project)
    assert outcome.exit_code == 0, outcome.stderr
    page = outcome.stdout
    assert "| www.example.com | points to acme.vercel.app | Dangling CNAME: www.example.com: Dangling CNAME |" in page
    assert "| staging.example.com | must not resolve | as declared |" in page
    assert "| example.com | SPF | high: No SPF record |" in page
    assert "| example.com | DMARC | ok |" in page
    assert "| http check | could not finish: preview down |" in page
    assert "| example.com | example.com: Part of the DNS check did not run |" in page
