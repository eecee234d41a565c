"""The engine fails closed: a check that raises, hangs or misbehaves blocks the run with exit 3."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.helpers import gate, write_files

pytestmark = pytest.mark.usefixtures("fake_checks")


def _project(root: Path, checks: str) -> Path:
    off = "  env:\n    enabled: false\n  deps:\n    enabled: false\n  secrets:\n    enabled: false\n"
    return write_files(root, {"gate.yml": f"version: 1\nchecks:\n{off}{checks}"})


def test_a_check_that_raises_exits_3_and_names_the_check(tmp_path: Path) -> None:
    _project(tmp_path, "  raises:\n    enabled: true\n  planted:\n    enabled: true\n")
    outcome = gate("run", cwd=tmp_path)
    assert outcome.exit_code == 3
    assert "Traceback" not in outcome.output
    assert "ERROR raises" in outcome.stdout
    assert "RuntimeError: boom" in outcome.stdout
    assert "NO-GO (exit 3)" in outcome.stdout and "raises" in outcome.stdout.splitlines()[-1]


def test_a_check_that_cannot_finish_says_why(tmp_path: Path) -> None:
    _project(tmp_path, "  raises:\n    enabled: true\n    failure: true\n    message: resolver timed out\n")
    outcome = gate("run", "--format", "json", cwd=tmp_path)
    report = json.loads(outcome.stdout)
    assert outcome.exit_code == 3 and report["exit_code"] == 3 and report["verdict"] == "error"
    assert report["checks"][0]["error"] == "resolver timed out"


def test_a_check_past_its_deadline_exits_3_and_keeps_what_it_found(tmp_path: Path) -> None:
    # Below its threshold, so the finding it kept is no definite failure: exit 3, not 1.
    _project(tmp_path, "  hangs:\n    enabled: true\n    timeout: 300ms\n    fail_on: critical\n")
    outcome = gate("run", "--format", "json", cwd=tmp_path)
    report = json.loads(outcome.stdout)
    assert outcome.exit_code == 3
    assert report["checks"][0]["error"] == "did not finish within its 0.3s deadline"
    assert [f["message"] for f in report["findings"]] == ["found before hanging"]


def test_the_run_deadline_cuts_off_every_check(tmp_path: Path) -> None:
    _project(tmp_path, "  asyncslow:\n    enabled: true\n    sleep: 30\nrun:\n  timeout: 300ms\n")
    outcome = gate("run", "--format", "json", cwd=tmp_path)
    assert outcome.exit_code == 3
    assert "run's 0.3s deadline" in json.loads(outcome.stdout)["checks"][0]["error"]


def test_async_and_thread_checks_run_together(tmp_path: Path) -> None:
    _project(
        tmp_path,
        "  asyncslow:\n    enabled: true\n    sleep: 0.2\n  planted:\n    enabled: true\n    notes: [a.txt]\n",
    )
    outcome = gate("run", "--format", "json", cwd=tmp_path)
    report = json.loads(outcome.stdout)
    assert outcome.exit_code == 0
    assert [c["name"] for c in report["checks"]] == ["planted", "asyncslow"]
    assert sorted(f["message"] for f in report["findings"]) == ["a note", "async note"]


def test_input_error_found_mid_run_is_exit_2_and_writes_no_report(tmp_path: Path) -> None:
    _project(tmp_path, "  badlate:\n    enabled: true\n")
    outcome = gate("run", "--output", f"json={tmp_path / 'r.json'}", cwd=tmp_path)
    assert outcome.exit_code == 2
    assert "the file is broken" in outcome.stderr and "help: fix it" in outcome.stderr
    assert not (tmp_path / "r.json").exists()


def test_a_check_yielding_junk_is_an_internal_error(tmp_path: Path) -> None:
    _project(tmp_path, "  junk:\n    enabled: true\n")
    outcome = gate("run", cwd=tmp_path)
    assert outcome.exit_code == 3 and "not a Finding or Measurement" in outcome.stdout


def test_no_enabled_check_is_bad_input(tmp_path: Path) -> None:
    _project(tmp_path, "")
    outcome = gate("run", cwd=tmp_path)
    assert outcome.exit_code == 2 and "no check is enabled" in outcome.stderr


def test_exception_text_is_scrubbed_of_registered_secrets(tmp_path: Path) -> None:
    from gate import redact

    secret = "ExceptionCanary-93be1d"
    redact.register(secret)
    _project(tmp_path, f"  raises:\n    enabled: true\n    message: 'leaked {secret} in error'\n")
    for fmt in ("console", "json", "sarif", "junit"):
        outcome = gate("run", "--format", fmt, cwd=tmp_path)
        assert outcome.exit_code == 3
        assert secret not in outcome.output
        assert "[REDACTED]" in outcome.output
