"""The check run, PR comment and SARIF upload against a server that holds to GitHub's contract."""

from __future__ import annotations

import base64
import gzip
import json
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import jsonschema
import pytest

from gate import redact
from gate.github import api, publish
from gate.github.api import ApiOptions
from gate.github.context import GitHubContext, Plan, Settings
from gate.github.publish import STICKY_MARKER, Session
from gate.model import CheckResult, Finding, Location, Severity, Target, Verdict
from gate.pipeline import report_input
from gate.policy import judge
from tests.support.contracts import Contracts
from tests.support.github_probe import CANARY
from tests.support.github_server import ContractServer, Fault

HEAD = "2" * 40
MERGE = "3" * 40
RUNS = "/repos/{owner}/{repo}/check-runs"
RUN = "/repos/{owner}/{repo}/check-runs/{check_run_id}"
COMMENTS = "/repos/{owner}/{repo}/issues/{issue_number}/comments"
FAST = ApiOptions(retries=3, backoff=0.05, max_rate_wait=5.0, write_interval=0.0, request_interval=0.0, timeout=10)


@pytest.fixture()
def server(contracts: Contracts) -> Iterator[ContractServer]:
    with ContractServer(contracts.github_rest) as running:
        yield running
    assert not running.violations, running.violations


def _verdict(root: Path, count: int = 1, *, blocking: bool = True) -> Verdict:
    evidence = redact.evidence(CANARY, "GitHub token", 4)
    findings = tuple(
        Finding(
            rule_id="secrets.probe-token",
            check="secrets",
            severity=Severity.CRITICAL if blocking else Severity.LOW,
            title="Token committed",
            message=f"token {CANARY} at line {i + 1}, 100%: a,b",
            fix="Rotate it.",
            location=Location(path="src/app.py", line=i + 1),
            evidence=evidence,
            fingerprint=f"secrets.probe-token:{i:024d}",
        )
        for i in range(count)
    )
    return judge(
        [CheckResult(name="secrets", findings=findings, measurements=(), duration_s=0.2)],
        fail_on={"secrets": Severity.HIGH},
        suppressions=(),
        preset="launch",
        target=Target(root=str(root)),
        started_at="2026-11-23T10:00:00Z",
        duration_s=0.3,
    )


def _session(server: ContractServer, tmp_path: Path, out: list[str], err: list[str], **settings: object) -> Session:
    context = GitHubContext(
        in_actions=True,
        event_name="pull_request",
        repository="octo-org/app",
        head_sha=HEAD,
        sha=MERGE,
        ref="refs/pull/7/merge",
        api_url=server.base_url,
        run_id="99",
        workspace=tmp_path,
        step_summary=tmp_path / "summary.md",
        output_file=tmp_path / "output.txt",
        token="ghs_SessionTokenSessionToken000000001",
        pr_number=7,
        base_sha="1" * 40,
        pr_head_sha=HEAD,
        settings=Settings(**settings),  # type: ignore[arg-type]
    )
    redact.register(str(context.token))
    return Session(context=context, plan=Plan(), out=out.append, err=err.append, api_options=FAST)


def _everything_sent(server: ContractServer, tmp_path: Path, out: list[str], err: list[str]) -> str:
    sent = list(server.bodies()) + out + err
    for sarif in server.state.sarifs:
        sent.append(json.dumps(sarif["log"]))
    for name in ("summary.md", "output.txt"):
        if (tmp_path / name).exists():
            sent.append((tmp_path / name).read_text())
    return "\n".join(sent)


def test_check_run_goes_in_progress_then_completes_with_batched_annotations(
    server: ContractServer, tmp_path: Path
) -> None:
    out: list[str] = []
    err: list[str] = []
    session = _session(server, tmp_path, out, err)
    session.start()
    [created] = server.calls("POST", RUNS)
    assert created.json["status"] == "in_progress" and created.json["head_sha"] == HEAD
    assert created.json["name"] == "launch-gate" and "conclusion" not in created.json
    session.finish(report_input(_verdict(tmp_path, count=120)), tmp_path, {})
    updates = server.calls("PATCH", RUN)
    assert [len(u.json["output"]["annotations"]) for u in updates] == [50, 50, 20]
    # Only the last update completes the run, so it never looks done while annotations arrive.
    assert [u.json.get("conclusion") for u in updates] == [None, None, "failure"]
    [run] = server.state.check_runs.values()
    assert run["status"] == "completed" and run["conclusion"] == "failure"
    assert run["output"]["title"].startswith("NO-GO: release blocked")
    assert len(server.state.annotations[run["id"]]) == 120
    annotation = server.state.annotations[run["id"]][0]
    assert annotation["annotation_level"] == "failure" and annotation["path"] == "src/app.py"
    # Findings went to the check run, so the log carries no per-finding annotations.
    assert not any(line.startswith("::error") for line in out)
    assert err == []
    assert CANARY not in _everything_sent(server, tmp_path, out, err)


