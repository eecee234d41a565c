"""`gate run` inside GitHub Actions, end to end: event in, annotations, summary, check run, exit code."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from gate.checks import REGISTRY
from gate.github import publish
from gate.github.api import ApiOptions
from tests.support.contracts import Contracts
from tests.support.github_events import Webhooks
from tests.support.github_probe import CANARY, SEEN, HttpProbe, SecretsProbe
from tests.support.github_server import ContractServer, Fault
from tests.support.helpers import gate, write_files

BASE = "1" * 40
HEAD = "2" * 40
MERGE = "3" * 40
TOKEN = "ghs_EndToEndTokenEndToEndToken00000001"


@pytest.fixture(autouse=True)
def probes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(publish, "DEFAULT_API_OPTIONS", ApiOptions(backoff=0.05, write_interval=0, request_interval=0))
    monkeypatch.setitem(REGISTRY, "secrets", SecretsProbe)
    monkeypatch.setitem(REGISTRY, "http", HttpProbe)
    SEEN.clear()


@pytest.fixture()
def server(contracts: Contracts) -> Iterator[ContractServer]:
    with ContractServer(contracts.github_rest) as running:
        yield running
    assert not running.violations, running.violations


@pytest.fixture()
def hooks(contracts: Contracts) -> Webhooks:
    return Webhooks(contracts.github_rest)


def _workspace(tmp_path: Path, checks: str = "secrets") -> Path:
    workspace = tmp_path / "workspace"
    names = checks.split(",")
    # The presets enable secrets; a workspace that does not name it leaves it off.
    sections = "".join(
        f"  {name}:\n    enabled: {'true' if name in names else 'false'}\n" for name in sorted({*names, "secrets"})
    )
    write_files(
        workspace,
        {
            "gate.yml": "version: 1\npreset: launch\nchecks:\n  env:\n    enabled: false\n"
            f"  deps:\n    enabled: false\n{sections}"
        },
    )
    return workspace


def _env(tmp_path: Path, workspace: Path, event_name: str, payload: object, **extra: str) -> dict[str, str]:
    event = tmp_path / "event.json"
    event.write_text(json.dumps(payload))
    return {
        "CI": "true",
        "GITHUB_ACTIONS": "true",
        "GITHUB_EVENT_NAME": event_name,
        "GITHUB_EVENT_PATH": str(event),
        "GITHUB_REPOSITORY": "octo-org/app",
        "GITHUB_SHA": MERGE,
        "GITHUB_REF": "refs/pull/42/merge",
        "GITHUB_RUN_ID": "1234",
        "GITHUB_WORKSPACE": str(workspace),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "step_summary.md"),
        "GITHUB_OUTPUT": str(tmp_path / "github_output.txt"),
        **extra,
    }


def _pull_request(hooks: Webhooks) -> dict[str, object]:
    return hooks.event(
        "pull-request-opened",
        {
            "number": 42,
            "repository": {"full_name": "octo-org/app"},
            "pull_request": {
                "number": 42,
                "base": {"sha": BASE, "ref": "main"},
                "head": {"sha": HEAD, "ref": "feature", "repo": {"full_name": "octo-org/app"}},
            },
        },
    )


def _pull_request_run(tmp_path: Path, hooks: Webhooks, server: ContractServer) -> tuple[Path, dict[str, str]]:
    """A workspace and the environment of a pull_request run whose GitHub API is the contract server."""
    workspace = _workspace(tmp_path)
    env = _env(
        tmp_path,
        workspace,
        "pull_request",
        _pull_request(hooks),
        GITHUB_API_URL=server.base_url,
        **{"INPUT_GITHUB-TOKEN": TOKEN},
    )
    return workspace, env


def test_pull_request_run_scans_the_diff_and_reports_on_the_pr_head(
    tmp_path: Path, hooks: Webhooks, server: ContractServer
) -> None:
    workspace, env = _pull_request_run(tmp_path, hooks, server)
    result = gate("run", "--output", f"sarif={workspace / '.launch-gate' / 'report.sarif'}", cwd=workspace, env=env)
    assert result.exit_code == 1, result.output
    assert SEEN[0]["sources"]["diff"] == f"{BASE}...{HEAD}"
    [run] = server.state.check_runs.values()
    assert run["head_sha"] == HEAD and run["conclusion"] == "failure"
    [annotation] = server.state.annotations[run["id"]]
    assert (annotation["path"], annotation["start_line"], annotation["start_column"]) == ("src/config.py", 12, 9)
    summary = (tmp_path / "step_summary.md").read_text()
    assert summary.startswith("## ❌ launch-gate: NO-GO")
    assert "pull request #42" in summary
    outputs = (tmp_path / "github_output.txt").read_text().splitlines()
    assert outputs == ["verdict=fail", "exit-code=1", "sarif-report=.launch-gate/report.sarif"]
    everything = "\n".join([result.output, summary, *server.bodies()])
    assert CANARY not in everything and TOKEN not in everything


def test_without_a_token_findings_become_escaped_annotations(tmp_path: Path, hooks: Webhooks) -> None:
    workspace = _workspace(tmp_path)
    result = gate("run", cwd=workspace, env=_env(tmp_path, workspace, "pull_request", _pull_request(hooks)))
    assert result.exit_code == 1
    [line] = [line for line in result.stdout.splitlines() if line.startswith("::error ")]
    assert line.startswith(
        "::error file=src/config.py,line=12,col=9,title=Token committed to the repository [secrets.probe-token]::"
    )
    message = line.split("::", 2)[2]
    assert "100%25, a,b: see below%0Asecond line%0A::warning::forged" in message
    assert CANARY not in result.output


def test_the_console_report_cannot_issue_workflow_commands(tmp_path: Path, hooks: Webhooks) -> None:
    workspace = _workspace(tmp_path)
    result = gate("run", cwd=workspace, env=_env(tmp_path, workspace, "pull_request", _pull_request(hooks)))
    # The finding's message quotes a line `::warning::forged`: its line break is shown as an
    # escape, so the forged command never starts a line the runner reads.
    assert "\\x0a::warning::forged" in result.stdout
    assert not any(line.lstrip().startswith("::warning") for line in result.stdout.splitlines())


def test_a_reporting_failure_never_turns_a_block_into_a_pass(
    tmp_path: Path, hooks: Webhooks, server: ContractServer
) -> None:
    server.fail_always("POST", "/repos/{owner}/{repo}/check-runs", Fault(500))
    workspace, env = _pull_request_run(tmp_path, hooks, server)
    result = gate("run", cwd=workspace, env=env)
    assert result.exit_code == 1
    assert "error: reporting to GitHub: creating the check run failed: HTTP 500 on every try" in result.stderr
    assert "The verdict and exit code are unaffected" in result.stderr
    assert any(line.startswith("::error file=src/config.py") for line in result.stdout.splitlines())


def test_deployment_success_points_http_at_the_preview(tmp_path: Path, hooks: Webhooks) -> None:
    workspace = _workspace(tmp_path, "http")
    payload = hooks.event(
        "deployment-status-created",
        {
            "deployment_status": {"state": "success", "environment_url": "https://app-pr-42.example.dev"},
            "deployment": {"sha": HEAD, "environment": "Preview"},
        },
    )
    env = _env(tmp_path, workspace, "deployment_status", payload, GITHUB_REF="")
    result = gate("run", cwd=workspace, env=env)
    assert SEEN[0]["url"] == "https://app-pr-42.example.dev"
    assert result.exit_code == 1  # /api/report is over its 2 s budget
    summary = (tmp_path / "step_summary.md").read_text()
    assert "#### `/api/report`" in summary and "│" in summary


def test_a_failed_deployment_is_skipped_with_a_note(tmp_path: Path, hooks: Webhooks) -> None:
    workspace = _workspace(tmp_path, "http")
    payload = hooks.event(
        "deployment-status-created", {"deployment_status": {"state": "failure"}, "deployment": {"sha": HEAD}}
    )
    result = gate("run", cwd=workspace, env=_env(tmp_path, workspace, "deployment_status", payload))
    assert result.exit_code == 0 and SEEN == []
    assert "::notice title=launch-gate%3A skipped::deployment state is 'failure'" in result.stdout
    assert (tmp_path / "github_output.txt").read_text().startswith("verdict=skipped\n")
    assert (tmp_path / "step_summary.md").read_text().startswith("## ⏭️ launch-gate: skipped")


def test_a_tag_push_scans_the_whole_history(tmp_path: Path) -> None:
    workspace = _workspace(tmp_path)
    payload = {
        "ref": "refs/tags/v2.0.0",
        "before": "0" * 40,
        "after": HEAD,
        "repository": {"full_name": "octo-org/app"},
    }
    env = _env(tmp_path, workspace, "push", payload, GITHUB_REF="refs/tags/v2.0.0", GITHUB_SHA=HEAD)
    gate("run", cwd=workspace, env=env)
    assert SEEN[0]["sources"]["history"] is True


def test_outside_actions_github_reporting_stays_off(tmp_path: Path) -> None:
    workspace = _workspace(tmp_path)
    result = gate("run", cwd=workspace, env={"GITHUB_STEP_SUMMARY": str(tmp_path / "s.md")})
    assert result.exit_code == 1
    assert "::error" not in result.stdout and not (tmp_path / "s.md").exists()


def test_the_action_entry_point_reads_its_inputs(tmp_path: Path, hooks: Webhooks) -> None:
    workspace = _workspace(tmp_path)
    env = _env(
        tmp_path,
        workspace,
        "pull_request",
        _pull_request(hooks),
        **{"INPUT_CHECKS": "secrets", "INPUT_FAIL-ON": "critical", "INPUT_CHECK-RUN": "false"},
    )
    result = gate("action", cwd=workspace, env=env)
    assert result.exit_code == 1
    assert SEEN[0]["fail_on"] == "critical"
    assert (workspace / ".launch-gate" / "report.sarif").is_file()
    outputs = (tmp_path / "github_output.txt").read_text()
    assert "json-report=.launch-gate/report.json" in outputs and "junit-report=.launch-gate/junit.xml" in outputs


def test_a_bad_action_input_is_bad_input(tmp_path: Path, hooks: Webhooks) -> None:
    workspace = _workspace(tmp_path)
    env = _env(tmp_path, workspace, "pull_request", _pull_request(hooks), **{"INPUT_FAIL-ON": "severe"})
    result = gate("action", cwd=workspace, env=env)
    assert result.exit_code == 2
    assert "input 'fail-on'" in result.stderr and "critical" in result.stderr


def test_with_a_json_report_on_stdout_workflow_commands_go_to_stderr(tmp_path: Path, hooks: Webhooks) -> None:
    workspace = _workspace(tmp_path)
    env = _env(tmp_path, workspace, "pull_request", _pull_request(hooks))
    result = gate("run", "--format", "json", cwd=workspace, env=env)
    assert result.exit_code == 1
    assert json.loads(result.stdout)["verdict"] == "fail"
    assert any(line.startswith("::error file=src/config.py") for line in result.stderr.splitlines())


def test_github_flag_reports_outside_actions(tmp_path: Path) -> None:
    workspace = _workspace(tmp_path)
    summary = tmp_path / "summary.md"
    result = gate("run", "--github", cwd=workspace, env={"GITHUB_STEP_SUMMARY": str(summary)})
    assert result.exit_code == 1
    assert any(line.startswith("::error file=src/config.py") for line in result.stdout.splitlines())
    assert summary.read_text().startswith("## ❌ launch-gate: NO-GO")


def test_no_github_flag_turns_reporting_off_inside_actions(tmp_path: Path, hooks: Webhooks) -> None:
    workspace = _workspace(tmp_path)
    result = gate(
        "run", "--no-github", cwd=workspace, env=_env(tmp_path, workspace, "pull_request", _pull_request(hooks))
    )
    assert result.exit_code == 1 and "::error" not in result.output
    assert not (tmp_path / "step_summary.md").exists()
    assert SEEN[0]["sources"]["diff"] == "auto"  # the preset's value: the event changes nothing


def test_without_a_token_each_lost_feature_is_said_once(tmp_path: Path, hooks: Webhooks) -> None:
    workspace = _workspace(tmp_path)
    asked = {"INPUT_COMMENT": "true", "INPUT_UPLOAD-SARIF": "true"}
    env = _env(tmp_path, workspace, "pull_request", _pull_request(hooks), **asked)
    result = gate("run", cwd=workspace, env=env)
    assert result.exit_code == 1
    sentence = "no check run, no pull-request comment and no SARIF upload: a token (input github-token) missing"
    assert result.stderr.count("token (input github-token)") == 1 and sentence in result.stderr
    [warning] = [line for line in result.stdout.splitlines() if line.startswith("::warning ")]
    assert warning.count("token (input github-token)") == 1
    assert result.stdout.count("token (input github-token)") == 1  # no notice repeating it


def test_without_a_token_the_default_check_run_is_one_notice_not_an_error(tmp_path: Path, hooks: Webhooks) -> None:
    workspace = _workspace(tmp_path)
    result = gate("run", cwd=workspace, env=_env(tmp_path, workspace, "pull_request", _pull_request(hooks)))
    assert "error: reporting to GitHub" not in result.stderr
    notices = [line for line in result.stdout.splitlines() if "token (input github-token)" in line]
    assert len(notices) == 1 and notices[0].startswith("::notice ") and "no check run:" in notices[0]


def test_check_run_annotations_put_a_route_finding_on_its_line_in_the_real_config(
    tmp_path: Path, hooks: Webhooks, server: ContractServer
) -> None:
    workspace, env = _pull_request_run(tmp_path, hooks, server)
    (workspace / "gate.yml").unlink()
    write_files(
        workspace,
        {
            "ci/launch.yml": "version: 1\npreset: launch\nchecks:\n  env: {enabled: false}\n  deps: {enabled: false}\n"
            "  secrets: {enabled: false}\n  http:\n    enabled: true\n    url: https://preview.example.dev/\n"
            "    routes:\n      - path: /api/items\n      - path: /api/orders\n"
        },
    )
    result = gate("run", "--config", "ci/launch.yml", cwd=workspace, env=env)
    assert result.exit_code == 1, result.output
    [run] = server.state.check_runs.values()
    places = sorted((a["path"], a["start_line"], a["start_column"]) for a in server.state.annotations[run["id"]])
    assert places == [("ci/launch.yml", 11, 9), ("ci/launch.yml", 12, 9)]
    messages = [a["message"] for a in server.state.annotations[run["id"]]]
    assert any("Where: /api/orders" in m for m in messages)


def test_a_report_that_could_not_be_written_is_named_nowhere_as_written(tmp_path: Path, hooks: Webhooks) -> None:
    """All reports or none: when one write fails, no output, notice or summary points at a report."""
    workspace = _workspace(tmp_path)
    env = _env(tmp_path, workspace, "pull_request", _pull_request(hooks))
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("")
    good, bad = tmp_path / "gate.json", blocked / "gate.sarif"
    result = gate("run", "--output", f"json={good}", "--output", f"sarif={bad}", cwd=workspace, env=env)
    assert result.exit_code == 3
    assert not good.exists() and not bad.exists()
    outputs = (tmp_path / "github_output.txt").read_text()
    assert "json-report" not in outputs and "sarif-report" not in outputs
    assert "the JSON report" not in result.output
