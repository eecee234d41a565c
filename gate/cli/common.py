"""What every `gate` command shares: options, logging, stderr, signals, and one run reported.

Heavy modules are imported inside functions so `gate --help` starts fast.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, NoReturn

import click

from gate.errors import EXIT_INTERNAL, GateError, InputError
from gate.report import FORMATS

if TYPE_CHECKING:
    from gate.config import Override
    from gate.pipeline import OutputRequest

# The parameters `_common` adds to a command, passed through to `_run_and_report` as they are.
COMMON_OPTIONS = (
    "config_path",
    "preset",
    "fmt",
    "outputs",
    "color",
    "verbose",
    "quiet",
    "fail_on",
    "github",
    "trust_head_policy",
)
SEVERITIES = ("info", "low", "medium", "high", "critical")


class Interrupted(GateError):
    exit_code = EXIT_INTERNAL


# After SIGTERM the run unwinds (reports are written atomically, so none is left half-done);
# if unwinding waits on a busy thread, the process ends anyway after this grace.
SIGNAL_GRACE_S = 0.3
_said: list[str] = []
_said_lock = threading.Lock()


def _say_once(text: str) -> None:
    with _said_lock:
        if _said:
            return
        _said.append(text)
    _echo_error(text)


def _on_signal(signum: int, _frame: FrameType | None) -> NoReturn:
    message = f"stopped by signal {signal.Signals(signum).name} before the run finished; nothing was passed"

    def give_up() -> None:
        _say_once(message)
        _exit_now(EXIT_INTERNAL)

    watchdog = threading.Timer(SIGNAL_GRACE_S, give_up)
    watchdog.daemon = True
    watchdog.start()
    raise Interrupted(message)


def _echo_error(text: str) -> None:
    """Notes and errors on stderr, which the runner reads too: guarded inside GitHub Actions."""
    from gate.github.commands import for_runner
    from gate.redact import scrub

    click.echo(for_runner(scrub(text)).rstrip("\n"), err=True)


def _echo_commands(text: str) -> None:
    from gate.redact import scrub

    click.echo(scrub(text), err=True)


def _parse_outputs(values: Sequence[str]) -> list[OutputRequest]:
    from gate.pipeline import OutputRequest

    requests = []
    for value in values:
        fmt, sep, path = value.partition("=")
        if not sep or not path:
            raise InputError(f"--output {value!r} is not FORMAT=PATH", hint="for example --output sarif=gate.sarif")
        if fmt not in FORMATS:
            raise InputError(f"--output format '{fmt}' is unknown", hint=f"use one of: {', '.join(FORMATS)}")
        requests.append(OutputRequest(fmt, Path(path)))
    return requests


class _RunnerSafeFormatter(logging.Formatter):
    """Log lines quote URLs, server answers and file names: guarded like every stderr line."""

    def format(self, record: logging.LogRecord) -> str:
        from gate.github.commands import for_runner

        return for_runner(super().format(record)).rstrip("\n")


def _configure_logging(verbose: int) -> None:
    from gate.redact import ScrubbingFilter, route_library_loggers

    route_library_loggers()
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(ScrubbingFilter())
    handler.setFormatter(_RunnerSafeFormatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING - 10 * min(verbose, 2))
    # The HTTP libraries warn on each retry; the gate reports a call that finally failed itself.
    for library in ("urllib3", "github"):
        logging.getLogger(library).setLevel(logging.NOTSET if verbose > 0 else logging.ERROR)


def _common(function: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option(
            "--config",
            "config_path",
            type=click.Path(path_type=Path),
            help="gate.yml to read (default: ./gate.yml, else at the top of PATH); never changes what is scanned.",
        ),
        click.option("--preset", help="Stage whose budgets apply: prototype, demo or launch."),
        click.option(
            "--format",
            "fmt",
            type=click.Choice(FORMATS),
            default="console",
            show_default=True,
            help="Format printed on stdout.",
        ),
        click.option(
            "--output", "outputs", multiple=True, metavar="FORMAT=PATH", help="Also write a report (repeatable)."
        ),
        click.option(
            "--fail-on",
            type=click.Choice(SEVERITIES, case_sensitive=False),
            help="Block on findings at or above this severity in every check (overrides checks.*.fail_on).",
        ),
        click.option(
            "--color/--no-color",
            default=None,
            help="Colour the console report (default: on a terminal, unless NO_COLOR is set or TERM=dumb).",
        ),
        click.option("-v", "--verbose", count=True, help="Log what the gate does (-vv for debug)."),
        click.option("-q", "--quiet", is_flag=True, help="Only the report and errors: no progress, notes or logs."),
        click.option(
            "--github/--no-github", "github", default=None, help="Report to GitHub (default: when GITHUB_ACTIONS=true)."
        ),
        click.option(
            "--trust-head-policy",
            is_flag=True,
            help="In a pull request, judge it by its own gate.yml, suppressions and baselines (default: its base's).",
        ),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def _scan_root_argument(function: Callable[..., Any]) -> Callable[..., Any]:
    return click.argument(
        "scan_root",
        metavar="[PATH]",
        required=False,
        type=click.Path(exists=True, file_okay=False, path_type=Path),
    )(function)


def use_color(flag: bool | None, stream_is_tty: bool, environ: Mapping[str, str]) -> bool:
    """--color/--no-color first, then the conventions (no-color.org, TERM=dumb), then the terminal."""
    if flag is not None:
        return flag
    if environ.get("NO_COLOR") or environ.get("TERM") == "dumb":
        return False
    return stream_is_tty


def _run_and_report(
    *,
    names: Sequence[str] | None,
    config_path: Path | None,
    preset: str | None,
    fmt: str,
    outputs: Sequence[str],
    color: bool | None,
    verbose: int,
    quiet: bool = False,
    fail_on: str | None = None,
    scan_root: Path | None = None,
    overrides: Sequence[Override] = (),
    environ: Mapping[str, str] | None = None,
    github: bool | None = None,
    trust_head_policy: bool = False,
) -> int:
    from gate.pipeline import RunRequest, Terminal, run_gate
    from gate.progress import open_display

    if quiet and verbose:
        raise click.UsageError("--quiet and --verbose contradict each other; give one")
    _configure_logging(-1 if quiet else verbose)
    request = RunRequest(
        names=names,
        config_path=config_path,
        preset=preset,
        fmt=fmt,
        outputs=_parse_outputs(outputs),
        color=use_color(color, sys.stdout.isatty(), os.environ),
        overrides=overrides,
        environ=environ,
        github=github,
        trust_head_policy=trust_head_policy,
        scan_root=scan_root,
        fail_on=fail_on.lower() if fail_on else None,
    )
    display = open_display(sys.stderr, os.environ, quiet=quiet)
    terminal = Terminal(
        out=lambda text, colored: click.echo(text, nl=False, color=colored),
        err=_echo_error,
        note=(lambda _text: None) if quiet else _echo_error,
        progress=display,
        clear_progress=display.close,
        commands_err=_echo_commands,
    )
    try:
        return run_gate(request, terminal)
    finally:
        # Also when bad input stops the run early: a live region left open hides the cursor.
        display.close()


def _abandoned_threads() -> list[threading.Thread]:
    """Threads a check started that outlived its deadline (blocked on a peer that never answers).

    Daemon threads count too: concurrent.futures joins its workers at exit whatever their flag.
    """
    return [t for t in threading.enumerate() if t is not threading.main_thread() and t.is_alive()]


def _exit_now(code: int) -> NoReturn:
    """Exit without joining leftover threads: the interpreter would wait for each blocked read to
    time out (or, against a peer that drips a byte at a time, forever) after the verdict is out."""
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
