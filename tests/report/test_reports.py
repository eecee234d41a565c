"""Reporters render the verdict in each format; files are written whole or not at all."""

from __future__ import annotations

import contextlib
import json
import os
import resource
import signal
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import pytest

from gate.demo import env_part
from tests.support.helpers import gate, write_files

pytestmark = pytest.mark.usefixtures("fake_checks")

CONFIG = (
    "version: 1\nchecks:\n  env:\n    enabled: false\n"
    "  deps: {enabled: false}\n  secrets: {enabled: false}\n  planted:\n    enabled: true\n"
    "    problems: [src/app.py, tests/fixture.py]\n    notes: [README.md]\n"
    "    latency: {'GET /feed': 120}\n"
    "  asyncslow:\n    enabled: true\n"
    "suppressions:\n  - rule: fake.problem\n    path: tests/*\n    reason: fixture data\n    reviewed_by: alice\n"
    "    expires: 2999-12-31\n"
)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return write_files(tmp_path, {"gate.yml": CONFIG})


def test_one_run_writes_every_format(project: Path) -> None:
    outcome = gate(
        "run",
        "--output",
        "json=out/r.json",
        "--output",
        "sarif=out/r.sarif",
        "--output",
        "junit=out/r.xml",
        "--output",
        "console=out/r.txt",
        cwd=project,
    )
    assert outcome.exit_code == 1
    assert {p.name for p in (project / "out").iterdir()} == {"r.json", "r.sarif", "r.xml", "r.txt"}
    assert (project / "out" / "r.txt").read_text() == outcome.stdout


def test_console_groups_by_severity_and_ends_with_the_verdict(project: Path) -> None:
    out = gate("run", cwd=project).stdout
    assert out.index("HIGH (1)") < out.index("LOW (2)") < out.index("SUPPRESSED (1)") < out.index("BUDGETS")
    assert "at src/app.py:1" in out and "fix: Remove the plant." in out
    assert "fixture data, expires 2999-12-31" in out
    last = out.strip().splitlines()[-1]
    assert last.startswith("NO-GO (exit 1): release blocked by 1 blocking finding(s) (1 high)")
    assert "First fix: A planted problem at src/app.py:1" in last


def test_console_colour_only_when_asked(project: Path) -> None:
    assert "\033[" not in gate("run", cwd=project).stdout
    assert "\033[1;31m" in gate("run", "--color", cwd=project).stdout


def test_json_report_is_versioned_and_complete(project: Path) -> None:
    report = json.loads(gate("run", "--format", "json", cwd=project).stdout)
    assert report["schema"] == "launch-gate/report/v1"
    assert report["exit_code"] == 1 and report["verdict"] == "fail" and report["preset"] == "launch"
    suppressed = next(f for f in report["findings"] if f["suppressed"])
    assert suppressed["suppression"] == {
        "reason": "fixture data",
        "reviewed_by": "alice",
        "expires": "2999-12-31",
        "source": "gate.yml",
    }
    url_finding = next(f for f in report["findings"] if f["check"] == "asyncslow")
    assert url_finding["location"]["url"] == "https://app.example.com/" and url_finding["location"]["path"] is None
    assert report["budgets"][0]["samples"] == 500


def test_sarif_has_a_run_per_check_with_rules_help_and_stable_fingerprints(project: Path) -> None:
    first = json.loads(gate("run", "--format", "sarif", cwd=project).stdout)
    second = json.loads(gate("run", "--format", "sarif", cwd=project).stdout)
    runs = {run["automationDetails"]["id"]: run for run in first["runs"]}
    assert set(runs) == {"launch-gate/planted/", "launch-gate/asyncslow/"}
    planted = runs["launch-gate/planted/"]
    rule = next(r for r in planted["tool"]["driver"]["rules"] if r["id"] == "fake.problem")
    assert rule["help"]["text"] and rule["properties"]["security-severity"] == "8.0"
    results = planted["results"]
    assert all(r["partialFingerprints"]["primaryLocationLineHash"] for r in results)
    assert [r["partialFingerprints"] for r in results] == [
        r["partialFingerprints"] for r in second["runs"][0]["results"]
    ]
    suppressed = [r for r in results if "suppressions" in r]
    assert suppressed[0]["suppressions"][0] == {
        "kind": "external",
        "status": "accepted",
        "justification": "fixture data",
    }
    url_result = runs["launch-gate/asyncslow/"]["results"][0]
    assert url_result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "gate.yml"
    assert url_result["locations"][0]["logicalLocations"][0]["fullyQualifiedName"] == "https://app.example.com/"


