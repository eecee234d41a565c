"""The restore check on hostile backups and declarations: nothing in a backup runs a program or reads
a file, nothing outside the tree is read, and every refusal or failure is named and bounded."""

from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.faults.common import fails_closed
from tests.faults.peers import Bounds, measured
from tests.faults.table import row
from tests.support.helpers import Outcome, write_files

pytestmark = pytest.mark.loopback

SECRET_ROW = "sk_live_RowDataMustNotLeak4242"


def _project(root: Path, backup: str, extra: str = "", tables: str = "      - {name: t, min_rows: 0}\n") -> Path:
    config = (
        "version: 1\npreset: launch\nchecks:\n  restore:\n    enabled: true\n"
        f"    backup: {backup}\n{extra}    tables:\n{tables}"
    )
    return write_files(root, {"gate.yml": config})


def _check(root: Path, env: dict[str, str] | None = None) -> tuple[Outcome, Bounds, dict[str, Any]]:
    from tests.support.helpers import gate

    with measured() as box:
        outcome = gate("check", "restore", "--format", "json", cwd=root, env=env)
    report = json.loads(outcome.stdout) if outcome.stdout.strip().startswith("{") else {}
    return outcome, box[0], report


def _marker() -> Path:
    # World-writable /tmp: the server's OS user (postgres under root) could create it, if anything ran.
    return Path("/tmp") / f"gate-restore-fault-{uuid.uuid4().hex}"


def _refused(report: dict[str, Any]) -> list[str]:
    return [f["message"] for f in report.get("findings", []) if f["rule_id"] == "restore.backup.refused"]


@row(
    "A plain SQL backup holds `COPY ... FROM PROGRAM` (a program run as the server's OS user)",
    "restore",
    "exit 1: `restore.backup.refused` names the line; nothing is restored, the program never runs",
)
def test_copy_from_program_is_refused_and_never_runs(tmp_path: Path) -> None:
    marker = _marker()
    sql = f"CREATE TABLE t (line text);\nCOPY t FROM PROGRAM 'touch {marker}';\n"
    write_files(tmp_path, {"backup.sql": sql})
    outcome, bounds, report = _check(_project(tmp_path, "backup.sql"))
    fails_closed(outcome, bounds, ["restore.backup.refused"], codes=(1,))
    assert _refused(report) == [
        "Not restored: the backup's SQL holds a COPY FROM PROGRAM (runs a program on the server) (line 2 of its SQL)."
    ]
    assert not marker.exists()


@row(
    "A plain SQL backup holds psql meta-commands (`\\!`, `\\copy ... program`, `\\o` to a pipe, `\\i`)",
    "restore",
    "exit 1: each is refused by line before psql starts; no shell runs, no file is read",
)
def test_psql_meta_commands_are_refused_before_psql_starts(tmp_path: Path) -> None:
    marker = _marker()
    sql = (
        "CREATE TABLE t (line text);\n"
        f"\\! touch {marker}\n"
        f"\\copy t from program 'touch {marker}'\n"
        f"SELECT 1; \\o |touch {marker}\n"
        "\\i /etc/passwd\n"
    )
    write_files(tmp_path, {"backup.sql": sql})
    outcome, bounds, report = _check(_project(tmp_path, "backup.sql"))
    fails_closed(outcome, bounds, ["restore.backup.refused"], codes=(1,))
    refused = _refused(report)
    assert len(refused) == 4
    assert all(any(f"meta-command \\{name}" in m for m in refused) for name in ("!", "copy", "o", "i"))
    assert not marker.exists()


@row(
    "A backup runs `COPY ... PROGRAM` from inside a DO block (invisible to any scan of the SQL)",
    "restore",
    "exit 3: the restore role is no superuser, so the server refuses it in its own words; nothing runs",
)
def test_a_program_hidden_from_the_scan_is_stopped_by_the_restore_role(tmp_path: Path) -> None:
    marker = _marker()
    sql = (
        "CREATE TABLE t (line text);\n"
        f"DO $$ BEGIN EXECUTE 'COPY t FROM PROGRAM ''touch {marker}'''; END $$;\n"
        "SELECT pg_read_file('/etc/hostname');\n"
    )
    write_files(tmp_path, {"backup.sql": sql})
    outcome, bounds, report = _check(_project(tmp_path, "backup.sql"))
    fails_closed(outcome, bounds, ["pg_execute_server_program"])
    assert "psql could not restore the backup" in report["checks"][0]["error"]
    assert not marker.exists()


