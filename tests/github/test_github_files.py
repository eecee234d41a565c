"""The Action's own files: action.yml, workflows, Dockerfile, pre-commit hooks.

Validated against SchemaStore's schemas as check-jsonschema vendors them, linted with actionlint,
zizmor and hadolint, and held to what the code reads and writes, so an input or output cannot be
declared in one place and forgotten in the other. The image's lock is checked for drift.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from gate import __version__
from tests.support.contracts import Contracts

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted([*ROOT.glob(".github/workflows/*.yml"), *ROOT.glob("docs/examples/workflows/*.yml")])
# What a gate workflow may ever need to write; `contents: write` would let a compromised step push.
ALLOWED_WRITES = {"checks", "pull-requests", "security-events"}
# Only the project's release publishes its image.
PUBLISHES = ROOT / ".github" / "workflows" / "release.yml"
# Only the watch example opens and closes incident issues.
WATCHES = ROOT / "docs" / "examples" / "workflows" / "watch.yml"
IMAGE = "ghcr.io/launch-gate/launch-gate"


def _id(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _load_workflow(path: Path) -> dict[Any, Any]:
    data = yaml.safe_load(path.read_text())
    # PyYAML reads the key `on` as the boolean True (YAML 1.1); GitHub reads YAML 1.2.
    if True in data:
        data["on"] = data.pop(True)
    return data


def _tool(name: str) -> str:
    # The test extras' tools sit beside the interpreter, whether or not the venv is activated.
    beside = Path(sys.executable).with_name(name)
    found = str(beside) if beside.is_file() else shutil.which(name)
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
    assert action["runs"] == {"using": "docker", "image": f"docker://{IMAGE}:v{__version__}", "args": ["action"]}


@pytest.mark.parametrize("path", WORKFLOWS, ids=_id)
def test_workflow_is_valid_against_the_workflow_schema(contracts: Contracts, path: Path) -> None:
    schema = json.loads(contracts.workflow_schema.read_text())
    jsonschema.validate(_load_workflow(path), schema)


@pytest.mark.parametrize("path", WORKFLOWS, ids=_id)
def test_workflow_asks_for_the_least_permissions(path: Path) -> None:
    workflow = _load_workflow(path)
    assert workflow.get("permissions") == {"contents": "read"}, "top level: read-only, jobs ask for more"
    assert "pull_request_target" not in workflow["on"], "see docs/github.md: never run PR code with a write token"
    for name, job in workflow["jobs"].items():
        permissions = job.get("permissions", {})
        assert isinstance(permissions, dict), f"job {name}: list permissions one by one"
        writes = {scope for scope, level in permissions.items() if level == "write"}
        allowed = ALLOWED_WRITES | ({"packages"} if path == PUBLISHES else set())
        allowed |= {"issues"} if path == WATCHES else set()
        assert writes <= allowed, f"job {name} writes {writes - allowed}"
        for step in job.get("steps", []):
            if str(step.get("uses", "")).startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False, f"job {name}: checkout keeps the token on disk"


def test_actionlint_passes_on_every_workflow() -> None:
    completed = subprocess.run(
        [_tool("actionlint"), "-no-color", *map(str, WORKFLOWS)], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr


def test_zizmor_finds_nothing_in_any_workflow() -> None:
    # Offline, default persona: what a user's own zizmor run says about the examples they copy.
    completed = subprocess.run(
        [_tool("zizmor"), "--offline", "--no-progress", "--format", "plain", *map(str, WORKFLOWS)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr


def test_every_action_is_pinned_by_commit_and_every_image_by_the_release() -> None:
    for path in WORKFLOWS:
        for uses in re.findall(r"^\s*(?:-\s+)?uses:\s*(\S+)(.*)$", path.read_text(), re.M):
            reference, comment = uses
            if reference.startswith("./"):
                continue
            if reference.startswith("docker://"):
                assert reference == f"docker://{IMAGE}:v{__version__}", f"{_id(path)}: {reference}"
                continue
            assert re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}", reference), f"{_id(path)}: {reference} not by SHA"
            assert re.fullmatch(r"\s*# v\d+(\.\d+)*", comment), f"{_id(path)}: {reference} has no tag comment"


def test_hadolint_passes_on_the_dockerfile() -> None:
    completed = subprocess.run(
        [_tool("hadolint"), "--no-color", "Dockerfile"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr


def test_dockerfile_runs_as_root_on_a_digest_pinned_base_and_installs_the_lock_first() -> None:
    text = (ROOT / "Dockerfile").read_text()
    (base,) = re.findall(r"^FROM (\S+)", text, re.M)
    assert re.fullmatch(r"python:\d+\.\d+\.\d+-slim-\w+@sha256:[0-9a-f]{64}", base)
    # GitHub runs Docker actions as root and documents USER as breaking the workspace's files.
    assert not re.findall(r"^USER ", text, re.M)
    assert "install -y --no-install-recommends git" in text
    lock = text.index("pip install --no-cache-dir --require-hashes --no-deps -r requirements.txt")
    assert text.index("COPY requirements/image.txt") < lock < text.index("COPY gate ")
    assert "--no-deps --no-build-isolation ." in text, "the gate itself must not pull anything unpinned"
    assert "!requirements/image.txt" in (ROOT / ".dockerignore").read_text().splitlines()


def test_the_image_lock_has_not_drifted_from_pyproject(tmp_path: Path) -> None:
    """scripts/lock again, starting from the committed lock: any difference is drift. uv's cache
    answers offline once it has seen the index; the first run asks PyPI."""
    committed = ROOT / "requirements" / "image.txt"
    lock = tmp_path / "image.txt"
    shutil.copyfile(committed, lock)
    env = {**os.environ, "UV": _tool("uv"), "LOCK_OUTPUT": str(lock)}
    for extra in (["--offline"], []):
        completed = subprocess.run(
            [str(ROOT / "scripts" / "lock"), *extra], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
        )
        if completed.returncode == 0:
            break
    assert completed.returncode == 0, completed.stderr
    assert lock.read_text() == committed.read_text(), "requirements/image.txt is stale: run scripts/lock"
    pins = re.findall(r"^([a-z0-9][\w.-]*(?:\[[\w,-]+\])?)==\S+ \\$", committed.read_text(), re.M)
    assert len(pins) == committed.read_text().count("==") and pins
    assert all("--hash=sha256:" in block for block in committed.read_text().split("==")[1:])


@pytest.mark.parametrize(("demo_exit", "passes"), [(1, True), (0, False), (3, False)])
def test_the_smoke_test_passes_only_an_image_whose_demo_blocks(tmp_path: Path, demo_exit: int, passes: bool) -> None:
    """scripts/smoke-image with `docker run --rm IMAGE ARGS` standing for the local `gate ARGS` (no
    engine here), and `demo` answering with the exit code under test: the real demo's code depends
    on the machine's load (its latency budgets), which tests/test_contracts.py runs anyway."""
    shim = tmp_path / "bin" / "docker"
    shim.parent.mkdir()
    gate = Path(sys.executable).with_name("gate")
    shim.write_text(
        f'#!/bin/sh\n[ "$1 $2" = "run --rm" ] || exit 99\nshift 3\n'
        f'[ "$1" = demo ] && exit {demo_exit}\nexec {gate} "$@"\n'
    )
    shim.chmod(0o755)
    env = {**os.environ, "PATH": f"{shim.parent}{os.pathsep}{os.environ['PATH']}"}
    completed = subprocess.run(
        [str(ROOT / "scripts" / "smoke-image"), "launch-gate:test"], env=env, capture_output=True, text=True, timeout=60
    )
    assert f"launch-gate, version {__version__}" in completed.stdout
    if passes:
        assert completed.returncode == 0, completed.stdout + completed.stderr
    else:
        assert completed.returncode == 1 and f"gate demo exited {demo_exit}" in completed.stdout


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
