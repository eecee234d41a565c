"""SQL text into statements with the line each starts on, by PostgreSQL's own parser (libpg_query).

A migration that does not parse cannot be judged, so it is bad input (exit 2) naming the file, the
line and the parser's message, never a silent pass. libpg_query bounds its own nesting depth and
reports "memory exhausted" past it, which arrives here as that same error.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from gate.errors import InputError, Position


@dataclass(frozen=True)
class Statement:
    """One parsed statement: its AST node (pglast.ast), where it starts, and its text for messages."""

    node: Any
    path: str
    line: int
    text: str
    # The command whose output this is (None for a migration file): its lines are not the file's.
    origin: str | None = None
    # For a command's SQL: the line of the migration file it came from, when that is known.
    file_line: int | None = None


@dataclass(frozen=True)
class Section:
    """Where a stretch of a command's SQL comes from: from offset `start` on, `path` (line `line`)."""

    start: int
    path: str
    line: int | None


@dataclass(frozen=True)
class Migration:
    """One migration's statements in order; `path` is relative to the repository (or names the command)."""

    path: str
    statements: Sequence[Statement]
    # False for a migration read only for what it established (an older one in a pull request).
    judged: bool = True


def parse_migration(path: str, sql: str, origin: str | None = None, sections: Sequence[Section] = ()) -> Migration:
    """The statements of `sql`; those of a command's output sit on the file their `sections` name."""
    from pglast import parse_sql
    from pglast.parser import ParseError

    try:
        raws = parse_sql(sql)
    except ParseError as error:
        message, index = (*error.args, None)[:2] if error.args else ("parse error", None)
        line = _line_at(sql, index) if isinstance(index, int) else None
        printed = f" (line {line} of what {origin!r} printed)" if origin and line else ""
        raise InputError(
            f"PostgreSQL's parser rejects this migration{printed}: {message}",
            Position(path or "checks.migrations.command", None if origin else line),
            hint="a migration that does not parse cannot be judged; fix the SQL (the check reads PostgreSQL)",
        ) from None
    statements = []
    for raw in raws:
        start = raw.stmt_location or 0
        end = start + raw.stmt_len if raw.stmt_len else len(sql)
        text = sql[start:end].strip()
        section = next((s for s in reversed(sections) if s.start <= start), None)
        placed, line = (section.path or path, section.line if section.path else None) if section else (path, None)
        statements.append(Statement(raw.stmt, placed, _line_at(sql, start), text, origin, line))
    return Migration(path, tuple(statements))


def _line_at(sql: str, index: int) -> int:
    """1-based line of the first character of code at or after `index` (past blanks and -- comments)."""
    position = max(0, min(index, len(sql)))
    while position < len(sql):
        if sql[position].isspace():
            position += 1
        elif sql.startswith("--", position):
            newline = sql.find("\n", position)
            position = len(sql) if newline < 0 else newline + 1
        else:
            break
    return sql.count("\n", 0, min(position, len(sql))) + 1
