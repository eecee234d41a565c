"""One gate run as a library call: config in, verdict and reports out. The CLI only wraps this."""

from __future__ import annotations

import datetime
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from gate import __version__
from gate.checks import REGISTRY, rule_docs
from gate.config import Config
from gate.engine import ProgressSink, run_checks
from gate.errors import InputError
from gate.model import Severity, Target, Verdict
from gate.policy import DEFAULT_FAIL_ON, judge
from gate.report import ReportInput, render, write_atomically


@dataclass(frozen=True)
class OutputRequest:
    fmt: str
    path: Path


def _git_head(root: Path) -> str | None:
    try:
        completed = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--verify", "-q", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return completed.stdout.strip() or None


def execute(
    config: Config,
    names: Sequence[str],
    *,
    environ: Mapping[str, str] | None = None,
    progress: ProgressSink | None = None,
    today: datetime.date | None = None,
) -> Verdict:
    unknown = [name for name in names if name not in REGISTRY]
    if unknown:
        raise InputError(f"unknown check '{unknown[0]}'; known checks: {', '.join(REGISTRY)}")
    started = datetime.datetime.now(datetime.UTC)
    clock = time.monotonic()
    fail_on = {name: Severity.parse(config.section(name).get("fail_on", DEFAULT_FAIL_ON)) for name in names}
    # Rule ids contain a dot and check names do not, so one map holds both thresholds.
    for name in names:
        for rule_id, level in config.section(name).get("fail_on_rules", {}).items():
            known = [doc.id for doc in REGISTRY[name].rules]
            if rule_id not in known:
                raise InputError(
                    f"checks.{name}.fail_on_rules names '{rule_id}', which is not a rule of {name}",
                    hint=f"its rules are: {', '.join(known)}",
                )
            fail_on[rule_id] = Severity.parse(level)
    results = run_checks(config, names, environ=environ, progress=progress)
    return judge(
        results,
        fail_on=fail_on,
        suppressions=config.suppressions,
        preset=config.preset,
        target=Target(root=str(config.root), commit=_git_head(config.root)),
        started_at=started.isoformat(timespec="seconds").replace("+00:00", "Z"),
        duration_s=time.monotonic() - clock,
        today=today,
    )


def report_input(verdict: Verdict, *, color: bool = False) -> ReportInput:
    return ReportInput(verdict=verdict, rules=rule_docs(), tool_version=__version__, color=color)


def write_outputs(verdict: Verdict, outputs: Sequence[OutputRequest]) -> None:
    report = report_input(verdict)
    for output in outputs:
        write_atomically(output.path, render(output.fmt, report))
