"""The `gate` command: parse options, call the library, map the outcome to an exit code.

Heavy modules are imported inside commands so `gate --help` starts fast. The commands live in
the modules beside this one; this one builds the group and is the process's entry point.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Sequence
from typing import NoReturn

import click

from gate import __version__
from gate.cli.common import (
    Interrupted,
    _abandoned_threads,
    _configure_logging,
    _echo_error,
    _exit_now,
    _on_signal,
    _RunnerSafeFormatter,
    _say_once,
    use_color,
)
from gate.cli.project_commands import explain, export_, handover, init, schema
from gate.cli.run_commands import action, check, demo, import_, run
from gate.cli.watch_commands import watch
from gate.errors import EXIT_BAD_INPUT, EXIT_INTERNAL, GateError

# What other modules and the tests import from `gate.cli`.
__all__ = ["_RunnerSafeFormatter", "_configure_logging", "cli", "main", "use_color"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="launch-gate")
def cli() -> None:
    """launch-gate: is this backend safe to launch?

    Exit codes: 0 every budget holds, 1 a budget failed (release blocked), 2 bad input
    (config, manifest, arguments), 3 internal failure or a check that could not finish.
    A definite failure is exit 1 even when another check could not finish.
    """


for command in (run, action, check, export_, import_, init, explain, handover, schema, demo, watch):
    cli.add_command(command)


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
