"""What the sanity queries need from a restored backup, whichever engine holds it."""

from __future__ import annotations

import re
from typing import Protocol

from gate.redact import scrub

# Identifiers PostgreSQL and SQLite quote in messages; anything else in quotes may be row data.
_QUOTED = re.compile(r'"([^"\n]*)"')
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
    """A tool's own error lines, without row data: quoted values that are not names are replaced."""
    kept = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("CONTEXT")]

    def keep_names(match: re.Match[str]) -> str:
        return match.group(0) if _IDENTIFIER.fullmatch(match.group(1)) else '"<value>"'

    return scrub(" / ".join(_QUOTED.sub(keep_names, line) for line in kept[-lines:]))
