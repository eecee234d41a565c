"""The Action's own files: action.yml, workflows, Dockerfile, pre-commit hooks.

Validated against the published schemas in ../shared/contracts, linted with actionlint and
hadolint, and held to what the code reads and writes, so an input or output cannot be
declared in one place and forgotten in the other.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from contracts import Contracts

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = sorted([*ROOT.glob(".github/workflows/*.yml"), *ROOT.glob("docs/examples/workflows/*.yml")])
# What a gate workflow may ever need to write; `contents: write` would let a compromised step push.
ALLOWED_WRITES = {"checks", "pull-requests", "security-events"}


def _load_workflow(path: Path) -> dict[Any, Any]:
    data = yaml.safe_load(path.read_text())
    # PyYAML reads the key `on` as the boolean True (YAML 1.1); GitHub reads YAML 1.2.
    if True in data:
        data["on"] = data.pop(True)
    return data


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: `pip install -e '.[test]'` brings it (see pyproject.toml)")
    return found


def test_there_are_the_workflows_users_copy() -> None:
    names = {path.name for path in WORKFLOWS}
    assert {"ci.yml", "launch-gate.yml", "pull-request.yml", "post-deploy.yml", "release.yml"} <= names


def test_action_yml_is_valid_against_the_action_schema(contracts: Contracts) -> None:
    schema = json.loads(contracts.action_schema.read_text())
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    jsonschema.validate(action, schema)
    assert action["runs"] == {"using": "docker", "image": "Dockerfile", "args": ["action"]}


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_is_valid_against_the_workflow_schema(contracts: Contracts, path: Path) -> None:
    schema = json.loads(contracts.workflow_schema.read_text())
    jsonschema.validate(_load_workflow(path), schema)


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_asks_for_the_least_permissions(path: Path) -> None:
    workflow = _load_workflow(path)
    assert workflow.get("permissions") == {"contents": "read"}, "top level: read-only, jobs ask for more"
    assert "pull_request_target" not in workflow["on"], "see docs/github.md: never run PR code with a write token"
    for name, job in workflow["jobs"].items():
        permissions = job.get("permissions", {})
        assert isinstance(permissions, dict), f"job {name}: list permissions one by one"
        writes = {scope for scope, level in permissions.items() if level == "write"}
        assert writes <= ALLOWED_WRITES, f"job {name} writes {writes - ALLOWED_WRITES}"
        for step in job.get("steps", []):
            if str(step.get("uses", "")).startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False, f"job {name}: checkout keeps the token on disk"


def test_actionlint_passes_on_every_workflow() -> None:
    completed = subprocess.run(
        [_tool("actionlint"), "-no-color", *map(str, WORKFLOWS)], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr


def test_hadolint_passes_on_the_dockerfile() -> None:
    completed = subprocess.run(
        [_tool("hadolint"), "--no-color", "Dockerfile"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr


def test_dockerfile_runs_as_non_root_on_a_pinned_slim_base_with_git() -> None:
    text = (ROOT / "Dockerfile").read_text()
    base = re.search(r"^FROM (\S+)", text, re.M)
    assert base and re.fullmatch(r"python:\d+\.\d+\.\d+-slim-\w+(@sha256:[0-9a-f]{64})?", base.group(1))
    users = re.findall(r"^USER (\S+)", text, re.M)
    assert users and users[-1] not in ("root", "0")
    assert "safe.directory /github/workspace" in text and "install -y --no-install-recommends git" in text


def _inputs_read_by_code() -> set[str]:
    names = set()
    for path in (ROOT / "gate" / "github").glob("*.py"):
        names |= set(re.findall(r'action_input\(environ, "([a-z-]+)"\)', path.read_text()))
    return names


def test_every_input_the_code_reads_is_declared_and_every_declared_input_is_read() -> None:
    declared = set(yaml.safe_load((ROOT / "action.yml").read_text())["inputs"])
    assert _inputs_read_by_code() == declared


def test_declared_outputs_are_the_ones_the_gate_writes(tmp_path: Path) -> None:
    from gate.github.action import REPORT_FILES

    declared = set(yaml.safe_load((ROOT / "action.yml").read_text())["outputs"])
    assert declared == {"verdict", "exit-code"} | {f"{fmt}-report" for fmt in REPORT_FILES}


def test_pre_commit_hook_runs_the_secrets_check() -> None:
    [hook] = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert hook["id"] == "launch-gate-secrets" and hook["language"] == "python"
    assert hook["entry"].startswith("gate check secrets ")
    assert hook["pass_filenames"] is False
