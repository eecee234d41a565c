"""Proof on a real PostgreSQL that the flagged statements block live traffic and their rewrites do not.

Each case keeps one ordinary transaction open on the table (a slow request), runs the migration
on a second connection and the app's query on a third, and asks the server (pg_locks,
pg_blocking_pids) who waits for whom. No timing is asserted.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from gate.postgres import Server, throwaway_server
from tests.support.migration_locks import Session, blockers, connect, open_transaction, seed, until, waiting_for_lock

pytestmark = [pytest.mark.loopback, pytest.mark.slow]


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with throwaway_server() as running:
        yield running


def test_create_index_queues_the_writers_and_concurrently_lets_them_through(server: Server) -> None:
    seed(server.dsn, 1000)
    insert = "INSERT INTO users (email) VALUES ('new@example.com')"
    with connect(server.dsn) as monitor:
        # A migration framework runs the migration in a transaction: its SHARE lock lasts until COMMIT.
        with open_transaction(server.dsn, "CREATE INDEX users_email ON users (email)") as migration:
            writer = Session(server.dsn, insert).start()
            assert until(lambda: migration.info.backend_pid in blockers(monitor, writer.pid))
            assert not writer.done
        writer.join()
        assert writer.error is None

        # The rewrite, while a write request is in flight: the build waits for it, new writes go through.
        with open_transaction(server.dsn, insert):
            safe = Session(server.dsn, "CREATE INDEX CONCURRENTLY users_email ON users (email)").start()
            assert until(lambda: waiting_for_lock(monitor, safe.pid))
            writer = Session(server.dsn, insert).start()
            writer.join()
            assert writer.error is None and not safe.done
        safe.join()
        assert safe.error is None


def test_without_lock_timeout_a_waiting_migration_stops_the_readers_and_with_it_gives_way(server: Server) -> None:
    seed(server.dsn, 1000)
    alter = "ALTER TABLE users ADD COLUMN token uuid"
    with connect(server.dsn) as monitor, open_transaction(server.dsn, "SELECT count(*) FROM users"):
        migration = Session(server.dsn, alter).start()
        assert until(lambda: waiting_for_lock(monitor, migration.pid))
        reader = Session(server.dsn, "SELECT count(*) FROM users").start()
        assert until(lambda: migration.pid in blockers(monitor, reader.pid))
        monitor.execute("SELECT pg_cancel_backend(%s)", (migration.pid,))
        migration.join()
        reader.join()

        safe = Session(server.dsn, f"SET lock_timeout = '300ms'; {alter}").start()
        safe.join()
        assert type(safe.error).__name__ == "LockNotAvailable"
        reader = Session(server.dsn, "SELECT count(*) FROM users").start()
        reader.join()
        assert reader.error is None


def test_a_volatile_default_rewrites_the_table_and_a_plain_column_does_not(server: Server) -> None:
    seed(server.dsn, 1000)
    with connect(server.dsn) as monitor:
        before = monitor.execute("SELECT pg_relation_filenode('users')").fetchone()
        monitor.execute("ALTER TABLE users ADD COLUMN plain uuid")
        monitor.execute("ALTER TABLE users ALTER COLUMN plain SET DEFAULT gen_random_uuid()")
        monitor.execute("ALTER TABLE users ADD COLUMN constant text NOT NULL DEFAULT 'free'")
        assert monitor.execute("SELECT pg_relation_filenode('users')").fetchone() == before
        monitor.execute("ALTER TABLE users ADD COLUMN token uuid DEFAULT gen_random_uuid()")
        assert monitor.execute("SELECT pg_relation_filenode('users')").fetchone() != before
