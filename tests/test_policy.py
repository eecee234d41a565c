"""Policy: severities against the preset's threshold, budgets, and reviewed suppressions."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import pytest

from gate.model import Finding, Location, Severity, Suppression
from gate.policy import matches
from tests.support.helpers import gate, write_files

pytestmark = pytest.mark.usefixtures("fake_checks")

BASE = (
    "version: 1\nchecks:\n  env:\n    enabled: false\n  deps:\n    enabled: false\n"
    "  secrets:\n    enabled: false\n  planted:\n    enabled: true\n"
)


def _run(root: Path, extra: str, *args: str) -> tuple[int, dict[str, object], str]:
    write_files(root, {"gate.yml": BASE + extra})
    outcome = gate("run", "--format", "json", *args, cwd=root)
    assert "Traceback" not in outcome.output
    return outcome.exit_code, json.loads(outcome.stdout) if outcome.stdout else {}, outcome.stderr


def test_finding_at_threshold_blocks(tmp_path: Path) -> None:
    code, report, _ = _run(tmp_path, "    problems: [src/a.py]\n    fail_on: high\n")
    assert code == 1 and report["verdict"] == "fail"
    assert report["findings"][0]["blocking"] is True  # type: ignore[index]


def test_finding_below_threshold_warns_and_passes(tmp_path: Path) -> None:
    code, report, _ = _run(tmp_path, "    problems: [src/a.py]\n    fail_on: critical\n")
    assert code == 0 and report["verdict"] == "warn"


def test_suppression_by_fingerprint_is_shown_not_hidden(tmp_path: Path) -> None:
    _, first, _ = _run(tmp_path, "    problems: [src/a.py]\n")
    fingerprint = first["findings"][0]["fingerprint"]  # type: ignore[index]
    suppression = f"suppressions:\n  - fingerprint: {fingerprint}\n    reason: accepted for the demo\n"
    code, report, _ = _run(tmp_path, "    problems: [src/a.py]\n" + suppression)
    assert code == 0
    finding = report["findings"][0]  # type: ignore[index]
    assert finding["suppressed"] is True and finding["suppression"]["reason"] == "accepted for the demo"
    assert report["checks"][0]["counts"]["suppressed"] == 1  # type: ignore[index]


def test_fingerprint_survives_a_line_move(tmp_path: Path) -> None:
    _, first, _ = _run(tmp_path, "    problems: [src/a.py]\n")
    _, moved, _ = _run(tmp_path, "    problems: [src/a.py]\n    notes: [x]\n")
    assert first["findings"][0]["fingerprint"] in [f["fingerprint"] for f in moved["findings"]]  # type: ignore[index,union-attr]


def test_suppression_by_rule_and_path_glob(tmp_path: Path) -> None:
    suppression = "suppressions:\n  - rule: fake.*\n    path: tests/**\n    reason: fixtures hold fake data\n"
    code, report, _ = _run(tmp_path, "    problems: [tests/fixtures/a.py, src/b.py]\n" + suppression)
    assert code == 1
    by_path = {f["location"]["path"]: f["suppressed"] for f in report["findings"]}  # type: ignore[union-attr,index]
    assert by_path == {"tests/fixtures/a.py": True, "src/b.py": False}


def test_expired_suppression_fails_the_run_and_says_so(tmp_path: Path) -> None:
    suppression = "suppressions:\n  - rule: fake.problem\n    reason: until the fix ships\n    expires: 2020-01-31\n"
    code, report, _ = _run(tmp_path, "    problems: [src/a.py]\n" + suppression)
    assert code == 1
    rules = [(f["rule_id"], f["suppressed"]) for f in report["findings"]]  # type: ignore[union-attr]
    assert ("policy.suppression-expired", False) in rules and ("fake.problem", False) in rules
    expired = next(f for f in report["findings"] if f["rule_id"] == "policy.suppression-expired")  # type: ignore[union-attr]
    assert "expired on 2020-01-31" in expired["message"] and "until the fix ships" in expired["message"]


def test_expired_suppression_fails_even_when_nothing_matches_it(tmp_path: Path) -> None:
    suppression = "suppressions:\n  - rule: fake.gone\n    reason: old\n    expires: 2020-01-01\n"
    code, _, _ = _run(tmp_path, suppression)
    assert code == 1


def test_suppression_not_yet_expired_still_applies(tmp_path: Path) -> None:
    suppression = "suppressions:\n  - rule: fake.problem\n    reason: reviewed\n    expires: 2999-01-01\n"
    code, _, _ = _run(tmp_path, "    problems: [src/a.py]\n" + suppression)
    assert code == 0


def test_budget_over_its_limit_blocks_and_shows_measured_beside_limit(tmp_path: Path) -> None:
    code, report, _ = _run(tmp_path, "    latency: {'GET /feed': 250, 'GET /report': 420}\n")
    assert code == 1
    budgets = {b["subject"]: (b["status"], b["measured"], b["limit"]) for b in report["budgets"]}  # type: ignore[union-attr]
    assert budgets == {"GET /feed": ("pass", 250.0, 300.0), "GET /report": ("fail", 420.0, 300.0)}
    console = gate("run", cwd=tmp_path).stdout
    assert "420 ms <= 300 ms" in console


def test_too_few_samples_is_said_not_passed(tmp_path: Path) -> None:
    code, report, _ = _run(tmp_path, "    latency: {'GET /feed': 100}\n    samples: 50\n")
    assert code == 3
    budget = report["budgets"][0]  # type: ignore[index]
    assert budget["status"] == "error" and "only 50 samples" in budget["note"]


def test_matching_prefers_fingerprint_over_globs() -> None:
    finding = Finding("a.b", "a", Severity.LOW, "t", "m", "f", Location(route="GET /x"))
    assert matches(Suppression(reason="r", fingerprint=finding.fingerprint, rule="zzz"), finding)
    assert matches(Suppression(reason="r", rule="a.*", path="GET /*"), finding)
    assert not matches(Suppression(reason="r", rule="a.*", path="POST /*"), finding)
    assert not matches(Suppression(reason="r", fingerprint="a.b:0000"), finding)


def test_expiry_is_judged_against_today() -> None:
    from gate.policy import judge

    finding = Finding("a.b", "planted", Severity.HIGH, "t", "m", "f")
    from gate.model import CheckResult, Target

    result = CheckResult("planted", (finding,), (), 0.1)
    suppression = Suppression(reason="r", rule="a.b", expires=datetime.date(2026, 11, 30))
    common = dict(
        fail_on={}, suppressions=[suppression], preset="launch", target=Target(root="."), started_at="", duration_s=0
    )
    assert judge([result], today=datetime.date(2026, 11, 30), **common).exit_code == 0  # type: ignore[arg-type]
    assert judge([result], today=datetime.date(2026, 12, 1), **common).exit_code == 1  # type: ignore[arg-type]


# Exit-code precedence: a definite failure anywhere is exit 1 even when another check could not
# finish (the report names it); exit 3 only when nothing definite failed.
RAISES = "  raises:\n    enabled: true\n    failure: true\n    message: resolver timed out\n"


def test_a_blocking_finding_outranks_a_check_that_could_not_finish(tmp_path: Path) -> None:
    code, report, _ = _run(tmp_path, "    problems: [src/a.py]\n" + RAISES)
    assert code == 1 and report["verdict"] == "fail" and report["exit_code"] == 1
    statuses = {c["name"]: c["status"] for c in report["checks"]}  # type: ignore[attr-defined]
    assert statuses == {"planted": "fail", "raises": "error"}
    console = gate("run", "--no-color", cwd=tmp_path).stdout.splitlines()[-1]
    assert console.startswith("NO-GO (exit 1): release blocked by 1 blocking finding(s)")
    assert "could not finish, so more may be wrong: raises." in console


def test_a_budget_over_its_limit_outranks_a_check_that_could_not_finish(tmp_path: Path) -> None:
    code, report, _ = _run(tmp_path, "    latency: {'GET /': 900}\n" + RAISES)
    assert code == 1 and report["verdict"] == "fail"


def test_a_finding_kept_from_a_check_cut_short_is_still_definite(tmp_path: Path) -> None:
    code, report, _ = _run(tmp_path, "  hangs:\n    enabled: true\n    timeout: 300ms\n")
    assert code == 1 and {c["name"]: c["status"] for c in report["checks"]}["hangs"] == "error"  # type: ignore[attr-defined]


def test_an_expired_suppression_outranks_a_check_that_could_not_finish(tmp_path: Path) -> None:
    extra = RAISES + "suppressions:\n  - rule: fake.note\n    reason: old\n    expires: 2020-01-01\n"
    code, report, _ = _run(tmp_path, extra)
    assert code == 1 and report["verdict"] == "fail"


@pytest.mark.parametrize(
    "extra",
    [
        "    notes: [src/a.py]\n",  # a warning is nothing definite
        "    latency: {'GET /': 100}\n    samples: 5\n",  # a budget it could not judge
        "",
    ],
)
def test_exit_3_when_nothing_definite_failed(tmp_path: Path, extra: str) -> None:
    code, report, _ = _run(tmp_path, extra + RAISES)
    assert code == 3 and report["verdict"] == "error"
