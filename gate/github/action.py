"""The Docker action's inputs (`INPUT_*` variables) turned into one gate run's arguments, and the
workspace made usable the way GitHub runs Docker actions.

Inputs are text typed into a workflow file, so each is checked here and a mistake is reported
as bad input (exit 2) naming the input and the fix, the same way a gate.yml mistake is.

GitHub runs a Docker action as the image's default user, root, on a workspace and file-command
files that belong to the runner's user (uid 1001 on GitHub-hosted runners, any uid elsewhere).
git refuses a repository owned by someone else unless it is listed in `safe.directory`, and files
root leaves in the workspace cannot be removed by the runner's later steps.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from pathlib import Path

from gate.config import Override
from gate.errors import InputError, Position
from gate.github.context import action_input
from gate.model import Severity

# Reports land in the workspace, which later steps see at the same relative path; a path
# inside the container (/github/runner_temp) would mean nothing to a step on the host.
REPORT_DIR = ".launch-gate"
REPORT_FILES = {"json": "report.json", "sarif": "report.sarif", "junit": "junit.xml"}


@dataclass(frozen=True)
class ActionRun:
    names: list[str] | None
    config_path: Path | None
    preset: str | None
    overrides: list[Override]
    outputs: list[str]


def _position(name: str) -> Position:
    return Position(f"input '{name}'")


def parse_inputs(environ: Mapping[str, str]) -> ActionRun:
    from gate.checks import REGISTRY

    names: list[str] | None = None
    checks = action_input(environ, "checks")
    if checks:
        names = [part.strip() for part in checks.replace("\n", ",").split(",") if part.strip()]
        unknown = [name for name in names if name not in REGISTRY]
        if unknown:
            raise InputError(
                f"unknown check '{unknown[0]}'",
                _position("checks"),
                hint=f"use a comma-separated list of: {', '.join(REGISTRY)}",
            )
    overrides: list[Override] = []
    fail_on = action_input(environ, "fail-on")
    if fail_on:
        levels = [str(level) for level in Severity]
        if fail_on.lower() not in levels:
            raise InputError(
                f"'{fail_on}' is not a severity", _position("fail-on"), hint=f"use one of: {', '.join(levels)}"
            )
        overrides += [Override(name, "fail_on", fail_on.lower(), "fail-on") for name in (names or REGISTRY)]
    url = action_input(environ, "url")
    if url:
        if "http" not in REGISTRY:
            raise InputError("the input 'url' needs the http check, which this version does not have", _position("url"))
        overrides.append(Override("http", "url", url, "url"))
    config = action_input(environ, "config")
    workspace = Path(environ.get("GITHUB_WORKSPACE") or ".")
    report_dir = workspace / REPORT_DIR
    _refuse_planted_reports(report_dir)
    return ActionRun(
        names=names,
        config_path=Path(config) if config else None,
        preset=action_input(environ, "preset"),
        overrides=overrides,
        outputs=[f"{fmt}={report_dir / name}" for fmt, name in REPORT_FILES.items()],
    )


def _refuse_planted_reports(report_dir: Path) -> None:
    """The reports' folder lies in the scanned repository, which strangers write: a symlink there,
    or in place of a report, would send the gate's writes (as root, in the image) anywhere."""
    for path in [report_dir, *(report_dir / name for name in REPORT_FILES.values())]:
        try:
            mode = path.lstat().st_mode
        except (FileNotFoundError, NotADirectoryError):
            continue
        expected = stat.S_ISDIR(mode) if path == report_dir else stat.S_ISREG(mode)
        if not expected:
            kind = "a symlink" if stat.S_ISLNK(mode) else "not a plain " + ("folder" if path == report_dir else "file")
            raise InputError(
                f"{path.relative_to(report_dir.parent).as_posix()} is {kind}; the action writes its reports there "
                "and follows nothing out of the workspace",
                Position(str(path)),
                hint=f"delete {REPORT_DIR} from the repository and list it in .gitignore: the gate makes it",
            )


def trust_workspace(environ: MutableMapping[str, str]) -> None:
    """Lists the workspace in git's `safe.directory` for this process and the git it starts.

    Through `GIT_CONFIG_COUNT`/`KEY_n`/`VALUE_n` (git's command-line scope, which safe.directory
    honours) rather than `git config --global`: nothing is written to `$HOME`, which GitHub mounts
    into every later container step of the job. Entries already in the environment are kept.
    """
    workspace = environ.get("GITHUB_WORKSPACE")
    if not workspace:
        return
    count = environ.get("GIT_CONFIG_COUNT") or "0"  # empty counts as none, as git reads it
    if not count.isdigit():
        raise InputError(
            f"GIT_CONFIG_COUNT is '{count}', not a number",
            Position("environment"),
            hint="unset GIT_CONFIG_COUNT or set it to the number of GIT_CONFIG_KEY_n/GIT_CONFIG_VALUE_n pairs",
        )
    index = int(count)
    environ[f"GIT_CONFIG_KEY_{index}"] = "safe.directory"
    environ[f"GIT_CONFIG_VALUE_{index}"] = workspace
    environ["GIT_CONFIG_COUNT"] = str(index + 1)


def hand_reports_to_workspace_owner(environ: Mapping[str, str]) -> None:
    """Gives the report folder and its files to the workspace's owner when the gate runs as root,
    so the runner's user can replace or delete them in later steps and jobs. A symlink is never
    followed nor changed: the workspace is the scanned repository, written by strangers."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return
    workspace = Path(environ.get("GITHUB_WORKSPACE") or ".")
    try:
        owner = workspace.stat()
        folder = (workspace / REPORT_DIR).lstat()
    except OSError:
        return
    if not stat.S_ISDIR(folder.st_mode) or (owner.st_uid, owner.st_gid) == (0, 0):
        return
    report_dir = workspace / REPORT_DIR
    for path in [report_dir, *(report_dir / name for name in REPORT_FILES.values())]:
        try:
            os.chown(path, owner.st_uid, owner.st_gid, follow_symlinks=False)
        except FileNotFoundError:
            continue
