"""Errors that carry their exit code, so one place in the CLI can map them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gate.printable import printable

EXIT_PASS = 0
EXIT_BLOCKED = 1
EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 3


class GateError(Exception):
    """Base of every error the gate expects; anything else is a bug and exits 3."""

    exit_code = EXIT_INTERNAL

    def render(self) -> str:
        return printable(self)


@dataclass(frozen=True)
class Position:
    """Where in an input file a problem sits (1-based line and column)."""

    path: Path | str
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        text = str(self.path)
        if self.line is not None:
            text += f":{self.line}"
            if self.column is not None:
                text += f":{self.column}"
        return text


class InputError(GateError):
    """Bad config, manifest, argument or file: exit 2, naming where and how to fix it."""

    exit_code = EXIT_BAD_INPUT

    def __init__(self, message: str, position: Position | None = None, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.position = position
        self.hint = hint

    def render(self) -> str:
        # Paths and quoted gate.yml strings are untrusted: a line break in them must not start a line.
        where = f"{printable(self.position)}: " if self.position else ""
        text = f"error: {where}{printable(self.message)}"
        if self.hint:
            text += f"\n  help: {printable(self.hint)}"
        return text


class InputErrors(GateError):
    """Several input errors found in one pass, so the user fixes them all at once."""

    exit_code = EXIT_BAD_INPUT

    def __init__(self, errors: list[InputError]) -> None:
        super().__init__(f"{len(errors)} input error(s)")
        self.errors = errors

    def render(self) -> str:
        return "\n".join(error.render() for error in self.errors)


class CheckFailure(GateError):
    """A check could not finish its work (service down, resolver timeout): fail closed."""

    exit_code = EXIT_INTERNAL
