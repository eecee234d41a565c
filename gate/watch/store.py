"""Where the probe history, incidents and delivered notices live: SQLite (default) or PostgreSQL.

SQLite runs in WAL mode: a watcher killed mid-write (kill -9, an OOM kill, a runner cancelled)
leaves the last committed round readable and the next one appends. PostgreSQL is for several
watchers in different places writing one history; notices are claimed with a unique key there, so
two watchers never send the same alert twice.
"""

from __future__ import annotations

import os
import re
import sqlite3
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from gate import redact
from gate.errors import InputError
from gate.watch.probes import ProbeResult

_TABLES = (
    """CREATE TABLE IF NOT EXISTS probes (
        target TEXT NOT NULL, at DOUBLE PRECISION NOT NULL, ok INTEGER NOT NULL,
        latency_ms DOUBLE PRECISION, detail TEXT NOT NULL, watcher TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS probes_by_target ON probes (target, at)",
    "CREATE INDEX IF NOT EXISTS probes_by_time ON probes (at)",
    """CREATE TABLE IF NOT EXISTS incidents (
        id {serial}, target TEXT NOT NULL, opened_at DOUBLE PRECISION NOT NULL,
        resolved_at DOUBLE PRECISION, detail TEXT NOT NULL, last_good DOUBLE PRECISION)""",
    # One open incident per target, even when two watchers see the same outage at the same moment.
    "CREATE UNIQUE INDEX IF NOT EXISTS one_open_incident ON incidents (target) WHERE resolved_at IS NULL",
    """CREATE TABLE IF NOT EXISTS notices (
        incident INTEGER NOT NULL, channel TEXT NOT NULL, event TEXT NOT NULL, ref TEXT,
        PRIMARY KEY (incident, channel, event))""",
    "CREATE TABLE IF NOT EXISTS deploys (at DOUBLE PRECISION NOT NULL, ref TEXT NOT NULL)",
    # How an open incident's failure changed (another status, another error): numbered per incident,
    # so two watchers noting the same change at once keep one row.
    """CREATE TABLE IF NOT EXISTS changes (
        incident INTEGER NOT NULL, seq INTEGER NOT NULL, at DOUBLE PRECISION NOT NULL, detail TEXT NOT NULL,
        PRIMARY KEY (incident, seq))""",
)


@dataclass(frozen=True)
class Incident:
    id: int
    target: str
    opened_at: float
    resolved_at: float | None
    detail: str
    last_good: float | None


class Store:
    """The history, through one DB-API connection; SQL is written once with `?` placeholders."""

    serial = "INTEGER PRIMARY KEY AUTOINCREMENT"
    placeholder = "?"

    def __init__(self, connection: Any) -> None:
        self.connection = connection
        for statement in _TABLES:
            self._run(statement.format(serial=self.serial))

    def close(self) -> None:
        self.connection.close()

    def _sql(self, statement: str) -> str:
        return statement if self.placeholder == "?" else statement.replace("?", self.placeholder)

    def _run(self, statement: str, params: Sequence[Any] = ()) -> list[Any]:
        with self.connection:
            cursor = self.connection.execute(self._sql(statement), tuple(params))
            return list(cursor.fetchall()) if cursor.description else []

    def add_probes(self, results: Iterable[ProbeResult], watcher: str) -> None:
        rows = [(r.target, r.at, int(r.ok), r.latency_ms, r.detail, watcher) for r in results]
        with self.connection:
            for row in rows:
                self.connection.execute(self._sql("INSERT INTO probes VALUES (?, ?, ?, ?, ?, ?)"), row)

    def recent(self, target: str, count: int) -> list[ProbeResult]:
        """The newest `count` probes of a target, newest first."""
        rows = self._run(
            "SELECT target, at, ok, latency_ms, detail FROM probes WHERE target = ? ORDER BY at DESC LIMIT ?",
            (target, count),
        )
        return [ProbeResult(row[0], row[1], bool(row[2]), row[3], row[4]) for row in rows]

    def probes_since(self, since: float) -> list[ProbeResult]:
        rows = self._run("SELECT target, at, ok, latency_ms, detail FROM probes WHERE at >= ? ORDER BY at", (since,))
        return [ProbeResult(row[0], row[1], bool(row[2]), row[3], row[4]) for row in rows]

    def last_good(self, target: str, before: float) -> float | None:
        rows = self._run("SELECT MAX(at) FROM probes WHERE target = ? AND ok = 1 AND at < ?", (target, before))
        return rows[0][0] if rows and rows[0][0] is not None else None

    def open_incident(self, target: str) -> Incident | None:
        rows = self._run(
            "SELECT id, target, opened_at, resolved_at, detail, last_good FROM incidents "
            "WHERE target = ? AND resolved_at IS NULL ORDER BY id DESC LIMIT 1",
            (target,),
        )
        return Incident(*rows[0]) if rows else None

    def incidents_since(self, since: float) -> list[Incident]:
        rows = self._run(
            "SELECT id, target, opened_at, resolved_at, detail, last_good FROM incidents "
            "WHERE resolved_at IS NULL OR resolved_at >= ? ORDER BY id",
            (since,),
        )
        return [Incident(*row) for row in rows]

    def open(self, target: str, opened_at: float, detail: str, last_good: float | None) -> None:
        self._run(
            "INSERT INTO incidents (target, opened_at, detail, last_good) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (target, opened_at, detail, last_good),
        )

    def resolve(self, incident: int, resolved_at: float) -> None:
        self._run("UPDATE incidents SET resolved_at = ? WHERE id = ?", (resolved_at, incident))

    def changes(self, incident: int) -> list[tuple[int, float, str]]:
        """The incident's recorded changes (number, when, new detail), oldest first."""
        rows = self._run("SELECT seq, at, detail FROM changes WHERE incident = ? ORDER BY seq", (incident,))
        return [(int(row[0]), float(row[1]), str(row[2])) for row in rows]

    def add_change(self, incident: int, seq: int, at: float, detail: str) -> None:
        self._run(
            "INSERT INTO changes (incident, seq, at, detail) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (incident, seq, at, detail),
        )

    def claim(self, incident: int, channel: str, event: str) -> bool:
        """Reserve the one notice of `event` on `channel`; False when it is sent or being sent."""
        rows = self._run(
            "INSERT INTO notices (incident, channel, event) VALUES (?, ?, ?) ON CONFLICT DO NOTHING RETURNING incident",
            (incident, channel, event),
        )
        return bool(rows)

    def release(self, incident: int, channel: str, event: str) -> None:
        """A delivery that failed gives its claim back, so the next round tries again."""
        self._run("DELETE FROM notices WHERE incident = ? AND channel = ? AND event = ?", (incident, channel, event))

    def set_ref(self, incident: int, channel: str, event: str, ref: str) -> None:
        self._run(
            "UPDATE notices SET ref = ? WHERE incident = ? AND channel = ? AND event = ?",
            (ref, incident, channel, event),
        )

    def ref(self, incident: int, channel: str, event: str) -> str | None:
        rows = self._run(
            "SELECT ref FROM notices WHERE incident = ? AND channel = ? AND event = ?", (incident, channel, event)
        )
        return rows[0][0] if rows else None

    def add_deploy(self, at: float, ref: str) -> None:
        self._run("INSERT INTO deploys VALUES (?, ?)", (at, ref))

    def deploys_since(self, since: float) -> int:
        rows = self._run("SELECT COUNT(*) FROM deploys WHERE at >= ?", (since,))
        return int(rows[0][0])


class PostgresStore(Store):
    serial = "BIGSERIAL PRIMARY KEY"
    placeholder = "%s"

    def _run(self, statement: str, params: Sequence[Any] = ()) -> list[Any]:
        with self.connection.transaction(), self.connection.cursor() as cursor:
            cursor.execute(self._sql(statement), tuple(params))
            return list(cursor.fetchall()) if cursor.description else []

    def add_probes(self, results: Iterable[ProbeResult], watcher: str) -> None:
        rows = [(r.target, r.at, int(r.ok), r.latency_ms, r.detail, watcher) for r in results]
        with self.connection.transaction(), self.connection.cursor() as cursor:
            cursor.executemany(self._sql("INSERT INTO probes VALUES (?, ?, ?, ?, ?, ?)"), rows)


def _refuse_odd_file(path: Path) -> None:
    """The store and its WAL companions must be regular files: never a symlink out, a FIFO or a device."""
    for candidate in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        try:
            mode = os.lstat(candidate).st_mode
        except FileNotFoundError:
            continue
        if not stat.S_ISREG(mode):
            kind = "a symlink" if stat.S_ISLNK(mode) else "a FIFO" if stat.S_ISFIFO(mode) else "not a regular file"
            raise InputError(
                f"watch store {candidate} is {kind}",
                hint="point watch.store at a regular file (it is created when missing)",
            )


def open_store(location: str, base: Path) -> Store:
    """The store gate.yml names: a postgresql:// URL, else a SQLite file relative to `base`."""
    if re.match(r"^postgres(ql)?://", location):
        return _open_postgres(location)
    path = base / location
    _refuse_odd_file(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        connection = sqlite3.connect(path, timeout=10.0, isolation_level=None, check_same_thread=False)
        connection.execute("PRAGMA journal_mode=WAL")
        # WAL with NORMAL loses nothing when the process dies; only a power cut may drop the last round.
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.isolation_level = "DEFERRED"
        return Store(connection)
    except sqlite3.DatabaseError as error:
        raise InputError(
            f"watch store {path} cannot be used: {error}", hint="remove it or name another file"
        ) from error


def _open_postgres(url: str) -> Store:
    password = urlsplit(url).password
    if password:
        redact.register(password)
    redact.register(url)
    try:
        import psycopg
    except ImportError as error:
        raise InputError(
            "watch.store is a PostgreSQL URL but psycopg is not installed",
            hint="pip install 'launch-gate[postgres]'",
        ) from error
    try:
        connection = psycopg.connect(url, autocommit=True, connect_timeout=10)
    except psycopg.Error as error:
        raise InputError(f"cannot connect to the watch store: {redact.scrub(str(error))}") from error
    return PostgresStore(connection)
