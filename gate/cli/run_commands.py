"""The commands that run the gate and print a verdict: run, check NAME, import, demo, and the Action's entry."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from gate.cli.common import COMMON_OPTIONS, _common, _run_and_report, _scan_root_argument
from gate.report import FORMATS

if TYPE_CHECKING:
    from gate.checks.base import Check


@click.command()
@_scan_root_argument
@_common
def run(scan_root: Path | None, **common: Any) -> None:
    """Run every check gate.yml enables on PATH and print one verdict.

    PATH is the project to scan (default: the top of the git repository around the current
    directory, else the current directory); --config only says where gate.yml is.
    """
    sys.exit(_run_and_report(names=None, scan_root=scan_root, **common))


@click.command(hidden=True)
def action() -> None:
    """The GitHub Action's entry point: inputs come from INPUT_* variables."""
    from gate.github.action import hand_reports_to_workspace_owner, parse_inputs, trust_workspace

    trust_workspace(os.environ)
    inputs = parse_inputs(os.environ)
    code = _run_and_report(
        names=inputs.names,
        config_path=inputs.config_path,
        preset=inputs.preset,
        fmt="console",
        outputs=inputs.outputs,
        color=False,
        verbose=0,
        overrides=inputs.overrides,
        github=True,
    )
    hand_reports_to_workspace_owner(os.environ)
    sys.exit(code)


class _CheckGroup(click.Group):
    """`gate check NAME`: one subcommand per registered check, built only when asked for."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        from gate.checks import REGISTRY

        return list(REGISTRY)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        from gate.checks import REGISTRY

        check = REGISTRY.get(cmd_name)
        return None if check is None else _check_command(check)


def _check_command(check: type[Check]) -> click.Command:
    def callback(**values: Any) -> None:
        from gate.config import Override

        common = {key: values.pop(key) for key in COMMON_OPTIONS}
        overrides = []
        for option in check.options:
            value = values[option.key.replace(".", "_")]
            if value is None or value is False or value == ():
                continue
            overrides.append(Override(check.name, option.key, list(value) if option.multiple else value, option.flag))
        sys.exit(_run_and_report(names=[check.name], overrides=overrides, scan_root=values["scan_root"], **common))

    command = click.command(name=check.name, help=check.summary)(_scan_root_argument(_common(callback)))
    for option in check.options:
        command.params.append(
            click.Option(
                [option.flag, option.key.replace(".", "_")],
                is_flag=option.is_flag,
                multiple=option.multiple,
                metavar=option.metavar,
                help=option.help,
                default=None if not option.is_flag else False,
            )
        )
    return command


@click.group(cls=_CheckGroup)
def check() -> None:
    """Run one check: gate check NAME [OPTIONS]."""


@click.command(name="import")
@click.argument("tool", type=click.Choice(["k6", "locust"]))
@click.argument("summary", type=click.Path(path_type=Path))
@_common
def import_(
    tool: str,
    summary: Path,
    **common: Any,
) -> None:
    """Judge a k6 summary (JSON) or Locust stats (CSV) with checks.http's budgets, like a local run."""
    from gate.config import Override

    imported = {"format": tool, "path": str(summary.resolve())}
    sys.exit(
        _run_and_report(
            names=["http"],
            overrides=[Override("http", "imported", imported, "import"), Override("http", "enabled", True, "import")],
            **common,
        )
    )


@click.command()
@click.option("--keep", type=click.Path(path_type=Path), help="Build the sample project here and keep it.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="console", show_default=True)
@click.option("--color/--no-color", default=None)
def demo(keep: Path | None, fmt: str, color: bool | None) -> None:
    """Build a sample project with planted problems, run the gate on it, show the real verdict."""
    from gate.demo import demo_project

    with demo_project(keep) as project:
        click.echo(f"demo project: {project.root}", err=True)
        sys.exit(
            _run_and_report(
                names=None,
                config_path=project.config,
                scan_root=project.root,
                preset=None,
                fmt=fmt,
                outputs=(),
                color=color,
                verbose=0,
                environ=project.environ,
            )
        )
