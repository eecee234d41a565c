"""A SQLite backup, read where it lies: opened read-only and immutable, never written, never loaded
into PostgreSQL. What is checked: the file is a SQLite database, `PRAGMA quick_check` passes, and the
sanity queries (tables, row counts, newest row) hold. Triggers and views are never run.
"""

from __future__ import annotations

import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path

from gate.checks.restore.database import tool_words
from gate.errors import CheckFailure

_MILLISECONDS_AFTER = 1e11  # epoch values above this are milliseconds (year 5138 in seconds)


class SqliteBackup:
    def __init__(self, path: Path, timeout: float) -> None:
        self.deadline = time.monotonic() + timeout
        try:
            self.db = sqlite3.connect(path.as_uri() + "?mode=ro&immutable=1", uri=True, isolation_level=None)
            # Read-only twice over, and no SQL function the file's schema names runs from a view or trigger.
            self.db.execute("PRAGMA query_only = ON")
            self.db.execute("PRAGMA trusted_schema = OFF")
            # A hostile file can make a query run for ever; the handler ends it at the deadline.
            self.db.set_progress_handler(lambda: int(time.monotonic() > self.deadline), 10_000)
            self.db.execute("SELECT count(*) FROM sqlite_schema").fetchone()
        except sqlite3.Error as exc:
            raise CheckFailure(f"sqlite3 could not open the backup: {tool_words(str(exc))}") from exc

    def _query(self, sql: str, *args: object) -> list[tuple[object, ...]]:
        try:
            return self.db.execute(sql, args).fetchall()
        except sqlite3.Error as exc:
            if time.monotonic() > self.deadline:
                raise CheckFailure("reading the SQLite backup did not finish within the restore timeout") from exc
            raise CheckFailure(f"sqlite3 could not read the backup: {tool_words(str(exc))}") from exc

    def problems(self) -> list[str]:
        """What `PRAGMA quick_check` reports (empty when the file is sound)."""
        said = [str(row[0]) for row in self._query("PRAGMA quick_check(20)")]
        return [] if said == ["ok"] else said

    def tables(self) -> set[str]:
        rows = self._query(
            "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
        )
        return {str(row[0]) for row in rows}

    def find(self, name: str) -> str | None:
        bare = name.removeprefix("main.")
        return bare if bare in self.tables() else None

    def count(self, table: str) -> int:
        counted = self._query(f"SELECT count(*) FROM {_quoted(table)}")[0][0]
        return counted if isinstance(counted, int) else 0

    def newest_age(self, table: str, column: str) -> float | None:
        columns = {str(row[1]) for row in self._query(f"PRAGMA table_info({_quoted(table)})")}
        if column not in columns:
            return None
        newest = self._query(f"SELECT max({_quoted(column)}) FROM {_quoted(table)}")[0][0]
        moment = _as_time(newest)
        return None if moment is None else time.time() - moment

    def close(self) -> None:
        self.db.close()


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _as_time(value: object) -> float | None:
    """Seconds since the epoch of a SQLite time: an ISO 8601 text or a Unix time in s or ms."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value / 1000 if value > _MILLISECONDS_AFTER else float(value)
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()
    return None
