"""The Docker action's inputs (`INPUT_*` variables) turned into one gate run's arguments.

Inputs are text typed into a workflow file, so each is checked here and a mistake is reported
as bad input (exit 2) naming the input and the fix, the same way a gate.yml mistake is.
"""

from __future__ import annotations

from collections.abc import Mapping
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
    return ActionRun(
        names=names,
        config_path=Path(config) if config else None,
        preset=action_input(environ, "preset"),
        overrides=overrides,
        outputs=[f"{fmt}={report_dir / name}" for fmt, name in REPORT_FILES.items()],
    )
