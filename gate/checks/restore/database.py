"""What the sanity queries need from a restored backup, whichever engine holds it."""

from __future__ import annotations

import re
from typing import Protocol

from gate.redact import scrub

# Identifiers PostgreSQL and SQLite quote in messages; anything else in quotes may be row data.
_QUOTED = re.compile(r'(:\s*)?"([^"\n]*)"')
_ECHOES = ("LINE ", "CONTEXT", "DETAIL", "QUERY")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_.$ ]{0,62}")


class Restored(Protocol):
    def tables(self) -> set[str]:
        """Every user table, as `schema.table` (PostgreSQL) or `table` (SQLite)."""
        ...

    def find(self, name: str) -> str | None:
        """The table a declared name means, or None when the backup has no such table."""
        ...

    def count(self, table: str) -> int: ...

    def newest_age(self, table: str, column: str) -> float | None:
        """Seconds since the newest value of `column`; None when it is missing, not a time, or all NULL."""
        ...


def tool_words(text: str, lines: int = 4) -> str:
    """A tool's own error lines without row data.

    psql echoes the failing statement (LINE, caret), its data (CONTEXT, DETAIL: `Key (email)=(...)`)
    and the rejected value after a colon; none of that leaves. Quoted names (relation "users") stay.
    """
    said = [line.strip() for line in text.splitlines() if line.strip()]
    errors = [line for line in said if any(mark in line for mark in ("ERROR:", "FATAL:", "error:"))]
    kept = errors or [line for line in said if not line.startswith(_ECHOES) and set(line) != {"^"}]

    def keep_names(match: re.Match[str]) -> str:
        value = match.group(2)
        return match.group(0) if not match.group(1) and _IDENTIFIER.fullmatch(value) else f'{match.group(1)}"<value>"'

    return scrub(" / ".join(_QUOTED.sub(keep_names, line) for line in kept[-lines:]))
