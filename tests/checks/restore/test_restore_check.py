"""The restore check end to end: real pg_dump backups restored into a real throw-away PostgreSQL."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from tests.support.helpers import Outcome, gate
from tests.support.restore_support import make_dumps, make_sqlite, project

pytestmark = [pytest.mark.loopback, pytest.mark.slow]


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return make_dumps(tmp_path_factory.mktemp("fresh"))


@pytest.fixture(scope="module")
def stale(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return make_dumps(tmp_path_factory.mktemp("stale"), age_hours=24 * 30)


@pytest.fixture(scope="module")
def empty(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return make_dumps(tmp_path_factory.mktemp("empty"), tables=False)


def _run(root: Path, env: dict[str, str] | None = None) -> tuple[Outcome, dict[str, Any]]:
    outcome = gate("check", "restore", "--format", "json", cwd=root, env=env)
    assert "Traceback" not in outcome.stdout + outcome.stderr
    report = json.loads(outcome.stdout) if outcome.stdout.strip().startswith("{") else {}
    return outcome, report


def _error(report: dict[str, Any]) -> str:
    return str(report["checks"][0].get("error", ""))


def _rules(report: dict[str, Any]) -> list[str]:
    return sorted(f["rule_id"] for f in report.get("findings", []))


def _place(root: Path, dump: Path, name: str) -> str:
    (root / "backups").mkdir(parents=True, exist_ok=True)
    shutil.copy(dump, root / "backups" / name)
    return f"backups/{name}"


@pytest.mark.parametrize("kind", ["custom", "plain"])
def test_a_fresh_backup_restores_and_passes(tmp_path: Path, fresh: dict[str, Path], kind: str) -> None:
    root = project(tmp_path, _place(tmp_path, fresh[kind], fresh[kind].name))
    outcome, report = _run(root)
    assert outcome.exit_code == 0, outcome.stdout + outcome.stderr
    assert _rules(report) == []


@pytest.mark.parametrize("kind", ["custom", "plain"])
def test_a_stale_backup_blocks_with_its_age(tmp_path: Path, stale: dict[str, Path], kind: str) -> None:
    root = project(tmp_path, _place(tmp_path, stale[kind], stale[kind].name))
    outcome, report = _run(root)
    assert outcome.exit_code == 1, outcome.stdout + outcome.stderr
    assert _rules(report) == ["restore.data.stale"]
    message = report["findings"][0]["message"]
    assert "users.created_at" in message and "days old" in message and "26.0 hours" in message


def test_an_empty_backup_blocks(tmp_path: Path, empty: dict[str, Path]) -> None:
    root = project(tmp_path, _place(tmp_path, empty["custom"], "empty.dump"))
    outcome, report = _run(root)
    assert outcome.exit_code == 1, outcome.stdout + outcome.stderr
    assert _rules(report) == ["restore.backup.empty"]


def test_missing_tables_too_few_rows_and_a_bad_column_are_named(tmp_path: Path, fresh: dict[str, Path]) -> None:
    tables = (
        "      - {name: invoices}\n"
        "      - {name: orders, min_rows: 1000}\n"
        "      - {name: users, newest: email}\n"
        "      - {name: users, newest: no_such_column}\n"
    )
    root = project(tmp_path, _place(tmp_path, fresh["custom"], "b.dump"), tables=tables)
    outcome, report = _run(root)
    assert outcome.exit_code == 1
    assert _rules(report) == [
        "restore.column.missing",
        "restore.column.missing",
        "restore.table.missing",
        "restore.table.too-few-rows",
    ]
    messages = " ".join(f["message"] for f in report["findings"])
    assert "invoices" in messages and "public.orders" in messages and "20 rows; at least 1000" in messages


def test_a_corrupt_dump_fails_closed_in_pg_restores_words(tmp_path: Path, fresh: dict[str, Path]) -> None:
    data = fresh["custom"].read_bytes()
    (tmp_path / "backups").mkdir()
    (tmp_path / "backups" / "cut.dump").write_bytes(data[: len(data) // 2])
    root = project(tmp_path, "backups/cut.dump")
    outcome, report = _run(root)
    assert outcome.exit_code == 3, outcome.stdout + outcome.stderr
    assert _error(report).startswith("pg_restore could not read the backup: pg_restore: error:"), _error(report)


def test_plain_sql_that_fails_to_restore_is_exit_3_in_psqls_words(tmp_path: Path) -> None:
    (tmp_path / "backups").mkdir()
    (tmp_path / "backups" / "bad.sql").write_text("CREATE TABLE t (id int);\nINSERT INTO nowhere VALUES (1);\n")
    root = project(tmp_path, "backups/bad.sql", tables="      - {name: t, min_rows: 0}\n")
    outcome, report = _run(root)
    assert outcome.exit_code == 3
    assert 'relation "nowhere" does not exist' in _error(report)


def test_a_sqlite_backup_is_read_read_only(tmp_path: Path) -> None:
    (tmp_path / "backups").mkdir()
    db = make_sqlite(tmp_path / "backups" / "app.sqlite3")
    before = db.read_bytes()
    root = project(tmp_path, "backups/app.sqlite3", tables="      - {name: users, min_rows: 5, newest: created_at}\n")
    outcome, report = _run(root)
    assert outcome.exit_code == 0, outcome.stdout + outcome.stderr
    assert _rules(report) == []
    assert db.read_bytes() == before
    assert not list((tmp_path / "backups").glob("*-journal")) and not list((tmp_path / "backups").glob("*-wal"))


def test_a_stale_sqlite_backup_and_epoch_columns(tmp_path: Path) -> None:
    (tmp_path / "backups").mkdir()
    db = make_sqlite(tmp_path / "backups" / "old.db", age_hours=24 * 10)
    with sqlite3.connect(db) as connection:
        connection.execute("CREATE TABLE events (at INTEGER)")
        connection.execute("INSERT INTO events VALUES (strftime('%s', 'now') * 1000)")
    connection.close()
    tables = "      - {name: users, newest: created_at}\n      - {name: events, newest: at}\n"
    outcome, report = _run(project(tmp_path, "backups/old.db", tables=tables))
    assert outcome.exit_code == 1
    assert _rules(report) == ["restore.data.stale"]
    assert "users.created_at" in report["findings"][0]["message"]


def test_a_backup_command_output_is_restored(tmp_path: Path, fresh: dict[str, Path]) -> None:
    extra = f"    command: [cat, {fresh['custom']}]\n"
    config = project(tmp_path, "x", extra=extra).joinpath("gate.yml")
    config.write_text(config.read_text().replace("    backup: x\n", ""))
    outcome, report = _run(tmp_path)
    assert outcome.exit_code == 0, outcome.stdout + outcome.stderr
    assert _rules(report) == []


def test_a_failing_backup_command_is_exit_3_with_its_words(tmp_path: Path) -> None:
    config = project(tmp_path, "x", extra="    command: [sh, -c, 'echo no route to db >&2; exit 7']\n")
    config.joinpath("gate.yml").write_text(config.joinpath("gate.yml").read_text().replace("    backup: x\n", ""))
    outcome, report = _run(tmp_path)
    assert outcome.exit_code == 3
    assert "failed (exit 7): no route to db" in _error(report)


def test_a_declared_loopback_server_is_used_and_left_clean(tmp_path: Path, fresh: dict[str, Path]) -> None:
    from gate.postgres import throwaway_server
    from tests.support.restore_support import psql_rows

    with throwaway_server() as server:
        extra = f"    server: {server.dsn}\n"
        root = project(tmp_path, _place(tmp_path, fresh["plain"], "b.sql"), extra=extra)
        outcome, report = _run(root)
        assert outcome.exit_code == 0, outcome.stdout + outcome.stderr
        assert _rules(report) == []
        leftovers = psql_rows(server.dsn, "SELECT datname FROM pg_database UNION ALL SELECT rolname FROM pg_roles")
        assert not [name for name in leftovers if name.startswith("gate_restore_")]
