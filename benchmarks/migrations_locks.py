"""How long does the app wait while a migration runs? The unsafe statement against its safe rewrite.

Starts a throw-away PostgreSQL on loopback (gate.postgres), fills `users` with --rows rows, and
for each pair runs the migration on one connection and, once the migration holds its lock on the
table, the app's query on another (tests/support/migration_locks.py). It prints how long that query took
and whether the server reported it waiting for a lock (pg_locks), against the same query with no
migration running (the baseline measured in the same run). Nothing here is asserted; the lock
tests prove blocking, this shows its size.

    python benchmarks/migrations_locks.py [--rows 300000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402

from gate.postgres import throwaway_server  # noqa: E402
from tests.support.migration_locks import Session, connect, seed, until, waiting_for_lock  # noqa: E402

READ = "SELECT count(*) FROM users WHERE id = 42"
WRITE = "INSERT INTO users (email) VALUES ('bench@example.com')"
PAIRS = [
    (
        "volatile default",
        READ,
        "ALTER TABLE users ADD COLUMN token uuid DEFAULT gen_random_uuid()",
        "ALTER TABLE users ADD COLUMN token uuid; ALTER TABLE users ALTER COLUMN token SET DEFAULT gen_random_uuid()",
        "ALTER TABLE users DROP COLUMN token",
    ),
    (
        "index",
        WRITE,
        "CREATE INDEX users_email ON users (email)",
        "CREATE INDEX CONCURRENTLY users_email ON users (email)",
        "DROP INDEX users_email",
    ),
    (
        "type change",
        READ,
        "ALTER TABLE users ALTER COLUMN id TYPE numeric",
        "ALTER TABLE users ADD COLUMN id_wide numeric",
        "SELECT 1",
    ),
]


def _app_query(dsn: str, query: str, migration_sql: str | None) -> tuple[float, bool]:
    """Seconds the app's query took, and whether the server saw it wait for a lock."""
    with connect(dsn) as monitor:
        migration = None
        if migration_sql is not None:
            migration = Session(dsn, migration_sql).start()
            until(lambda: migration.done or _holds_lock(monitor, migration.pid))
        app = Session(dsn, query).start()
        waited = False
        while not app.done:
            waited = waited or waiting_for_lock(monitor, app.pid)
            time.sleep(0.005)
        app.join()
        if migration is not None:
            migration.join()
        assert app.finished is not None
        return app.finished - app.started, waited


def _holds_lock(monitor: psycopg.Connection, pid: int) -> bool:
    row = monitor.execute(
        "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE pid = %s AND granted AND relation = 'users'::regclass)", (pid,)
    ).fetchone()
    return bool(row and row[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=300_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with throwaway_server() as server:
        print(f"{args.rows} rows in users; median of {args.repeat} runs; the app's query waits:")
        for name, query, unsafe, safe, undo in PAIRS:
            results: dict[str, list[tuple[float, bool]]] = {"baseline": [], "unsafe": [], "safe": []}
            for _ in range(args.repeat):
                seed(server.dsn, args.rows)
                results["baseline"].append(_app_query(server.dsn, query, None))
                for label, sql in (("unsafe", unsafe), ("safe", safe)):
                    results[label].append(_app_query(server.dsn, query, sql))
                    with connect(server.dsn) as conn:
                        conn.execute(undo)
            base = statistics.median(t for t, _ in results["baseline"])
            for label in ("baseline", "unsafe", "safe"):
                took = statistics.median(t for t, _ in results[label])
                blocked = sum(w for _, w in results[label])
                print(
                    f"  {name:16} {label:8} {took * 1000:9.1f} ms  {took / base:8.1f}x baseline  "
                    f"waited for a lock in {blocked}/{args.repeat} runs"
                )


if __name__ == "__main__":
    main()
