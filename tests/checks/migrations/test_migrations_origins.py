"""A command's SQL is placed on the migration file it came from, and only when that is certain."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from gate.checks.migrations.origins import alembic_sections, django_sections
from gate.checks.migrations.parse import Section, parse_migration
from tests.support.helpers import gate, write_files

REVISION = 'revision = "{rev}"\ndown_revision = None\n\n\ndef upgrade():\n    pass\n\n\ndef downgrade():\n    pass\n'
ALEMBIC_SQL = (
    "BEGIN;\n-- Running upgrade  -> aaa111\n\nCREATE INDEX a ON t (x);\n\n"
    "-- Running upgrade aaa111 -> bbb222\n\nTRUNCATE t;\n\n"
    "-- Running downgrade bbb222 -> aaa111\n\nDROP INDEX a;\nCOMMIT;\n"
)


def _placed(path: str, sql: str, sections: list[Section]) -> list[tuple[str, int | None]]:
    return [(s.path, s.file_line) for s in parse_migration(path, sql, "cmd", sections).statements]


def test_alembic_revisions_are_found_through_the_declared_ini_and_here(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            "db/alembic.ini": "[alembic]\nscript_location = %(here)s/mig\n",
            "db/mig/versions/1_a.py": REVISION.format(rev="aaa111"),
            "db/mig/versions/2_b.py": REVISION.format(rev="bbb222"),
        },
    )
    sections = alembic_sections(
        tmp_path, ["alembic", "-c", "db/alembic.ini", "upgrade", "head", "--sql"], ALEMBIC_SQL, 10**6
    )
    assert _placed("", ALEMBIC_SQL, sections) == [
        ("", None),  # BEGIN, before any revision
        ("db/mig/versions/1_a.py", 5),
        ("db/mig/versions/2_b.py", 5),
        ("db/mig/versions/2_b.py", 9),  # a downgrade runs the source revision's downgrade()
        ("db/mig/versions/2_b.py", 9),
    ]


def test_an_unknown_linked_or_outside_revision_stays_on_the_section(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            "outside/versions/1_a.py": REVISION.format(rev="aaa111"),
            "repo/alembic.ini": "[alembic]\nscript_location = mig\nversion_locations = ../outside/versions\n",
            "repo/mig/versions/real.py": "",
        },
    )
    root = tmp_path / "repo"
    assert alembic_sections(root, ["alembic", "upgrade", "head", "--sql"], ALEMBIC_SQL, 10**6) == [
        Section(ALEMBIC_SQL.index("-- Running upgrade  ->"), "", None),
        Section(ALEMBIC_SQL.index("-- Running upgrade aaa"), "", None),
        Section(ALEMBIC_SQL.index("-- Running downgrade"), "", None),
    ]
    (root / "alembic.ini").write_text("[alembic]\nscript_location = mig\n")
    os.symlink(tmp_path / "outside" / "versions" / "1_a.py", root / "mig" / "versions" / "1_a.py")
    assert {s.path for s in alembic_sections(root, ["alembic"], ALEMBIC_SQL, 10**6)} == {""}


DJANGO_FILE = """\
from django.db import migrations, models


class Migration(migrations.Migration):
    operations = [
        migrations.RunPython(migrations.RunPython.noop),
        migrations.AddIndex(model_name="order", index=models.Index(fields=["total"], name="order_total_idx")),
        migrations.RunSQL("SELECT '--\\n-- not a head\\n--'"),
    ]
"""
DJANGO_SQL = (
    "BEGIN;\n--\n-- Raw Python operation\n--\n-- THIS OPERATION CANNOT BE WRITTEN AS SQL\n"
    "--\n-- Create index order_total_idx on field(s) total of model order\n--\n"
    'CREATE INDEX "order_total_idx" ON "shop_order" ("total");\n'
    "--\n-- Raw SQL operation\n--\nSELECT '--\n-- not a head\n--';\nCOMMIT;\n"
)


def test_django_operations_are_matched_in_order_and_a_comment_in_a_string_is_no_head(tmp_path: Path) -> None:
    write_files(tmp_path, {"shop/migrations/0002_x.py": DJANGO_FILE})
    target = "shop/migrations/0002_x.py"
    sections = django_sections(tmp_path, target, DJANGO_SQL, 10**6)
    assert [s.line for s in sections] == [6, 7, 8]
    assert _placed(target, DJANGO_SQL, sections) == [(target, None), (target, 7), (target, 8), (target, 8)]
    # One head fewer than operations: which is which is not certain, so the SQL stays on the file.
    fewer = DJANGO_SQL.replace("--\n-- Raw Python operation\n--\n", "")
    assert django_sections(tmp_path, target, fewer, 10**6) == []


def test_without_known_sources_a_command_s_findings_sit_on_the_gate_yml_section(tmp_path: Path) -> None:
    script = "print('-- Running upgrade  -> nowhere\\nCREATE INDEX a ON t (x);')"
    command = json.dumps([sys.executable, "-c", script])
    config = f"version: 1\nchecks:\n  migrations:\n    enabled: true\n    command: {command}\n"
    write_files(tmp_path, {"gate.yml": config})
    outcome = gate("check", "migrations", "--format", "json", cwd=tmp_path)
    assert outcome.exit_code in (0, 1), outcome.output
    locations = [f["location"] for f in json.loads(outcome.stdout)["findings"]]
    assert locations and all(
        (place["path"], place["name"]) == (None, "checks.migrations.command") for place in locations
    )


def test_output_that_does_not_even_tokenize_is_the_parser_s_exit_2_not_a_crash(tmp_path: Path) -> None:
    command = json.dumps([sys.executable, "-c", 'print("-- Running upgrade  -> a1\\nSELECT \'unterminated")'])
    write_files(
        tmp_path, {"gate.yml": f"version: 1\nchecks:\n  migrations:\n    enabled: true\n    command: {command}\n"}
    )
    outcome = gate("check", "migrations", cwd=tmp_path)
    assert outcome.exit_code == 2, outcome.output
    assert "unterminated quoted string" in outcome.output and "Traceback" not in outcome.output
