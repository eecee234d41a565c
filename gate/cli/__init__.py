"""The `gate` command: parse options, call the library, map the outcome to an exit code.

Heavy modules are imported inside commands so `gate --help` starts fast.
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

from gate import __version__
from gate.errors import EXIT_BAD_INPUT, EXIT_INTERNAL, GateError, InputError
from gate.report import FORMATS

if TYPE_CHECKING:
    from gate.checks.base import Check
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


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="launch-gate")
def cli() -> None:
    """launch-gate: is this backend safe to launch?

    Exit codes: 0 every budget holds, 1 a budget failed (release blocked), 2 bad input
    (config, manifest, arguments), 3 internal failure or a check that could not finish.
    A definite failure is exit 1 even when another check could not finish.
    """


@cli.command()
@_scan_root_argument
@_common
def run(scan_root: Path | None, **common: Any) -> None:
    """Run every check gate.yml enables on PATH and print one verdict.

    PATH is the project to scan (default: the top of the git repository around the current
    directory, else the current directory); --config only says where gate.yml is.
    """
    sys.exit(_run_and_report(names=None, scan_root=scan_root, **common))


@cli.command(hidden=True)
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


@cli.group(cls=_CheckGroup)
def check() -> None:
    """Run one check: gate check NAME [OPTIONS]."""


@cli.command(name="export")
@click.argument("tool", type=click.Choice(["k6", "locust"]))
@click.option("--config", "config_path", type=click.Path(path_type=Path), help="gate.yml to use (default: ./gate.yml).")
@click.option("--preset", help="Stage whose budgets become the thresholds: prototype, demo or launch.")
@click.option("--url", help="Load this URL instead of checks.http.url.")
@click.option("--duration", help="How long each route is loaded, like 5m (default: load.duration or 60s).")
@click.option("--out", type=click.Path(path_type=Path), help="Write the script here (default: stdout).")
def export_(
    tool: str, config_path: Path | None, preset: str | None, url: str | None, duration: str | None, out: Path | None
) -> None:
    """Write a k6 script or locustfile with checks.http's routes, login and budgets as thresholds.

    For more load than one CI runner makes: run it on k6's or Locust's own engine, then judge its
    summary with `gate import`.
    """
    import dataclasses

    from gate.checks import config_schemas
    from gate.checks.http.external_load import export_plan
    from gate.config import Override, load_config
    from gate.load.export import k6_script, locustfile

    overrides = [Override("http", "url", url, "--url")] if url else []
    config = load_config(config_path, check_schemas=config_schemas(), preset=preset, overrides=overrides)
    # The header's `gate import` command must judge with these same budgets, so it names the same file and preset.
    same_budgets = [*(["--config", str(config_path)] if config_path else []), *(["--preset", preset] if preset else [])]
    plan = dataclasses.replace(
        export_plan(config.section("http"), duration=duration),
        script_name=out.name if out is not None else None,
        import_options=same_budgets,
    )
    script = k6_script(plan) if tool == "k6" else locustfile(plan)
    if out is None:
        click.echo(script, nl=False)
    else:
        out.write_text(script, encoding="utf-8")


@cli.command(name="import")
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


@cli.command()
@click.argument("project", required=False, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--preset", default="launch", show_default=True, help="prototype, demo or launch.")
@click.option(
    "--path", "target", type=click.Path(path_type=Path), help="Where gate.yml goes (default PROJECT/gate.yml)."
)
@click.option("--force", is_flag=True, help="Overwrite existing files.")
@click.option("--dry-run", is_flag=True, help="Print what would be written; write nothing.")
@click.option("--preview", metavar="URL", help="Also probe this running preview (only its origin).")
@click.option("--template", is_flag=True, help="Only the preset's defaults, commented; read nothing.")
@click.option("-q", "--quiet", is_flag=True, help="No progress.")
def init(
    project: Path | None,
    preset: str,
    target: Path | None,
    force: bool,
    dry_run: bool,
    preview: str | None,
    template: bool,
    quiet: bool,
) -> None:
    """Read the project and write gate.yml, env.manifest.yml and the GitHub workflows for its host.

    Nothing in the project is run; without --preview nothing leaves the machine."""
    from gate.init.write import render_init, write_init

    root = (project or Path.cwd()).resolve()
    target = target or root / "gate.yml"
    if template:
        if dry_run:
            click.echo(render_init(preset), nl=False)
        else:
            write_init(target, preset, force=force)
            click.echo(f"wrote {target} for the '{preset}' preset; run `gate run` next")
        return
    from gate.init.report import init_project

    init_project(
        root, target, preset=preset, preview=preview, force=force, dry_run=dry_run, echo=click.echo, quiet=quiet
    )


@cli.command()
@click.argument("rule_id", required=False)
@click.option("--list", "list_rules", is_flag=True, help="List every rule id with its title.")
def explain(rule_id: str | None, list_rules: bool) -> None:
    """Say what a rule means, why it matters for a launch, and how to fix it."""
    import difflib
    import textwrap

    from gate.checks import rule_docs

    docs = rule_docs()
    if list_rules or rule_id is None:
        for listed in docs.values():
            click.echo(f"{listed.id:<40} {listed.severity!s:<9} {listed.title}")
        return
    doc = docs.get(rule_id)
    if doc is None:
        guess = difflib.get_close_matches(rule_id, list(docs), n=1)
        raise InputError(
            f"unknown rule '{rule_id}'", hint=f"did you mean '{guess[0]}'?" if guess else "see `gate explain --list`"
        )
    wrap = textwrap.TextWrapper(width=88, initial_indent="  ", subsequent_indent="  ")
    click.echo(f"{doc.id}: {doc.title} (default severity: {doc.severity})\n")
    click.echo("Why it matters:\n" + wrap.fill(doc.why) + "\n")
    click.echo("How to fix:\n" + wrap.fill(doc.fix))


@cli.command()
@click.option("--report", "report_path", type=click.Path(path_type=Path), required=True, help="The last JSON report.")
@click.option("--config", "config_path", type=click.Path(path_type=Path), help="gate.yml to use (default: ./gate.yml).")
@click.option("--preset", help="Stage whose rollback budget applies: prototype, demo or launch.")
@click.option("--markdown", "markdown_path", type=click.Path(path_type=Path), help="Write the Markdown page here.")
@click.option("--html", "html_path", type=click.Path(path_type=Path), help="Write the standalone HTML page here.")
def handover(
    report_path: Path, config_path: Path | None, preset: str | None, markdown_path: Path | None, html_path: Path | None
) -> None:
    """Write the one-page handover: domains, mail, env names, secrets to rotate, monitoring, deploy and
    rollback, open risks and what was not checked (Markdown on stdout unless --markdown/--html)."""
    from gate.checks import config_schemas
    from gate.config import load_config
    from gate.handover.build import build
    from gate.handover.render import markdown, standalone_html
    from gate.handover.report import read_report

    document = build(load_config(config_path, check_schemas=config_schemas(), preset=preset), read_report(report_path))
    if markdown_path is None and html_path is None:
        click.echo(markdown(document), nl=False)
    if markdown_path is not None:
        markdown_path.write_text(markdown(document), encoding="utf-8")
    if html_path is not None:
        html_path.write_text(standalone_html(document), encoding="utf-8")


@cli.command()
def schema() -> None:
    """Print the JSON Schema of gate.yml (for editors and CI validation)."""
    import json

    from gate.checks import config_schemas
    from gate.config import full_schema

    click.echo(json.dumps(full_schema(config_schemas()), indent=2))


@cli.command()
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


def _watch_options(function: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option("--config", "config_path", type=click.Path(path_type=Path), help="gate.yml to read."),
        click.option("--preset", help="Stage whose thresholds apply: prototype, demo or launch."),
        click.option("--store", help="SQLite file or postgresql:// URL (default: watch.store, .gate/watch.sqlite)."),
    ]
    for option in reversed(options):
        function = option(function)
    return function


@cli.group(name="watch", invoke_without_command=True)
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


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """Entry point: every failure becomes a message and an exit code, never a traceback."""
    signal.signal(signal.SIGTERM, _on_signal)
    try:
        code = cli.main(args=list(argv) if argv is not None else None, prog_name="gate", standalone_mode=False)
    except Interrupted as error:
        _say_once(error.render())
        _exit_now(error.exit_code)
    except click.exceptions.Abort:
        _echo_error("aborted; nothing was passed")
        code = EXIT_INTERNAL
    except click.ClickException as error:
        error.show()
        code = EXIT_BAD_INPUT if error.exit_code == 2 else error.exit_code
    except GateError as error:
        _echo_error(error.render())
        code = error.exit_code
    except KeyboardInterrupt:
        _echo_error("interrupted; nothing was passed")
        code = EXIT_INTERNAL
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else EXIT_INTERNAL
    except Exception as error:  # noqa: BLE001 - a bug must still fail closed, without a traceback
        _echo_error(
            f"internal error: {type(error).__name__}: {error}\nThe gate failed closed (exit 3). Please report this."
        )
        code = EXIT_INTERNAL
    code = code if isinstance(code, int) else 0
    if argv is None and _abandoned_threads():
        _exit_now(code)
    sys.exit(code)


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