@row(
    "Row data in a failing restore (a secret in a COPY line psql rejects)",
    "restore",
    "exit 3 with psql's error; quoted values and CONTEXT lines are cut, so no row reaches any report",
)
def test_row_data_never_reaches_the_report(tmp_path: Path) -> None:
    sql = f"CREATE TABLE t (n integer);\nINSERT INTO t VALUES ('{SECRET_ROW}');\n"
    write_files(tmp_path, {"backup.sql": sql})
    outcome, bounds, report = _check(_project(tmp_path, "backup.sql"))
    fails_closed(outcome, bounds, ["invalid input syntax for type integer"])
    assert report["checks"][0]["error"].endswith('invalid input syntax for type integer: "<value>"')
    assert SECRET_ROW not in outcome.stdout + outcome.stderr


@row(
    "The declared backup is a symlink out of the repository, or an absolute path nobody allowed",
    "restore",
    "exit 2 naming the path, before anything is read; GATE_BACKUP_DIRS (set by the workflow) allows a folder",
)
def test_a_backup_outside_the_tree_is_not_read(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.sql").write_text("CREATE TABLE t (n int);\n")
    repo = tmp_path / "repo"
    repo.mkdir()
    os.symlink(outside / "secret.sql", repo / "backup.sql")
    outcome, bounds, _ = _check(_project(repo, "backup.sql"))
    fails_closed(outcome, bounds, ["backup.sql is outside the project"], codes=(2,))
    outcome, bounds, _ = _check(_project(repo, str(outside / "secret.sql")))
    fails_closed(outcome, bounds, ["GATE_BACKUP_DIRS"], codes=(2,))
    allowed, _, report = _check(repo, env={"GATE_BACKUP_DIRS": str(outside)})
    assert allowed.exit_code == 0, allowed.stdout + allowed.stderr
    assert report["checks"][0]["status"] == "pass"


@row(
    "The backup is larger than `max_size_mb` (a 2 GB sparse file)",
    "restore",
    "exit 2 naming its size and the bound; nothing is read",
)
def test_an_oversized_backup_is_not_read(tmp_path: Path) -> None:
    with (tmp_path / "huge.dump").open("wb") as handle:
        handle.truncate(2 * 1024**3)
    outcome, bounds, _ = _check(_project(tmp_path, "huge.dump", extra="    max_size_mb: 100\n"))
    fails_closed(outcome, bounds, ["2147483648 bytes", "max_size_mb"], codes=(2,))


@row(
    "The backup command is a script inside the repository",
    "restore",
    "exit 2: the gate runs nothing from the repo; it names the program",
)
def test_a_command_from_the_repository_is_not_run(tmp_path: Path) -> None:
    marker = _marker()
    write_files(tmp_path, {"dump.sh": f"#!/bin/sh\ntouch {marker}\n"})
    (tmp_path / "dump.sh").chmod(0o755)
    config = "version: 1\nchecks:\n  restore:\n    enabled: true\n    command: [./dump.sh]\n"
    write_files(tmp_path, {"gate.yml": config})
    outcome, bounds, _ = _check(tmp_path)
    fails_closed(outcome, bounds, ["inside the scanned project"], codes=(2,))
    assert not marker.exists()


@row(
    "The backup command hangs, or writes without end",
    "restore",
    "exit 3 at `command_timeout`, or once its output passes `max_size_mb`; the command is killed",
)
def test_a_command_that_hangs_or_floods_is_stopped(tmp_path: Path) -> None:
    hang = "version: 1\nchecks:\n  restore:\n    enabled: true\n    command: [sleep, '60']\n    command_timeout: 1s\n"
    write_files(tmp_path, {"gate.yml": hang})
    outcome, bounds, _ = _check(tmp_path)
    fails_closed(outcome, bounds, ["did not finish within 1s"], seconds=10)
    flood = "version: 1\nchecks:\n  restore:\n    enabled: true\n    command: ['yes']\n    max_size_mb: 1\n"
    write_files(tmp_path, {"gate.yml": flood})
    outcome, bounds, _ = _check(tmp_path)
    fails_closed(outcome, bounds, ["wrote more than 1048576 bytes"], seconds=10)


@row(
    "gate.yml points the restore at a database server that is not on loopback",
    "restore",
    "exit 2: untrusted backups are restored only into a throw-away, loopback or CI service (one-label name) server",
)
def test_a_remote_server_is_refused(tmp_path: Path) -> None:
    write_files(tmp_path, {"backup.sql": "CREATE TABLE t (n int);\n"})
    extra = "    server: postgresql://admin:hunter2secretpw@db.example.com:5432/postgres\n"
    outcome, bounds, _ = _check(_project(tmp_path, "backup.sql", extra=extra))
    fails_closed(outcome, bounds, ["points at db.example.com"], codes=(2,))
    assert "hunter2secretpw" not in outcome.stdout + outcome.stderr


@row(
    "A file declared as a SQLite backup is not one",
    "restore",
    "exit 3 in sqlite3's words; nothing counts as checked",
)
def test_a_file_that_is_not_sqlite_fails_closed(tmp_path: Path) -> None:
    write_files(tmp_path, {"app.db": "this is not a database\n" * 100})
    outcome, bounds, _ = _check(_project(tmp_path, "app.db", extra="    format: sqlite\n"))
    fails_closed(outcome, bounds, ["sqlite3 could not"])


@row(
    "A small custom-format dump that expands a hundredfold (a decompression bomb)",
    "restore",
    "exit 3 once pg_restore's SQL passes 8 x `max_size_mb`; pg_restore is killed, nothing restored",
)
@pytest.mark.slow
def test_a_dump_that_expands_without_bound_is_stopped(tmp_path: Path) -> None:
    import subprocess

    from gate.postgres import find_binary, throwaway_server

    dump = tmp_path / "bomb.dump"
    with throwaway_server() as server:
        seed = "CREATE TABLE t AS SELECT repeat('x', 200) AS line FROM generate_series(1, 200000);"
        subprocess.run([str(find_binary("psql")), "-X", "-q", "-d", server.dsn, "-c", seed], check=True, timeout=120)
        subprocess.run([str(find_binary("pg_dump")), "-Fc", "-f", str(dump), server.dsn], check=True, timeout=120)
    assert dump.stat().st_size < 1024 * 1024  # 40 MB of SQL in well under the 1 MB max_size_mb
    outcome, bounds, report = _check(_project(tmp_path, "bomb.dump", extra="    max_size_mb: 1\n"))
    fails_closed(outcome, bounds, ["pg_restore wrote more than 8388608 bytes"], seconds=60)
    assert report["checks"][0]["status"] == "error"


@row(
    "The backup command leaves a child behind that keeps its output open",
    "restore",
    "exit 3 at `command_timeout`: not a finished backup; the child is killed with the command's process group",
)
def test_a_child_left_behind_by_the_command_is_killed_with_it(tmp_path: Path) -> None:
    pidfile = tmp_path / "child.pid"
    script = f"sh -c 'echo $$ > {pidfile}; exec sleep 60' & echo 'CREATE TABLE t (n int);'"
    config = (
        "version: 1\nchecks:\n  restore:\n    enabled: true\n"
        f"    command: [sh, -c, {json.dumps(script)}]\n    command_timeout: 1s\n"
    )
    outcome, bounds, _ = _check(write_files(tmp_path / "repo", {"gate.yml": config}))
    fails_closed(outcome, bounds, ["backup command sh did not finish within 1s"], seconds=15)
    child = int(pidfile.read_text())
    gone = False
    for _ in range(50):
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            gone = True
            break
        stat = Path(f"/proc/{child}/stat")
        if stat.exists() and stat.read_text().split(") ", 1)[1].startswith("Z"):
            gone = True  # killed; only its exit status is left for a parent that is gone
            break
        time.sleep(0.1)
    assert gone
