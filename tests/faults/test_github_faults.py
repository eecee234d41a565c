"""GitHub reporting against an API that refuses, rejects, breaks or rate-limits: the verdict stands."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from gate.github import publish
from gate.github.api import ApiOptions
from tests.faults.common import fails_closed
from tests.faults.peers import measured
from tests.faults.table import row
from tests.support.contracts import Contracts
from tests.support.github_server import ContractServer, Fault
from tests.support.helpers import gate, write_files

TOKEN = "ghs_FaultSuiteTokenFaultSuiteToken0000001"
HEAD = "2" * 40
CHECK_RUNS = ("POST", "/repos/{owner}/{repo}/check-runs")


@pytest.fixture(autouse=True)
def quick_api(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        publish,
        "DEFAULT_API_OPTIONS",
        ApiOptions(backoff=0.05, write_interval=0, request_interval=0, max_rate_wait=1.0),
    )


@pytest.fixture()
def server(contracts: Contracts) -> Iterator[ContractServer]:
    with ContractServer(contracts.github_rest) as running:
        yield running
    assert not running.violations, running.violations


def _run(tmp_path: Path, server: ContractServer) -> tuple[object, object]:
    """A push run whose env check blocks (a missing required variable), reported to the server."""
    workspace = tmp_path / "workspace"
    write_files(
        workspace,
        {
            "gate.yml": "version: 1\nchecks:\n  env:\n    enabled: true\n  deps:\n    enabled: false\n",
            "env.manifest.yml": "environments: [production]\nvariables:\n  SENTRY_DSN:\n    required: true\n",
            ".env.production": "PORT=3000\n",
        },
    )
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"ref": "refs/heads/main", "after": HEAD, "repository": {"full_name": "octo-org/app"}}))
    env = {
        "CI": "true",
        "GITHUB_ACTIONS": "true",
        "GITHUB_EVENT_NAME": "push",
        "GITHUB_EVENT_PATH": str(event),
        "GITHUB_REPOSITORY": "octo-org/app",
        "GITHUB_SHA": HEAD,
        "GITHUB_REF": "refs/heads/main",
        "GITHUB_RUN_ID": "77",
        "GITHUB_WORKSPACE": str(workspace),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
        "GITHUB_API_URL": server.base_url,
        "INPUT_GITHUB-TOKEN": TOKEN,
    }
    with measured() as box:
        outcome = gate("run", cwd=workspace, env=env)
    return outcome, box[0]


CASES = {
    "403": (Fault(403), "may not write check runs"),
    "422": (Fault(422), "HTTP 422"),
    "500": (Fault(500), "HTTP 500"),
    "rate-limited": (Fault(403, rate_limit_reset_in=3600), "rate limit"),
}


@row(
    "GitHub API answers 403 (token lacks permission)",
    "github",
    "exit code unchanged (1 here); a notice says the token may not write check runs; findings become annotations",
)
@row(
    "GitHub API answers 422 (validation failed)",
    "github",
    "exit code unchanged; stderr names the call and HTTP 422; findings become annotations",
)
@row(
    "GitHub API answers 500",
    "github",
    "retried with backoff, then exit code unchanged; stderr names HTTP 500; findings become annotations",
)
@row(
    "GitHub API rate limit exhausted",
    "github",
    "waits for the reset only up to a bound, then exit code unchanged; stderr says so; findings become annotations",
)
@pytest.mark.parametrize("case", list(CASES))
def test_github_failure_never_turns_a_block_into_a_pass(tmp_path: Path, server: ContractServer, case: str) -> None:
    fault, cause = CASES[case]
    server.fail_always(*CHECK_RUNS, fault)
    outcome, bounds = _run(tmp_path, server)
    fails_closed(outcome, bounds, [cause], codes=(1,), seconds=20)
    assert server.calls(*CHECK_RUNS), "the gate never tried to report"
    assert TOKEN not in outcome.output
