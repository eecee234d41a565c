"""The demo's restore part: a stale nightly backup restored into a real throw-away PostgreSQL, or,
where PostgreSQL is not installed, a part left out with a note that says so."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import pytest

from gate.demo import PARTS, restore_part
from tests.support.helpers import check_demo_part

pytestmark = [pytest.mark.loopback]


def test_the_demo_restores_a_backup_whose_newest_row_is_three_days_old(tmp_path: Path) -> None:
    assert restore_part.plant in PARTS
    outcome = check_demo_part(restore_part.plant, "restore", tmp_path)
    assert outcome.exit_code == 1, outcome.output
    report = json.loads(outcome.stdout)
    assert [(f["rule_id"], f["location"]["path"]) for f in report["findings"]] == [
        ("restore.data.stale", restore_part.BACKUP)
    ]
    assert "3.0 days old" in report["findings"][0]["message"]
    assert report["checks"][0]["status"] != "error"


def test_without_postgresql_the_part_is_left_out_with_a_note(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # A machine without PostgreSQL: nothing on PATH, none of the folders Debian or Homebrew use.
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    monkeypatch.setattr("gate.postgres._SEARCH", ())
    with contextlib.ExitStack() as stack:
        assert restore_part.plant(tmp_path, stack) == {}
    note = capsys.readouterr().err
    assert "the restore drill is left out: PostgreSQL's initdb is not installed" in note
    assert not (tmp_path / restore_part.BACKUP).exists()
