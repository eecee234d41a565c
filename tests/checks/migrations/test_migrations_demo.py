"""The demo's migrations part: `gate demo` shows an unsafe migration and the run stays NO-GO."""

from __future__ import annotations

import json
from pathlib import Path

from gate.demo import PARTS, migrations_part
from tests.support.helpers import check_demo_part


def test_the_demo_plants_a_migration_that_blocks_and_says_where_the_code_uses_the_dropped_column(
    tmp_path: Path,
) -> None:
    assert migrations_part.plant in PARTS
    outcome = check_demo_part(migrations_part.plant, "migrations", tmp_path)
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
