"""A real Alembic project: the check judges the SQL `alembic upgrade head --sql` prints (offline mode)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.support.helpers import gate, write_files

REVISION = '''\
"""add a plan and an email index"""
import sqlalchemy as sa
from alembic import op

revision = "a1b2c3d4e5f6"
down_revision = None


def upgrade():
    op.add_column("users", sa.Column("plan", sa.Text(), nullable=False))
    op.create_index("users_email", "users", ["email"])
'''

SECOND = """\
from alembic import op

revision: str = "f00dcafe0001"
down_revision = "a1b2c3d4e5f6"


def upgrade() -> None:
    op.execute("TRUNCATE audit_log")
"""


def test_alembic_s_offline_sql_is_judged_through_the_declared_command(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "alembic", "init", "migrations"],
        cwd=tmp_path,
        check=True,
        capture_output=True,
        timeout=60,
    )
    ini = tmp_path / "alembic.ini"
    ini.write_text(
        "\n".join(
            "sqlalchemy.url = postgresql+psycopg://app@127.0.0.1/app" if line.startswith("sqlalchemy.url") else line
            for line in ini.read_text().splitlines()
        )
    )
    command = json.dumps([sys.executable, "-m", "alembic", "upgrade", "head", "--sql"])
    write_files(
        tmp_path,
        {
            "migrations/versions/a1b2c3d4e5f6_plan.py": REVISION,
            "migrations/versions/f00dcafe0001_audit.py": SECOND,
            "gate.yml": f"version: 1\nchecks:\n  migrations:\n    enabled: true\n    command: {command}",
        },
    )
    outcome = gate("check", "migrations", "--preset", "launch", "--format", "json", cwd=tmp_path)
    assert outcome.exit_code == 1, outcome.output
    found = {f["rule_id"]: f for f in json.loads(outcome.stdout)["findings"]}
    assert set(found) == {
        "migrations.lock-timeout.missing",
        "migrations.column.not-null-without-default",
        "migrations.index.not-concurrent",
        "migrations.table.truncate",
    }
    assert "users.plan" in found["migrations.column.not-null-without-default"]["message"]
    assert "alembic upgrade head --sql" in found["migrations.index.not-concurrent"]["message"]

    # Each finding sits on the revision its SQL came from, at its upgrade().
    def place(rule: str) -> tuple[str, int]:
        return found[f"migrations.{rule}"]["location"]["path"], found[f"migrations.{rule}"]["location"]["line"]

    assert place("index.not-concurrent") == ("migrations/versions/a1b2c3d4e5f6_plan.py", 9)
    assert place("column.not-null-without-default") == ("migrations/versions/a1b2c3d4e5f6_plan.py", 9)
    assert place("table.truncate") == ("migrations/versions/f00dcafe0001_audit.py", 7)
