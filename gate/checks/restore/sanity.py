"""The declared sanity queries against a restored backup: tables present, enough rows, fresh rows."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from gate.checks.restore.database import Restored
from gate.checks.restore.rules import RULES
from gate.model import Finding, Location


def _age(seconds: float) -> str:
    hours = seconds / 3600
    return f"{hours / 24:.1f} days" if hours >= 48 else f"{hours:.1f} hours"


def judge(db: Restored, declared: Sequence[Mapping[str, Any]], max_age: float, where: Location) -> Iterator[Finding]:
    """Findings for every declared table the backup lacks, holds too few rows of, or holds stale."""
    found = db.tables()
    if not found:
        yield RULES.finding(
            "restore.backup.empty", "The backup restored, but it holds no tables at all.", location=where
        )
        return
    for entry in declared:
        name = str(entry["name"])
        table = db.find(name)
        if table is None:
            listed = ", ".join(sorted(found)[:10])
            yield RULES.finding(
                "restore.table.missing",
                f"Table {name} is not in the restored backup (it has: {listed}).",
                location=where,
                subject=name,
            )
            continue
        rows, floor = db.count(table), int(entry.get("min_rows", 1))
        if rows < floor:
            yield RULES.finding(
                "restore.table.too-few-rows",
                f"Table {name} restored with {rows} rows; at least {floor} are declared.",
                location=where,
                subject=name,
                details={"rows": rows, "min_rows": floor},
            )
        column = entry.get("newest")
        if column:
            yield from _freshness(db, name, table, str(column), max_age, where)


def _freshness(db: Restored, name: str, table: str, column: str, max_age: float, where: Location) -> Iterator[Finding]:
    age = db.newest_age(table, column)
    if age is None:
        yield RULES.finding(
            "restore.column.missing",
            f"Column {name}.{column} is missing, is not a date or time, or holds no value, so the backup's age "
            "is not known.",
            location=where,
            subject=f"{name}.{column}",
        )
    elif age > max_age:
        yield RULES.finding(
            "restore.data.stale",
            f"The newest {name}.{column} is {_age(age)} old; the backup age budget is {_age(max_age)}.",
            location=where,
            subject=f"{name}.{column}",
            details={"age_seconds": round(age), "max_age_seconds": round(max_age)},
        )
