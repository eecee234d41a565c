"""The plain-SQL scan reads a dump the way psql does: commands are found, data never mistaken for one."""

from __future__ import annotations

from pathlib import Path

import pytest

from gate.checks.restore.sqlscan import scan


def _scan(tmp_path: Path, sql: str) -> list[tuple[int, str]]:
    path = tmp_path / "dump.sql"
    path.write_text(sql)
    return [(r.line, r.what) for r in scan(path)]


def test_pg_dumps_own_meta_commands_and_copy_data_pass(tmp_path: Path) -> None:
    sql = (
        "\\restrict abc\n"
        "\\connect app\n"
        "COPY public.notes (id, body) FROM stdin;\n"
        "1\t\\\\! rm -rf / ; COPY x FROM PROGRAM 'y'\n"
        "2\t\\o |sh\n"
        "\\.\n"
        "SELECT 1;\n"
        "\\unrestrict abc\n"
    )
    assert _scan(tmp_path, sql) == []


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT 'COPY t FROM PROGRAM ''x''; \\! sh';\n",
        "SELECT E'it\\'s \\! not a command';\n",
        "-- \\! a comment\nSELECT 1; /* COPY t FROM PROGRAM 'x'; \\! /* nested */ still */\n",
        "CREATE FUNCTION f() RETURNS text LANGUAGE sql AS $body$ SELECT '\\!' $body$;\n",
        'CREATE TABLE "we\\!rd" (n int);\n',
        "COPY t TO stdout;\n",
    ],
)
def test_commands_inside_literals_comments_and_quotes_are_data(tmp_path: Path, sql: str) -> None:
    assert _scan(tmp_path, sql) == []


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("copy t\n  from\n  program 'id';\n", [(3, "COPY FROM PROGRAM (runs a program on the server)")]),
        ("COPY t TO PROGRAM 'curl x';\n", [(1, "COPY TO PROGRAM (runs a program on the server)")]),
        ("COPY t FROM '/etc/passwd';\n", [(1, "COPY FROM a server file")]),
        ("SELECT 1;\n  \\setenv X y\n", [(2, "psql meta-command \\setenv")]),
        ("SELECT 'a'; \\g |sh\n", [(1, "psql meta-command \\g")]),
    ],
)
def test_programs_files_and_meta_commands_are_found_by_line(
    tmp_path: Path, sql: str, expected: list[tuple[int, str]]
) -> None:
    assert _scan(tmp_path, sql) == expected


def test_a_line_longer_than_a_read_keeps_its_number(tmp_path: Path) -> None:
    sql = "SELECT '" + "x" * (3 * 1024 * 1024) + "';\n\\! id\n"
    assert _scan(tmp_path, sql) == [(2, "psql meta-command \\!")]
