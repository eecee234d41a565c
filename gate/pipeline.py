"""One gate run as a library call: config in, verdict and reports out. The CLI only wraps this."""

from __future__ import annotations

import dataclasses
import datetime
import os
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from gate import __version__
from gate.checks import REGISTRY, config_schemas, rule_docs
from gate.config import Config, Override, find_config, load_config, policy_changes
from gate.config.paths import nearest_git_folder
from gate.config.source import MAX_BASELINE_BYTES, PolicySource, at_base
from gate.errors import EXIT_INTERNAL, EXIT_PASS, InputError, InputErrors
from gate.github import commands
from gate.github.publish import open_session
from gate.model import Severity, Target, Verdict
from gate.policy import DEFAULT_FAIL_ON, judge
from gate.report import ReportInput, render, write_atomically
from gate.report.places import ConfigPlaces
from gate.scheduler import ProgressSink, run_checks


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
    # In a pull request, judge it by its own gate.yml, suppressions and baselines, not its base's.
    trust_head_policy: bool = False
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
    # Workflow commands the gate means (annotations, notices) on stderr, unguarded; `err`
    # guards what it prints, as it may carry untrusted text.
    commands_err: Callable[[str], None] | None = None

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
    nearest = nearest_git_folder(cwd.resolve())
    if nearest is not None and (not top or Path(top).resolve() != nearest):
        # git refuses the nearest `.git`, or skips it for a repository further up: scan where it
        # is, so the checks fail in git's words instead of judging the wrong repository.
        return nearest
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


def _load_policy(
    request: RunRequest, overrides: Sequence[Override], cwd: Path, scan_root: Path
) -> tuple[Config, list[str]]:
    """The config that judges this run, and what a pull request changes in it.

    A pull request is judged by its base commit's policy unless the run opts in to trusting it;
    its own changes are loaded too, only to be shown ("takes effect once merged").
    """
    from gate.github.context import pull_request_shas, trusts_head_policy

    def load(policy: PolicySource) -> Config:
        config_path = request.config_path or find_config(cwd, policy) or find_config(scan_root, policy)
        return load_config(
            config_path,
            check_schemas=config_schemas(),
            preset=request.preset,
            overrides=overrides,
            scan_root=scan_root,
            policy=policy,
        )

    shas = pull_request_shas(os.environ)
    if shas is None:
        return load(PolicySource()), []
    if request.trust_head_policy or trusts_head_policy(os.environ):
        return load(PolicySource()), [
            "the pull request's own policy (gate.yml, suppressions, baselines) judged it: trust-head-policy is on"
        ]
    policy = at_base(scan_root, shas[0])
    if not policy.pinned:
        return load(policy), [
            "not a git checkout, so the base commit's policy could not be read: the pull request's own "
            "gate.yml, suppressions and baselines judged it"
        ]
    config = load(policy)
    try:
        head: Config | InputError = load(PolicySource())
    except InputError as error:
        head = error
    except InputErrors as errors:
        head = errors.errors[0]
    notes = policy_changes(config, head)
    if isinstance(head, Config):
        relative = head.section("secrets").get("baseline", ".secrets.baseline")
        on_disk = head.root / relative
        current = on_disk.read_bytes() if on_disk.is_file() and not on_disk.is_symlink() else None
        if policy.read(config.root / relative, MAX_BASELINE_BYTES) != current:
            notes.append(f"this pull request changes {relative}: secrets it accepts take effect once merged")
    return config, notes


def run_gate(request: RunRequest, terminal: Terminal) -> int:
    """Load config, run the checks, render and write every report, report to GitHub; the exit code."""
    # The runner reads workflow commands on stderr too; keep them off stdout when it carries a
    # machine-readable report that may be redirected to a file.
    commands_out: Callable[[str], None] = (
        (lambda text: terminal.out(text + "\n", False))
        if request.fmt == "console"
        else (terminal.commands_err or terminal.err)
    )
    session = open_session(os.environ, force=request.github, out=commands_out, err=terminal.err)
    overrides = list(request.overrides)
    if session is not None:
        # The event's values come first so a flag or action input given explicitly still wins.
        overrides = [*session.plan.overrides, *overrides]
    cwd = Path.cwd()
    scan_root = request.scan_root or default_scan_root(cwd)
    config, policy_notes = _load_policy(request, overrides, cwd, scan_root)
    # Notes quote the pull request's own gate.yml: one line each, whatever its strings hold.
    policy_notes = [" ".join(note.split()) for note in policy_notes]
    for note in policy_notes:
        if session is not None:
            session.notes.append(note)
        elif request.fmt != "console":
            terminal.err(f"note: {note}")  # the console report shows them itself
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
        verdict = dataclasses.replace(
            execute(config, chosen, environ=request.environ, progress=terminal.progress, fail_on_all=request.fail_on),
            notes=tuple(policy_notes),
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
    # The runner reads stdout whether or not --github is on: file names, gate.yml strings and
    # server answers in the report must not be taken for workflow commands.
    shown = commands.for_runner(text) if request.fmt == "console" else commands.escape_report(text, request.fmt)
    terminal.out(shown, colored)
    if failure is not None:
        terminal.err(f"error: {failure}")
    if session is not None:
        # Reports are all or none: after a failed write none exists, so no output or notice names one.
        written = {} if failure is not None else {r.fmt: r.path for r in request.outputs}
        session.finish(report_input(verdict, places=places), config.root, written, exit_code=code)
    return code
