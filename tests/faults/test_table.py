"""The README's fault table is the one the fault suite declares."""

from __future__ import annotations

from tests.faults import table


def test_readme_fault_table_matches_the_fault_suite() -> None:
    rows = table.load_rows()
    assert len({(r.check, r.fault) for r in rows}) == len(rows), "two tests declare the same row"
    expected = table.render(rows)
    assert table.section(table.README.read_text()) == expected, (
        "README's fault table is out of date: run `python -m tests.faults.table`"
    )