def test_a_passing_verdict_completes_the_run_as_success(server: ContractServer, tmp_path: Path) -> None:
    session = _session(server, tmp_path, [], [])
    session.start()
    session.finish(report_input(_verdict(tmp_path, count=0)), tmp_path, {})
    [run] = server.state.check_runs.values()
    assert run["conclusion"] == "success" and run["output"]["title"].startswith("GO")


def test_without_checks_write_it_falls_back_to_annotations_and_says_so_once(
    server: ContractServer, tmp_path: Path
) -> None:
    server.fail_always("POST", RUNS, Fault(403))
    out: list[str] = []
    err: list[str] = []
    session = _session(server, tmp_path, out, err)
    session.start()
    session.finish(report_input(_verdict(tmp_path, count=3)), tmp_path, {})
    assert len(server.calls("POST", RUNS)) == 1  # a 403 is an answer, not a reason to retry
    assert sum(1 for line in out if line.startswith("::error ")) == 3
    said = [line for line in out if "checks: write" in line]
    assert len(said) == 1 and said[0].startswith("::notice ")
    assert (tmp_path / "summary.md").read_text().count("checks: write") == 1
    assert err == []  # not a failure: fork PRs never get the permission


def test_server_errors_are_retried(server: ContractServer, tmp_path: Path) -> None:
    server.fail_next("POST", RUNS, Fault(502), Fault(503))
    server.fail_next("PATCH", RUN, Fault(500))
    err: list[str] = []
    session = _session(server, tmp_path, [], err)
    session.start()
    session.finish(report_input(_verdict(tmp_path)), tmp_path, {})
    assert len(server.calls("POST", RUNS)) == 3 and len(server.calls("PATCH", RUN)) == 2
    assert len(server.state.check_runs) == 1 and err == []


def test_a_short_rate_limit_is_waited_out(server: ContractServer, tmp_path: Path) -> None:
    server.fail_next("POST", RUNS, Fault(403, rate_limit_reset_in=1))
    session = _session(server, tmp_path, [], [])
    clock = time.monotonic()
    session.start()
    assert time.monotonic() - clock >= 1.0
    assert len(server.state.check_runs) == 1


def test_a_long_rate_limit_is_a_reporting_error_said_plainly(server: ContractServer, tmp_path: Path) -> None:
    server.fail_always("POST", RUNS, Fault(403, rate_limit_reset_in=3600))
    out: list[str] = []
    err: list[str] = []
    session = _session(server, tmp_path, out, err)
    clock = time.monotonic()
    session.start()
    session.finish(report_input(_verdict(tmp_path)), tmp_path, {})
    assert time.monotonic() - clock < 10
    assert len(err) == 1 and "rate limit" in err[0] and "exit code are unaffected" in err[0]
    assert any(line.startswith("::warning title=launch-gate%3A reporting failed::") for line in out)
    assert sum(1 for line in out if line.startswith("::error ")) == 1  # the finding still shows
    assert "verdict=fail" in (tmp_path / "output.txt").read_text()


def test_a_rejected_update_falls_back_to_annotations(server: ContractServer, tmp_path: Path) -> None:
    server.fail_always("PATCH", RUN, Fault(422))
    out: list[str] = []
    err: list[str] = []
    session = _session(server, tmp_path, out, err)
    session.start()
    session.finish(report_input(_verdict(tmp_path, count=2)), tmp_path, {})
    assert len(err) == 1 and "HTTP 422" in err[0]
    assert sum(1 for line in out if line.startswith("::error ")) == 2


def test_the_sticky_comment_is_updated_never_duplicated(server: ContractServer, tmp_path: Path) -> None:
    for index in range(35):  # more than one page, so the search must follow pagination
        server.add_comment(7, f"unrelated comment {index}")
    for _ in range(3):
        session = _session(server, tmp_path, [], [], check_run=False, comment=True)
        session.start()
        session.finish(report_input(_verdict(tmp_path)), tmp_path, {})
    ours = [c for c in server.state.comments.values() if STICKY_MARKER in c["body"]]
    assert len(ours) == 1
    assert len(server.calls("POST", COMMENTS)) == 1
    assert "launch-gate: NO-GO" in ours[0]["body"] and CANARY not in ours[0]["body"]


def test_duplicate_sticky_comments_from_a_race_are_folded_into_one(server: ContractServer, tmp_path: Path) -> None:
    server.add_comment(7, f"{STICKY_MARKER}\nold one")
    server.add_comment(7, f"{STICKY_MARKER}\nold two")
    session = _session(server, tmp_path, [], [], check_run=False, comment=True)
    session.finish(report_input(_verdict(tmp_path)), tmp_path, {})
    ours = [c for c in server.state.comments.values() if STICKY_MARKER in c["body"]]
    assert len(ours) == 1 and "old" not in ours[0]["body"]


