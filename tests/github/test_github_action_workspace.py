"""The action's entry point (`gate action`, the image's ENTRYPOINT and CMD) run the way GitHub runs
a Docker action: as root, on a workspace and file-command files that belong to the runner's user.

No Docker engine here, so the entry point runs as a process with the environment the runner
gives the container (docs/github.md says what that does and does not cover). The workspace is
chowned to another uid, as on a runner, so git's ownership check is the real one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gate.github.action import REPORT_DIR, REPORT_FILES, trust_workspace
from tests.support import secrets_samples as s
from tests.support.helpers import git_repo

RUNNER_UID = 1001  # the runner's user on GitHub-hosted runners; any uid but root's will do

needs_root = pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() != 0,
    reason="chowning a workspace to another uid needs root (CI runs the suite as root)",
)


def _chown_tree(root: Path, uid: int) -> None:
    os.chown(root, uid, uid)
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            os.chown(Path(folder, name), uid, uid, follow_symlinks=False)


def _repository(root: Path) -> Path:
    """A repository whose only secret was committed and then deleted: only a history scan finds it."""
    config = "version: 1\nchecks:\n  secrets:\n    sources:\n      history: true\n"
    return git_repo(
        root, [{"gate.yml": config, "app/payments.py": f'STRIPE_KEY = "{s.STRIPE_LIVE}"\n'}, {"app/payments.py": None}]
    )


def _runner_layout(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """The workspace, HOME and file-command files as the runner mounts them, owned by its user."""
    workspace = _repository(tmp_path / "workspace")
    commands = tmp_path / "file_commands"
    home = tmp_path / "home"
    commands.mkdir()
    home.mkdir()
    event = tmp_path / "workflow" / "event.json"
    event.parent.mkdir()
    event.write_text(json.dumps({"inputs": {}}))
    for name in ("set_output", "step_summary"):
        (commands / name).write_text("")
    for path in (workspace, commands, home, event.parent):
        _chown_tree(path, RUNNER_UID)
    environ = {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        # No system or global git config on the machine running the test may lend a hand.
        "GIT_CONFIG_NOSYSTEM": "1",
        "CI": "true",
        "GITHUB_ACTIONS": "true",
        "GITHUB_EVENT_NAME": "workflow_dispatch",
        "GITHUB_EVENT_PATH": str(event),
        "GITHUB_REPOSITORY": "octo-org/app",
        "GITHUB_REF": "refs/heads/main",
        "GITHUB_SHA": "1" * 40,
        "GITHUB_WORKSPACE": str(workspace),
        "GITHUB_OUTPUT": str(commands / "set_output"),
        "GITHUB_STEP_SUMMARY": str(commands / "step_summary"),
        "INPUT_CHECKS": "secrets",
        "INPUT_CHECK-RUN": "false",
        "INPUT_COMMENT": "false",
        "INPUT_UPLOAD-SARIF": "false",
        "INPUT_SUMMARY": "true",
        "INPUT_ANNOTATIONS": "true",
    }
    return workspace, environ


def _entrypoint() -> str:
    return str(Path(sys.executable).with_name("gate"))


@needs_root
def test_as_root_on_a_workspace_of_another_uid_the_action_reports_everything(tmp_path: Path) -> None:
    workspace, environ = _runner_layout(tmp_path)
    completed = subprocess.run(
        [_entrypoint(), "action"], cwd=workspace, env=environ, capture_output=True, text=True, timeout=300
    )
    assert completed.returncode == 1, completed.stdout + completed.stderr
    assert "dubious ownership" not in completed.stdout + completed.stderr
    # The key deleted in the second commit was found: the history was read, not skipped.
    assert "secrets.stripe-secret-key" in completed.stdout
    assert s.STRIPE_LIVE not in completed.stdout + completed.stderr

    outputs = Path(environ["GITHUB_OUTPUT"])
    summary = Path(environ["GITHUB_STEP_SUMMARY"])
    assert "exit-code" in outputs.read_text() and "fail" in outputs.read_text()
    assert "NO-GO" in summary.read_text() or "blocked" in summary.read_text().lower()
    # Appended to, not replaced: the runner's files stay the runner's user's.
    assert outputs.stat().st_uid == summary.stat().st_uid == RUNNER_UID

    report_dir = workspace / REPORT_DIR
    assert report_dir.stat().st_uid == RUNNER_UID
    for name in REPORT_FILES.values():
        report = report_dir / name
        assert report.stat().st_size > 0 and report.stat().st_uid == RUNNER_UID
    assert json.loads((report_dir / "report.json").read_text())["verdict"] == "fail"
    # Nothing was written where later container steps of the job would pick it up.
    assert list(Path(environ["HOME"]).iterdir()) == []


@needs_root
def test_a_symlinked_report_folder_is_not_handed_over(tmp_path: Path) -> None:
    from gate.github.action import hand_reports_to_workspace_owner

    workspace = tmp_path / "workspace"
    elsewhere = tmp_path / "elsewhere"
    workspace.mkdir()
    elsewhere.mkdir()
    (elsewhere / "report.json").write_text("{}")
    (workspace / REPORT_DIR).symlink_to(elsewhere, target_is_directory=True)
    os.chown(workspace, RUNNER_UID, RUNNER_UID)
    hand_reports_to_workspace_owner({"GITHUB_WORKSPACE": str(workspace)})
    assert elsewhere.stat().st_uid == 0 and (elsewhere / "report.json").stat().st_uid == 0


def test_safe_directory_is_added_after_the_entries_already_there() -> None:
    environ = {
        "GITHUB_WORKSPACE": "/github/workspace",
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": "core.autocrlf",
        "GIT_CONFIG_VALUE_0": "false",
    }
    trust_workspace(environ)
    assert environ["GIT_CONFIG_COUNT"] == "2"
    assert (environ["GIT_CONFIG_KEY_0"], environ["GIT_CONFIG_VALUE_0"]) == ("core.autocrlf", "false")
    assert (environ["GIT_CONFIG_KEY_1"], environ["GIT_CONFIG_VALUE_1"]) == ("safe.directory", "/github/workspace")


def test_a_broken_git_config_count_is_bad_input() -> None:
    from gate.errors import InputError

    with pytest.raises(InputError, match="GIT_CONFIG_COUNT"):
        trust_workspace({"GITHUB_WORKSPACE": "/github/workspace", "GIT_CONFIG_COUNT": "two"})


def test_outside_github_nothing_is_trusted() -> None:
    environ: dict[str, str] = {}
    trust_workspace(environ)
    assert environ == {}
