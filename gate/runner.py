"""One gate run as a library call: config in, verdict and reports out. The CLI only wraps this."""

from __future__ import annotations

import datetime
import os
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from gate import __version__
from gate.checks import REGISTRY, config_schemas, rule_docs
from gate.config import Config, Override, find_config, load_config
from gate.engine import ProgressSink, run_checks
from gate.errors import EXIT_INTERNAL, EXIT_PASS, InputError
from gate.github.publish import open_session
from gate.model import Severity, Target, Verdict
from gate.policy import DEFAULT_FAIL_ON, judge
from gate.report import ReportInput, render, write_atomically
from gate.report.places import ConfigPlaces


@dataclass(frozen=True)
class OutputRequest:
    fmt: str
    path: Path


@dataclass(frozen=True)
class RunRequest:
    """One `gate run` or `gate check NAME`, as the command line or the Action asked for it."""

    names: Sequence[str] | None
    config_path: Path | None
    preset: str | None
    fmt: str
    outputs: Sequence[OutputRequest]
    color: bool
    overrides: Sequence[Override] = ()
    environ: Mapping[str, str] | None = None
    github: bool | None = None
    # The project to scan; None means the git top level around the working directory.
    scan_root: Path | None = None
    # `--fail-on`: one threshold for every check, over each check's `fail_on` in gate.yml.
    fail_on: str | None = None


@dataclass(frozen=True)
class Terminal:
    """Where a run writes: the report on `out`, errors on `err`, notes (silent under --quiet) on `note`."""

    out: Callable[[str, bool], None]
    err: Callable[[str], None]
    progress: ProgressSink | None = None
    clear_progress: Callable[[], None] = lambda: None
    note: Callable[[str], None] | None = None

    def say(self, text: str) -> None:
        (self.note or self.err)(text)


def _git(root: Path, *args: str) -> str | None:
    # The scanned repository's own config must not make git run anything (run nothing from the repo).
    safe = ("-c", "core.fsmonitor=false", "-c", "core.hooksPath=/dev/null")
    try:
        completed = subprocess.run(
            ["git", "-C", str(root), *safe, *args], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return completed.stdout.strip() or None if completed.returncode == 0 else None


def _git_head(root: Path) -> str | None:
    return _git(root, "rev-parse", "--verify", "-q", "HEAD")


def default_scan_root(cwd: Path) -> Path:
    """Where `gate run` looks without a PATH: the repository around `cwd`, as gitleaks and zizmor do."""
    top = _git(cwd, "rev-parse", "--show-toplevel")
    return Path(top) if top else cwd


def execute(
    config: Config,
    names: Sequence[str],
    *,
    environ: Mapping[str, str] | None = None,
    progress: ProgressSink | None = None,
    today: datetime.date | None = None,
    fail_on_all: str | None = None,
) -> Verdict:
    """Run `names` and judge them; `fail_on_all` replaces each check's own threshold."""
    unknown = [name for name in names if name not in REGISTRY]
    if unknown:
        raise InputError(f"unknown check '{unknown[0]}'; known checks: {', '.join(REGISTRY)}")
    started = datetime.datetime.now(datetime.UTC)
    clock = time.monotonic()
    fail_on = {
        name: Severity.parse(fail_on_all or config.section(name).get("fail_on", DEFAULT_FAIL_ON)) for name in names
    }
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


def report_input(verdict: Verdict, *, color: bool = False, places: ConfigPlaces | None = None) -> ReportInput:
    return ReportInput(
        verdict=verdict,
        rules=rule_docs(),
        tool_version=__version__,
        color=color,
        places=places or ConfigPlaces.none(),
    )


def places_of(config: Config) -> ConfigPlaces:
    return ConfigPlaces.of(config.document, config.path, config.root)


def write_outputs(verdict: Verdict, outputs: Sequence[OutputRequest], places: ConfigPlaces | None = None) -> None:
    """All reports or none: a report left beside a failed one could be read as the run's verdict."""
    report = report_input(verdict, places=places)
    rendered = [(output.path, render(output.fmt, report)) for output in outputs]
    written: list[Path] = []
    for path, text in rendered:
        try:
            write_atomically(path, text)
        except OSError as error:
            # A full disk fails in write(), whose error carries no file name; the user needs it.
            error.filename = error.filename or str(path)
            for done in written:
                done.unlink(missing_ok=True)
            raise
        written.append(path)


def run_gate(request: RunRequest, terminal: Terminal) -> int:
    """Load config, run the checks, render and write every report, report to GitHub; the exit code."""
    # The runner reads workflow commands on stderr too; keep them off stdout when it carries a
    # machine-readable report that may be redirected to a file.
    commands_out: Callable[[str], None] = (
        (lambda text: terminal.out(text + "\n", False)) if request.fmt == "console" else terminal.err
    )
    session = open_session(os.environ, force=request.github, out=commands_out, err=terminal.err)
    overrides = list(request.overrides)
    if session is not None:
        # The event's values come first so a flag or action input given explicitly still wins.
        overrides = [*session.plan.overrides, *overrides]
    cwd = Path.cwd()
    scan_root = request.scan_root or default_scan_root(cwd)
    config_path = request.config_path or find_config(cwd) or find_config(scan_root)
    config = load_config(
        config_path, check_schemas=config_schemas(), preset=request.preset, overrides=overrides, scan_root=scan_root
    )
    if config.path is None and request.names is None:
        terminal.say(f"note: no gate.yml found; using the '{config.preset}' preset's defaults (`gate init` writes one)")
    chosen = list(request.names) if request.names is not None else config.enabled_checks(REGISTRY)
    if session is not None and session.plan.skip:
        chosen = [name for name in chosen if name not in session.plan.skip]
        if not chosen:
            session.finish_skipped()
            return EXIT_PASS
    if not chosen:
        raise InputError("no check is enabled", hint="enable one in gate.yml under checks.NAME.enabled: true")
    if session is not None:
        session.start()
    try:
        verdict = execute(
            config, chosen, environ=request.environ, progress=terminal.progress, fail_on_all=request.fail_on
        )
    except BaseException as error:
        if session is not None:
            session.abandon(f"the run stopped before a verdict ({type(error).__name__})")
        raise
    finally:
        terminal.clear_progress()
    colored = request.color and request.fmt == "console"
    places = places_of(config)
    text = render(request.fmt, report_input(verdict, color=colored, places=places))
    code = verdict.exit_code
    # Report files first: when one cannot be written, stdout must not end on a GO line.
    failure = None
    try:
        write_outputs(verdict, request.outputs, places)
    except OSError as error:
        failure = f"could not write a report ({error.strerror}: {error.filename}); failing closed"
        code = EXIT_INTERNAL
    if failure is not None and request.fmt == "console":
        text += f"NO-GO (exit 3): {failure}.\n"
    terminal.out(session.guard(text) if session is not None and request.fmt == "console" else text, colored)
    if failure is not None:
        terminal.err(f"error: {failure}")
    if session is not None:
        session.finish(
            report_input(verdict, places=places), config.root, {r.fmt: r.path for r in request.outputs}, exit_code=code
        )
    return code
