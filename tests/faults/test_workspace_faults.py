"""The workspace the action runs in, as a stranger's runner lays it out or a hostile repository
plants it: a repository git refuses, a report folder or report that is a symlink."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.faults.common import fails_closed
from tests.faults.peers import measured
from tests.faults.table import row
from tests.support.helpers import GIT_ENV, gate, git_repo

KEY = "AKIAQZ7TESTWORKSPACE"  # unique to this file: a hit can only come from here
CONFIG = "version: 1\nchecks:\n  secrets:\n    sources:\n      history: true\n"


def _repository(root: Path) -> Path:
    return git_repo(root, [{"gate.yml": CONFIG, "keys.py": f'AWS = "{KEY}"\n'}, {"keys.py": None}])


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() != 0,
    reason="a repository of another uid needs root to chown (CI runs the suite as root)",
)
@row(
    "The repository belongs to another user and git refuses it (no `safe.directory`)",
    "secrets",
    'exit 3 in git\'s own words (dubious ownership); never taken for "not a repository" with its history unscanned',
)
def test_a_repository_git_refuses_fails_in_gits_words(tmp_path: Path) -> None:
    repo = _repository(tmp_path / "repo")
    for folder, dirs, files in os.walk(repo):
        for name in [".", *dirs, *files]:
            os.chown(Path(folder, name), 1001, 1001, follow_symlinks=False)
    env = {"GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull, "HOME": str(tmp_path)}
    with measured() as box:
        outcome = gate("check", "secrets", cwd=repo, env=env)
    fails_closed(outcome, box[0], ["dubious ownership", str(repo)])
    assert "not a git repository" not in outcome.output


@pytest.mark.parametrize("planted", [".launch-gate", ".launch-gate/report.json"])
@row(
    "The repository plants `.launch-gate` or a report in it as a symlink out of the workspace",
    "github",
    "exit 2 naming the path, before any check runs; nothing is written through the link",
)
def test_a_planted_report_symlink_is_refused(tmp_path: Path, planted: str) -> None:
    repo = _repository(tmp_path / "repo")
    outside = tmp_path / "outside"
    outside.mkdir()
    target = outside / "report.json"
    target.write_text("theirs\n")
    link = repo / planted
    link.parent.mkdir(exist_ok=True)
    link.symlink_to(outside if planted == ".launch-gate" else target)
    env = {**GIT_ENV, "GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": str(repo), "INPUT_CHECK-RUN": "false"}
    with measured() as box:
        outcome = gate("action", cwd=repo, env=env)
    fails_closed(outcome, box[0], [f"{planted} is a symlink"], codes=(2,))
    assert sorted(p.name for p in outside.iterdir()) == ["report.json"] and target.read_text() == "theirs\n"
