"""`gate watch`: uptime probes, the launch report, deploy records."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from gate.cli.common import _configure_logging


def _watch_options(function: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option("--config", "config_path", type=click.Path(path_type=Path), help="gate.yml to read."),
        click.option("--preset", help="Stage whose thresholds apply: prototype, demo or launch."),
        click.option("--store", help="SQLite file or postgresql:// URL (default: watch.store, .gate/watch.sqlite)."),
    ]
    for option in reversed(options):
        function = option(function)
    return function


@click.group(name="watch", invoke_without_command=True)
@_watch_options
@click.option("--once", is_flag=True, help="One round of probes, then exit (for a scheduled workflow).")
@click.option("--every", help="Probe forever at this interval, like 1m (default: watch.interval); SIGTERM stops.")
@click.option("--name", help="This watcher's name in the history (default: the host name).")
@click.option("--rounds", type=click.IntRange(min=1), hidden=True, help="Stop after this many rounds.")
@click.option("-q", "--quiet", is_flag=True, help="No line per probe; only errors.")
@click.pass_context
def watch(ctx: click.Context, /, quiet: bool, **options: Any) -> None:
    """Uptime probes of what gate.yml declares, alerts without flapping, and the launch report."""
    # Delivery failures are logged warnings; they reach stderr scrubbed, like every other log.
    _configure_logging(0)
    if ctx.invoked_subcommand is not None:
        return
    from gate.watch.command import run_watch

    sys.exit(run_watch(echo=(lambda _: None) if quiet else click.echo, **options))


@watch.command(name="report")
@_watch_options
@click.option("--since", default="24h", show_default=True, help="Window of the report: 24h, 7d, 90m.")
@click.option("--format", "fmt", type=click.Choice(["markdown", "json", "openmetrics"]), default="markdown")
@click.option("--out", type=click.Path(path_type=Path), help="Write the report here (default: stdout).")
@click.option("--svg", "svg_out", type=click.Path(path_type=Path), help="Write the latency/uptime chart here.")
@click.option("--alert", is_flag=True, help="Send a breached threshold to the alert channels.")
def watch_report(**options: Any) -> None:
    """Uptime %, p50/p95, errors, slowest hour and deploys per target; exit 1 over the launch bar."""
    from gate.watch.command import run_report

    sys.exit(run_report(echo=click.echo, **options))


@watch.command(name="deploy")
@_watch_options
@click.option("--ref", default=lambda: os.environ.get("GITHUB_SHA", "manual"), help="What was deployed.")
def watch_deploy(**options: Any) -> None:
    """Record a deploy in the watch history (run it from the deploy job); the report counts them."""
    from gate.watch.command import record_deploy

    click.echo(record_deploy(**options))
