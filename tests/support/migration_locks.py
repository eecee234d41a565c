"""Sessions against a throw-away PostgreSQL that show who waits for whose lock while a migration runs.

Used by the migrations check's lock tests and its benchmark: a migration runs on one connection,
a reader or writer on another, and a third watches pg_locks / pg_blocking_pids, so "blocked" is
what the server reports, not a time that happened to be long.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import psycopg

# ALTER COLUMN ... TYPE from a declared type to another, and whether PostgreSQL rewrites the table:
# the check's verdict (test_migrations_rules) and the server's (test_migrations_locks) must agree.
TYPE_CHANGES = [
    ("varchar(50)", "varchar(100)", False),
    ("varchar(50)", "varchar", False),
    ("varchar(50)", "text", False),
    ("text", "varchar", False),
    ("numeric(10,2)", "numeric(12,2)", False),
    ("numeric(10,2)", "numeric", False),
    ("timestamp(0)", "timestamp(3)", False),
    ("cidr", "inet", False),
    ("xml", "text", False),
    ("varchar(100)", "varchar(50)", True),
    ("text", "varchar(50)", True),
    ("numeric(10,2)", "numeric(12,4)", True),
    ("numeric(10,2)", "numeric(8,2)", True),
    ("numeric", "numeric(10,2)", True),
    ("int", "bigint", True),
    ("varchar(50)", "int USING c::int", True),
]

WAIT_LIMIT_S = 30.0  # every loop below gives up after this: a hung server fails the test, not CI


def connect(dsn: str) -> psycopg.Connection:
    return psycopg.connect(dsn, autocommit=True, connect_timeout=10)


def seed(dsn: str, rows: int) -> None:
    with connect(dsn) as conn:
        conn.execute("DROP TABLE IF EXISTS users")
        conn.execute("CREATE TABLE users (id bigserial PRIMARY KEY, email text)")
        conn.execute(
            "INSERT INTO users (email) SELECT 'u' || n || '@example.com' FROM generate_series(1, %s) n", (rows,)
        )


@dataclass
class Session:
    """One statement on its own connection, run in a thread; `pid` is its backend."""

    dsn: str
    sql: str
    pid: int = 0
    error: BaseException | None = None
    finished: float | None = None
    started: float = 0.0
    _ready: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> Session:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        if not self._ready.wait(WAIT_LIMIT_S):
            raise TimeoutError("the session did not connect")
        return self

    def _run(self) -> None:
        try:
            with connect(self.dsn) as conn:
                self.pid = conn.info.backend_pid
                self._ready.set()
                self.started = time.monotonic()
                conn.execute(self.sql)
        except psycopg.Error as error:
            self.error = error
        finally:
            self._ready.set()
            self.finished = time.monotonic()

    def join(self) -> None:
        assert self._thread is not None
        self._thread.join(WAIT_LIMIT_S)
        assert not self._thread.is_alive(), f"{self.sql!r} never finished"

    @property
    def done(self) -> bool:
        return self.finished is not None


def blockers(monitor: psycopg.Connection, pid: int) -> list[int]:
    row = monitor.execute("SELECT pg_blocking_pids(%s)", (pid,)).fetchone()
    return list(row[0]) if row else []


def waiting_for_lock(monitor: psycopg.Connection, pid: int) -> bool:
    row = monitor.execute("SELECT EXISTS (SELECT 1 FROM pg_locks WHERE pid = %s AND NOT granted)", (pid,)).fetchone()
    return bool(row and row[0])


def until(condition: Callable[[], bool]) -> bool:
    """Poll until condition holds; False after WAIT_LIMIT_S."""
    deadline = time.monotonic() + WAIT_LIMIT_S
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


@contextmanager
def open_transaction(dsn: str, sql: str) -> Iterator[psycopg.Connection]:
    """A transaction that touched the table and stays open (a long request, a report) until the block ends."""
    conn = psycopg.connect(dsn, connect_timeout=10)
    try:
        conn.execute(sql)
        yield conn
    finally:
        conn.rollback()
        conn.close()


def holds_back(dsn: str, monitor: psycopg.Connection, migration: str, query: str) -> bool:
    """Whether the app's `query` waits for `migration`, run in a transaction kept open (as a
    framework runs it), by the server's own account; the query then runs to its end."""
    with open_transaction(dsn, migration) as running:
        app = Session(dsn, query).start()
        waited = until(lambda: running.info.backend_pid in blockers(monitor, app.pid)) and not app.done
    app.join()
    assert app.error is None
    return waited


def lets_through(dsn: str, migration: str, query: str) -> bool:
    """Whether the app's `query` runs to its end while `migration`'s transaction is still open."""
    with open_transaction(dsn, migration):
        app = Session(dsn, query).start()
        app.join()
        return app.error is None
