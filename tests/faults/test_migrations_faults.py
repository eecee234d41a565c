"""The migrations check on hostile input: nothing unjudged passes, nothing outside the tree is read,
a declared command cannot hang the run or fill its memory."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from tests.faults.common import PROCESS_MEMORY_BUDGET, fails_closed, gate_process
from tests.faults.peers import Bounds
from tests.faults.table import row
from tests.support.helpers import Outcome, write_files

CONFIG = "version: 1\npreset: launch\nchecks:\n  migrations:\n    enabled: true\n"


def _run(root: Path, section: str) -> tuple[Outcome, Bounds]:
    """`gate check migrations` in its own process, so its peak memory is its own."""
    write_files(root, {"gate.yml": CONFIG + section})
    return gate_process(root, "check", "migrations", timeout=60)


def _command(script: str, timeout: str = "2s") -> str:
    return f"    command: [{json.dumps(sys.executable)}, '-c', {json.dumps(script)}]\n    command_timeout: {timeout}\n"


@row("A 2 GB (sparse) migration file", "migrations", "exit 2: names the file and `max_bytes`; nothing read past it")
def test_a_huge_migration_is_refused_naming_the_bound(tmp_path: Path) -> None:
    (tmp_path / "db").mkdir()
    with (tmp_path / "db" / "0001_huge.sql").open("wb") as handle:
        handle.truncate(2 * 1024**3)
    outcome, bounds = _run(tmp_path, "    paths: ['db/*.sql']\n")
    fails_closed(outcome, bounds, ["db/0001_huge.sql", "max_bytes"], codes=(2,), memory=PROCESS_MEMORY_BUDGET)


@row(
    "An expression nested 10,000 deep in a migration",
    "migrations",
    "exit 2: file:line and the parser's own message (libpg_query's depth limit); no crash",
)
def test_a_deeply_nested_expression_is_the_parser_s_error_not_a_crash(tmp_path: Path) -> None:
    sql = "SET lock_timeout = '1s';\nALTER TABLE t ADD CONSTRAINT c CHECK (" + "NOT " * 10000 + "true);\n"
    write_files(tmp_path, {"db/0001.sql": sql})
    outcome, bounds = _run(tmp_path, "    paths: ['db/*.sql']\n")
    fails_closed(outcome, bounds, ["db/0001.sql:2", "memory exhausted"], codes=(2,), memory=PROCESS_MEMORY_BUDGET)


@row("A migrations glob that leaves the repository (`../`, absolute)", "migrations", "exit 2 before anything is read")
def test_a_glob_out_of_the_repository_is_refused(tmp_path: Path) -> None:
    write_files(tmp_path, {"outside/0001.sql": "DROP TABLE users;\n"})
    for glob in ("../outside/*.sql", str(tmp_path / "outside" / "*.sql")):
        outcome, bounds = _run(tmp_path / "repo", f"    paths: [{json.dumps(glob)}]\n")
        fails_closed(outcome, bounds, ["points outside the repository"], codes=(2,), memory=PROCESS_MEMORY_BUDGET)


@row("A migration that is a symlink (to a file outside the tree)", "migrations", "exit 2: names the link; not followed")
def test_a_symlinked_migration_is_refused_not_followed(tmp_path: Path) -> None:
    write_files(tmp_path, {"secret.sql": "DROP TABLE users;\n", "repo/db/0001.sql": "SELECT 1;\n"})
    os.symlink(tmp_path / "secret.sql", tmp_path / "repo" / "db" / "0002.sql")
    outcome, bounds = _run(tmp_path / "repo", "    paths: ['db/*.sql']\n")
    fails_closed(outcome, bounds, ["db/0002.sql is a symlink"], codes=(2,), memory=PROCESS_MEMORY_BUDGET)
    assert "DROP TABLE" not in outcome.output


@row("A migration that is a FIFO (named pipe)", "migrations", "exit 2: names the file and what it is; never opened")
def test_a_fifo_migration_is_refused_without_blocking(tmp_path: Path) -> None:
    (tmp_path / "db").mkdir()
    os.mkfifo(tmp_path / "db" / "0001.sql")
    outcome, bounds = _run(tmp_path, "    paths: ['db/*.sql']\n")
    fails_closed(outcome, bounds, ["db/0001.sql", "FIFO"], codes=(2,), seconds=15, memory=PROCESS_MEMORY_BUDGET)


@row("The declared migrations command hangs", "migrations", "exit 3 after `command_timeout`: names the command; killed")
def test_a_hanging_command_is_killed_at_its_deadline(tmp_path: Path) -> None:
    outcome, bounds = _run(tmp_path, _command("import time; time.sleep(120)", "1s"))
    fails_closed(
        outcome,
        bounds,
        ["did not finish within 1s", "its SQL was not judged"],
        seconds=15,
        memory=PROCESS_MEMORY_BUDGET,
    )


@row(
    "The declared migrations command prints without end",
    "migrations",
    "exit 3 once it passes `max_bytes`: names the bound; memory stays bounded",
)
def test_an_endless_printer_is_cut_at_the_output_bound(tmp_path: Path) -> None:
    script = "import sys\nwhile True: sys.stdout.write('SELECT 1;\\n' * 4096)"
    outcome, bounds = _run(tmp_path, _command(script, "60s") + "    max_bytes: 2000000\n")
    fails_closed(
        outcome,
        bounds,
        ["wrote more than checks.migrations.max_bytes (2000000 bytes)"],
        seconds=20,
        memory=PROCESS_MEMORY_BUDGET,
    )


@row("The declared migrations command fails", "migrations", "exit 3 with the command's last stderr lines")
def test_a_failing_command_fails_closed_in_its_own_words(tmp_path: Path) -> None:
    outcome, bounds = _run(tmp_path, _command("import sys; sys.exit('django.db.utils.OperationalError: boom')"))
    fails_closed(outcome, bounds, ["failed (exit 1)", "OperationalError: boom"], memory=PROCESS_MEMORY_BUDGET)


@row(
    "alembic.ini sends the revision lookup out of the repository, or a revision is a symlink out",
    "migrations",
    "blocks: the findings stay on gate.yml's section; nothing outside the tree is read or named",
)
def test_revision_files_outside_the_tree_are_not_read_to_place_findings(tmp_path: Path) -> None:
    revision = 'revision = "aaa111"\n\n\ndef upgrade():\n    pass\n'
    write_files(
        tmp_path,
        {
            "outside/versions/secret_rev.py": revision,
            "repo/alembic.ini": "[alembic]\nscript_location = mig\nversion_locations = ../outside/versions /etc\n",
            "repo/mig/versions/.keep": "",
        },
    )
    root = tmp_path / "repo"
    os.symlink(tmp_path / "outside" / "versions" / "secret_rev.py", root / "mig" / "versions" / "linked_rev.py")
    script = "print('-- Running upgrade  -> aaa111\\nCREATE INDEX a ON t (x);')"
    for ini in ("alembic.ini", "plain.ini"):
        if ini == "plain.ini":  # the ini itself is fine; the revision in the version folder is a symlink out
            (root / "plain.ini").write_text("[alembic]\nscript_location = mig\n")
        section = _command(script, "20s").replace("']\n", f"', '-c', {json.dumps(ini)}]\n", 1)
        outcome, bounds = _run(root, section)
        fails_closed(
            outcome,
            bounds,
            ["index.not-concurrent", "at checks.migrations.command"],
            codes=(1,),
            memory=PROCESS_MEMORY_BUDGET,
        )
        assert "secret_rev" not in outcome.output and "linked_rev" not in outcome.output
