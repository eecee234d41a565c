"""Proof on a real PostgreSQL that the flagged statements block live traffic and their rewrites do not.

Each case keeps one ordinary transaction open on the table (a slow request), runs the migration
on a second connection and the app's query on a third, and asks the server (pg_locks,
pg_blocking_pids) who waits for whom. No timing is asserted.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import psycopg
import pytest

from gate.postgres import Server, throwaway_server
from tests.support.migration_locks import (
    TYPE_CHANGES,
    Session,
    blockers,
    connect,
    holds_back,
    lets_through,
    open_transaction,
    seed,
    until,
    waiting_for_lock,
)

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
        assert holds_back(server.dsn, monitor, "CREATE INDEX users_email ON users (email)", insert)

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


# A value each declared type of TYPE_CHANGES holds, and converts to the type it changes to.
_SAMPLE = {
    "int": "12",
    "varchar": "'12'",
    "text": "'12'",
    "numeric": "12.5",
    "timestamp": "now()",
    "cidr": "'10.0.0.0/8'",
}


def _filenode(monitor: psycopg.Connection, table: str) -> object:
    row = monitor.execute("SELECT pg_relation_filenode(%s::regclass)", (table,)).fetchone()
    return row[0] if row else None


@pytest.mark.parametrize(("declared", "changed", "rewrites"), TYPE_CHANGES)
def test_a_type_change_rewrites_the_table_exactly_when_the_check_flags_it(
    server: Server, declared: str, changed: str, rewrites: bool
) -> None:
    base = declared.split("(")[0]
    sample = "'<a/>'::xml" if base == "xml" else _SAMPLE[base]
    with connect(server.dsn) as monitor:
        monitor.execute("DROP TABLE IF EXISTS accounts")
        monitor.execute(f"CREATE TABLE accounts (id bigint, c {declared})")
        monitor.execute(f"INSERT INTO accounts SELECT n, {sample} FROM generate_series(1, 100) n")
        before = _filenode(monitor, "accounts")
        monitor.execute(f"ALTER TABLE accounts ALTER COLUMN c TYPE {changed}")
        assert (_filenode(monitor, "accounts") != before) == rewrites


def test_set_unlogged_logged_and_tablespace_rewrite_the_table(server: Server) -> None:
    seed(server.dsn, 1000)
    # The tablespace's folder sits beside the data folder, in the folder the server's account owns.
    folder = server.data_dir.parent / "tablespace"
    folder.mkdir(exist_ok=True)
    owner = server.data_dir.stat()
    os.chown(folder, owner.st_uid, owner.st_gid)
    with connect(server.dsn) as monitor:
        for statement in (
            "ALTER TABLE users SET UNLOGGED",
            "ALTER TABLE users SET LOGGED",
            "ALTER TABLE users SET TABLESPACE gate_test_space",
        ):
            if "TABLESPACE" in statement:
                monitor.execute("DROP TABLESPACE IF EXISTS gate_test_space")
                monitor.execute(f"CREATE TABLESPACE gate_test_space LOCATION '{folder}'")
            before = _filenode(monitor, "users")
            monitor.execute(statement)
            assert _filenode(monitor, "users") != before, statement
        monitor.execute("DROP TABLE users")
        monitor.execute("DROP TABLESPACE gate_test_space")


def test_truncate_stops_the_readers_and_a_batched_delete_does_not(server: Server) -> None:
    seed(server.dsn, 1000)
    read = "SELECT count(*) FROM users"
    with connect(server.dsn) as monitor:
        assert holds_back(server.dsn, monitor, "TRUNCATE users", read)
    batch = "DELETE FROM users WHERE id IN (SELECT id FROM users ORDER BY id LIMIT 100)"
    assert lets_through(server.dsn, batch, read)


def test_an_inline_references_blocks_writes_to_the_referenced_table_and_validate_does_not(server: Server) -> None:
    seed(server.dsn, 1000)
    insert = "INSERT INTO users (email) VALUES ('new@example.com')"
    with connect(server.dsn) as monitor:
        monitor.execute("DROP TABLE IF EXISTS orders")
        monitor.execute("CREATE TABLE orders (id bigserial PRIMARY KEY, total int)")
        monitor.execute("INSERT INTO orders (total) SELECT n FROM generate_series(1, 1000) n")
        inline = "ALTER TABLE orders ADD COLUMN user_id bigint REFERENCES users (id)"
        assert holds_back(server.dsn, monitor, inline, insert)
        monitor.execute("ALTER TABLE orders ADD COLUMN user_id bigint")
        monitor.execute(
            "ALTER TABLE orders ADD CONSTRAINT orders_user FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID"
        )
        assert lets_through(server.dsn, "ALTER TABLE orders VALIDATE CONSTRAINT orders_user", insert)
        monitor.execute("DROP TABLE orders")


def test_a_new_enum_value_cannot_be_used_in_the_transaction_that_adds_it(server: Server) -> None:
    with connect(server.dsn) as monitor:
        monitor.execute("DROP TABLE IF EXISTS moods")
        monitor.execute("DROP TYPE IF EXISTS mood")
        monitor.execute("CREATE TYPE mood AS ENUM ('sad', 'happy')")
        monitor.execute("CREATE TABLE moods (m mood)")
    with psycopg.connect(server.dsn, connect_timeout=10) as conn:  # one transaction, as a migration runs
        conn.execute("ALTER TYPE mood ADD VALUE 'calm'")
        with pytest.raises(psycopg.errors.UnsafeNewEnumValueUsage):
            conn.execute("INSERT INTO moods VALUES ('calm')")
        conn.rollback()
    with connect(server.dsn) as monitor:
        monitor.execute("ALTER TYPE mood ADD VALUE 'calm'")
        monitor.execute("INSERT INTO moods VALUES ('calm')")
