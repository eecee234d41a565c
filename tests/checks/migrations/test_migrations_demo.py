"""The demo's migrations part: `gate demo` shows an unsafe migration and the run stays NO-GO."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import yaml

from gate.demo import PARTS, migrations_part
from tests.support.helpers import gate


def test_the_demo_plants_a_migration_that_blocks_and_says_where_the_code_uses_the_dropped_column(
    tmp_path: Path,
) -> None:
    assert migrations_part.plant in PARTS
    with contextlib.ExitStack() as stack:
        fragment = migrations_part.plant(tmp_path, stack)
    (tmp_path / "gate.yml").write_text(yaml.safe_dump({"version": 1, "preset": "demo", **fragment}))
    outcome = gate("check", "migrations", "--format", "json", cwd=tmp_path)
    assert outcome.exit_code == 1, outcome.output
    found = {
        (f["rule_id"], f["location"]["path"], f["location"]["line"]) for f in json.loads(outcome.stdout)["findings"]
    }
    new = "db/migrations/0002_speed_up_login.sql"
    assert found == {
        ("migrations.lock-timeout.missing", new, 1),
        ("migrations.index.not-concurrent", new, 1),
        ("migrations.column.volatile-default", new, 2),
        ("migrations.drop.column", new, 3),
    }
    assert "src/plans.ts:2" in outcome.stdout