def test_sarif_marks_a_check_that_could_not_finish(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            "gate.yml": "checks:\n  env:\n    enabled: false\n"
            "  deps: {enabled: false}\n  secrets: {enabled: false}\n  raises:\n    enabled: true\n"
        },
    )
    sarif = json.loads(gate("run", "--format", "sarif", cwd=tmp_path).stdout)
    invocation = sarif["runs"][0]["invocations"][0]
    assert invocation["executionSuccessful"] is False
    assert "boom" in invocation["toolExecutionNotifications"][0]["message"]["text"]


def test_expired_suppression_gets_a_sarif_run_of_its_own(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            "gate.yml": "checks:\n  env:\n    enabled: false\n"
            "  deps: {enabled: false}\n  secrets: {enabled: false}\n  planted:\n    enabled: true\n"
            "suppressions:\n  - rule: x.y\n    reason: old\n    expires: 2001-01-01\n"
        },
    )
    sarif = json.loads(gate("run", "--format", "sarif", cwd=tmp_path).stdout)
    assert sarif["runs"][-1]["automationDetails"]["id"] == "launch-gate/policy/"


def test_junit_counts_failures_skips_and_errors(project: Path, tmp_path: Path) -> None:
    root = ElementTree.fromstring(gate("run", "--format", "junit", cwd=project).stdout)
    suite = root.find("testsuite[@name='planted']")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped"), suite.get("errors")) == (
        "4",
        "1",
        "1",
        "0",
    )
    write_files(
        tmp_path / "e",
        {
            "gate.yml": "checks:\n  env:\n    enabled: false\n"
            "  deps: {enabled: false}\n  secrets: {enabled: false}\n  raises:\n    enabled: true\n"
        },
    )
    errored = ElementTree.fromstring(gate("run", "--format", "junit", cwd=tmp_path / "e").stdout)
    assert errored.find("testsuite/testcase/error") is not None


def test_bad_output_argument_is_bad_input(project: Path) -> None:
    for value, message in (("json", "is not FORMAT=PATH"), ("pdf=x.pdf", "format 'pdf' is unknown")):
        outcome = gate("run", "--output", value, cwd=project)
        assert outcome.exit_code == 2 and message in outcome.stderr


def test_full_disk_fails_closed_without_a_partial_file(tmp_path: Path) -> None:
    """A file-size limit makes every write past 2 KB fail the way a full disk does."""
    project = tmp_path
    env_part.plant(project, contextlib.ExitStack())
    (project / "out").mkdir()

    def limit_writes() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (2048, 2048))

    completed = subprocess.run(
        [sys.executable, "-m", "gate", "run", "--output", "json=out/r.json", "--output", "console=out/r.txt"],
        cwd=project,
        capture_output=True,
        text=True,
        preexec_fn=limit_writes,
        timeout=60,
        check=False,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    assert completed.returncode == 3, completed.stderr
    assert "could not write a report" in completed.stderr and "failing closed" in completed.stderr
    assert list((project / "out").iterdir()) == []
    assert completed.stdout.rstrip().splitlines()[-1].startswith("NO-GO (exit 3): could not write a report")


def test_one_unwritable_report_leaves_none_of_the_others(project: Path) -> None:
    (project / "blocked").write_text("a file where a folder should be")
    outcome = gate("run", "--output", "json=out/r.json", "--output", "sarif=blocked/r.sarif", cwd=project)
    assert outcome.exit_code == 3 and "could not write a report (File exists: blocked)" in outcome.stderr
    assert list((project / "out").iterdir()) == []
