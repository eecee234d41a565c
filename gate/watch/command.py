"""What the `gate watch` commands do, between the CLI's options and the watch parts."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gate import redact
from gate.config import Config, load_config
from gate.config.units import is_duration, seconds
from gate.errors import InputError
from gate.github.commands import guarded
from gate.watch import channels as channel_mod
from gate.watch import report as report_mod
from gate.watch.alerts import Alert, stamp
from gate.watch.config import Settings, settings
from gate.watch.store import open_store
from gate.watch.watcher import RoundSummary, Watcher

REPORT_FORMATS = ("markdown", "json", "openmetrics")


def _loaded(config_path: Path | None, preset: str | None, store: str | None) -> tuple[Config, Settings]:
    from gate.checks import config_schemas

    config = load_config(config_path, check_schemas=config_schemas(), preset=preset)
    chosen = settings(config.data, os.environ, config.document)
    if store:
        chosen = dataclasses.replace(chosen, store=store)
    return config, chosen


def duration_option(value: str, flag: str) -> float:
    if not is_duration(value):
        raise InputError(f"{flag} {value!r} is not a duration", hint="write it like 1m, 30s or 24h")
    return seconds(value)


def window(value: str) -> float:
    """`--since` as seconds: 24h, 7d, 90m."""
    if value.endswith("d") and value[:-1].isdigit():
        return int(value[:-1]) * 86400.0
    return duration_option(value, "--since")


def _line(result: Any) -> str:
    mark = "up  " if result.ok else "DOWN"
    latency = f"{result.latency_ms:.0f} ms" if result.latency_ms is not None else "-"
    detail = " ".join(result.detail.split())
    return f"{stamp(result.at)} {mark} {result.target}: {latency}, {detail}"


def run_watch(
    *,
    config_path: Path | None,
    preset: str | None,
    store: str | None,
    once: bool,
    every: str | None,
    name: str | None,
    rounds: int | None,
    echo: Callable[[str], None],
) -> int:
    config, chosen = _loaded(config_path, preset, store)
    interval = duration_option(every, "--every") if every else chosen.interval_s
    if interval < 10.0:
        source = f"--every {every}" if every else "watch.interval"
        raise InputError(f"{source} is shorter than 10s", hint="probe at most every 10 seconds; 1m is usual")
    opened = open_store(chosen.store, config.root)
    try:
        told = channel_mod.channels(chosen, os.environ, config.root)
        watcher = Watcher(chosen, config.data, os.environ, config.root, opened, told, name)

        def show(summary: RoundSummary) -> None:
            echo(guarded("\n".join(_line(result) for result in summary.results)).rstrip("\n"))

        if once:
            show(asyncio.run(watcher.round()))
            return 0
        done = asyncio.run(watcher.forever(interval, show, rounds))
        echo(f"watch stopped after {done} round(s); the history is in {redact.scrub(chosen.store)}")
        return 0
    finally:
        opened.close()


def record_deploy(*, config_path: Path | None, preset: str | None, store: str | None, ref: str) -> str:
    config, chosen = _loaded(config_path, preset, store)
    opened = open_store(chosen.store, config.root)
    try:
        opened.add_deploy(time.time(), ref)
    finally:
        opened.close()
    return redact.scrub(f"deploy {ref} recorded in {chosen.store}")


def _report_alert(report: report_mod.LaunchReport, chosen: Settings) -> Alert:
    return Alert(
        event="open",
        incident=0,
        target="launch report",
        kind="report",
        url=chosen.url,
        detail="; ".join(report.breaches),
        since=report.since,
        last_good=None,
        resolved_at=None,
        owner=chosen.owner,
        check_first="the slowest hour in the report and the deploys made in it",
    )


def _github_deploys(chosen: Settings, environment: str, since: float) -> int:
    import datetime

    spec = chosen.alerts.get("github")
    if not spec:
        raise InputError(
            "watch.report.github_deployments counts GitHub deployments but watch.alerts.github is not set",
            hint="declare watch.alerts.github (repository, token_env), or remove github_deployments",
        )
    channel = channel_mod.GitHubIssues(spec, os.environ, chosen.delivery_timeout_s)
    return channel.api.deployments_since(datetime.datetime.fromtimestamp(since, datetime.UTC), environment)


def run_report(
    *,
    config_path: Path | None,
    preset: str | None,
    store: str | None,
    since: str,
    fmt: str,
    out: Path | None,
    svg_out: Path | None,
    alert: bool,
    echo: Callable[[str], None],
) -> int:
    """Write the report; 1 when a threshold is breached, 0 otherwise."""
    config, chosen = _loaded(config_path, preset, store)
    opened = open_store(chosen.store, config.root)
    now = time.time()
    try:
        report = report_mod.build(opened, chosen, window(since), now)
    finally:
        opened.close()
    environment = config.data.get("watch", {}).get("report", {}).get("github_deployments")
    if environment:
        report = dataclasses.replace(
            report, deploys=report.deploys + _github_deploys(chosen, environment, report.since)
        )
    if svg_out is not None:
        svg_out.write_text(report_mod.svg(report), encoding="utf-8")
    rendered = {
        "markdown": lambda: report_mod.markdown(report, svg_out.name if svg_out else None),
        "json": lambda: json.dumps(report_mod.as_json(report), indent=2) + "\n",
        "openmetrics": lambda: report_mod.openmetrics(report),
    }[fmt]()
    if out is None:
        echo(guarded(rendered).rstrip("\n"))
    else:
        out.write_text(rendered, encoding="utf-8")
    if report.breaches and alert:
        for channel in channel_mod.channels(chosen, os.environ, config.root):
            asyncio.run(channel.send(_report_alert(report, chosen), None))
    return 1 if report.breaches else 0
