"""A real Django project: `manage.py sqlmigrate APP NAME` runs once per migration file, and only the
PR's new migration is judged. sqlmigrate reads the migration history from the database, so a
throw-away PostgreSQL on loopback stands in for the app's."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from gate.postgres import throwaway_server
from tests.support.helpers import gate, git, git_repo

pytestmark = [pytest.mark.loopback, pytest.mark.slow]

SETTINGS = """\
import os

SECRET_KEY = "test-only"
INSTALLED_APPS = ["shop"]
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "postgres",
        "USER": os.environ["PGUSER"],
        "HOST": "127.0.0.1",
        "PORT": os.environ["PGPORT"],
    }
}
"""

MANAGE = """\
import os
import sys

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "proj.settings")
from django.core.management import execute_from_command_line

execute_from_command_line(sys.argv)
"""

INITIAL = """\
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    dependencies = []
    operations = [
        migrations.CreateModel(
            name="Order",
            fields=[
                ("id", models.BigAutoField(primary_key=True)),
                ("total", models.IntegerField()),
                ("note", models.TextField(null=True)),
            ],
        ),
        migrations.AddIndex(model_name="order", index=models.Index(fields=["note"], name="order_note_idx")),
    ]
"""

INDEX_AND_RENAME = """\
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("shop", "0001_initial")]
    operations = [
        migrations.AddIndex(model_name="order", index=models.Index(fields=["total"], name="order_total_idx")),
        migrations.RenameField(model_name="order", old_name="note", new_name="comment"),
    ]
"""


def test_django_s_sqlmigrate_runs_per_migration_and_only_the_pr_s_new_one_is_judged(tmp_path: Path) -> None:
    command = json.dumps([sys.executable, "manage.py", "sqlmigrate", "{app}", "{stem}"])
    gate_yml = (
        "version: 1\nchecks:\n  migrations:\n    enabled: true\n"
        f"    command: {command}\n    command_paths: ['*/migrations/0*.py']\n"
    )
    base_files = {
        "gate.yml": gate_yml,
        "manage.py": MANAGE,
        "proj/__init__.py": "",
        "proj/settings.py": SETTINGS,
        "shop/__init__.py": "",
        "shop/migrations/__init__.py": "",
        "shop/migrations/0001_initial.py": INITIAL,
    }
    repo = git_repo(tmp_path / "repo", [base_files, {"shop/migrations/0002_index_and_rename.py": INDEX_AND_RENAME}])
    base, head = git(repo, "rev-parse", "HEAD~1").strip(), git(repo, "rev-parse", "HEAD").strip()
    with throwaway_server() as server:
        env = {"PGUSER": server.user, "PGPORT": str(server.port)}
        args = ("check", "migrations", "--preset", "launch", "--format", "json")
        outcome = gate(*args, "--diff", f"{base}...{head}", cwd=repo, env=env)
        everything = gate(*args, cwd=repo, env=env)
    assert outcome.exit_code == 1, outcome.output
    found = json.loads(outcome.stdout)["findings"]
    assert {f["location"]["path"] for f in found} == {"shop/migrations/0002_index_and_rename.py"}
    assert {f["rule_id"] for f in found} == {
        "migrations.lock-timeout.missing",
        "migrations.index.not-concurrent",
        "migrations.rename.column",
    }
    # Each finding sits on the entry of `operations` whose SQL it judges (AddIndex line 7, RenameField 8).
    lines = {f["rule_id"]: f["location"]["line"] for f in found}
    assert lines["migrations.index.not-concurrent"] == 7 and lines["migrations.rename.column"] == 8
    # The initial migration creates its table: its index is no finding even when it is judged.
    assert {f["location"]["path"] for f in json.loads(everything.stdout)["findings"]} == {
        "shop/migrations/0002_index_and_rename.py"
    }