def test_sarif_upload_is_gzip_base64_and_a_valid_log(
    server: ContractServer, tmp_path: Path, contracts: Contracts
) -> None:
    session = _session(server, tmp_path, [], [], check_run=False, upload_sarif=True)
    session.finish(report_input(_verdict(tmp_path, count=2)), tmp_path, {})
    [upload] = server.state.sarifs
    request = upload["request"]
    assert request["commit_sha"] == MERGE and request["ref"] == "refs/pull/7/merge"
    assert request["checkout_uri"] == f"file://{tmp_path.as_posix()}"
    log = json.loads(gzip.decompress(base64.b64decode(request["sarif"])))
    jsonschema.validate(log, json.loads(contracts.sarif_schema.read_text()))
    [run] = log["runs"]
    assert run["automationDetails"]["id"] == "launch-gate/secrets/"
    assert all(r["partialFingerprints"]["primaryLocationLineHash"] for r in run["results"])
    assert CANARY not in json.dumps(log)


def test_a_forbidden_sarif_upload_names_the_permission(server: ContractServer, tmp_path: Path) -> None:
    server.fail_always(
        "POST", "/repos/{owner}/{repo}/code-scanning/sarifs", Fault(403, message="Advanced Security must be enabled")
    )
    err: list[str] = []
    session = _session(server, tmp_path, [], err, check_run=False, upload_sarif=True)
    session.finish(report_input(_verdict(tmp_path)), tmp_path, {})
    assert len(err) == 1 and "security-events: write" in err[0]


def test_step_outputs_name_the_verdict_and_reports(server: ContractServer, tmp_path: Path) -> None:
    session = _session(server, tmp_path, [], [], check_run=False)
    reports = {"json": tmp_path / ".launch-gate" / "report.json", "sarif": tmp_path / ".launch-gate" / "report.sarif"}
    session.finish(report_input(_verdict(tmp_path)), tmp_path, reports)
    lines = (tmp_path / "output.txt").read_text().splitlines()
    assert lines == [
        "verdict=fail",
        "exit-code=1",
        "json-report=.launch-gate/report.json",
        "sarif-report=.launch-gate/report.sarif",
    ]


def test_a_run_stopped_before_its_verdict_cancels_the_check_run(server: ContractServer, tmp_path: Path) -> None:
    session = _session(server, tmp_path, [], [])
    session.start()
    session.abandon("the run stopped before a verdict (Interrupted)")
    [run] = server.state.check_runs.values()
    assert run["status"] == "completed" and run["conclusion"] == "cancelled"
    assert "nothing was passed" in run["output"]["summary"]


def test_a_fork_pull_request_without_comment_rights_gets_a_note_not_an_error(
    server: ContractServer, tmp_path: Path
) -> None:
    server.fail_always("POST", RUNS, Fault(403))
    server.fail_always("POST", COMMENTS, Fault(403))
    out: list[str] = []
    err: list[str] = []
    session = _session(server, tmp_path, out, err, comment=True)
    session.context = replace(session.context, fork=True)
    session.start()
    session.finish(report_input(_verdict(tmp_path)), tmp_path, {})
    assert err == []
    summary = (tmp_path / "summary.md").read_text()
    assert "checks: write" in summary and "from a fork is read-only" in summary


def test_annotations_past_the_cap_are_counted_not_sent(
    server: ContractServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(publish, "MAX_CHECK_RUN_ANNOTATIONS", 60)
    session = _session(server, tmp_path, [], [])
    session.start()
    session.finish(report_input(_verdict(tmp_path, count=75)), tmp_path, {})
    [run] = server.state.check_runs.values()
    assert len(server.state.annotations[run["id"]]) == 60
    assert "15 more are in the job summary" in (tmp_path / "summary.md").read_text()


def test_a_sarif_log_over_the_upload_limit_is_not_sent_and_said(
    server: ContractServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(api, "MAX_SARIF_GZIP", 200)
    err: list[str] = []
    session = _session(server, tmp_path, [], err, check_run=False, upload_sarif=True)
    session.finish(report_input(_verdict(tmp_path)), tmp_path, {})
    assert server.calls("POST", "/repos/{owner}/{repo}/code-scanning/sarifs") == []
    assert len(err) == 1 and "over code scanning's 200-byte limit" in err[0]


def test_a_run_over_code_scannings_result_limit_is_trimmed_least_severe_last(
    server: ContractServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(api, "MAX_SARIF_RESULTS", 3)
    session = _session(server, tmp_path, [], [], check_run=False, upload_sarif=True)
    session.finish(report_input(_verdict(tmp_path, count=5)), tmp_path, {})
    [upload] = server.state.sarifs
    assert len(upload["log"]["runs"][0]["results"]) == 3
    assert "2 of launch-gate/secrets/ were left out of the upload" in (tmp_path / "summary.md").read_text()
