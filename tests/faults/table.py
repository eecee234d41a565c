"""The README's "What the gate does when things go wrong" table, generated from the fault suite.

Each fault test declares its row with `@row(fault, check, outcome)`; `test_readme_table` asserts
the README holds exactly the table those rows make, and `python -m tests.faults.table` (from the
repository root) rewrites it after a fault test is added or changed.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
HEADING = "## What the gate does when things go wrong"
INTRO = (
    "Every row is a test in `tests/faults/` that runs the real `gate` against a real misbehaving peer\n"
    "on loopback and asserts the exit code, the message and bounded time and memory. A gate that\n"
    "cannot finish its work fails closed (exit 3); it never passes by accident. The table is\n"
    "generated from the tests (`python -m tests.faults.table`), and a test fails if it drifts."
)


@dataclass(frozen=True)
class Row:
    fault: str
    check: str
    outcome: str
    module: str
    order: int


ROWS: list[Row] = []
F = TypeVar("F", bound=Callable[..., object])


def row(fault: str, check: str, outcome: str) -> Callable[[F], F]:
    """Declare the README row a fault test proves."""

    def mark(test: F) -> F:
        # The module name keeps the table's order independent of the order pytest imports modules in.
        ROWS.append(Row(fault, check, outcome, getattr(test, "__module__", ""), len(ROWS)))
        return test

    return mark


def load_rows() -> list[Row]:
    """Import every test module of this package so each one's rows are declared."""
    package = sys.modules[__package__ or "faults"]
    for info in pkgutil.iter_modules(package.__path__):
        if info.name.startswith("test_"):
            importlib.import_module(f"{package.__name__}.{info.name}")
    return sorted(ROWS, key=lambda r: (r.check, r.module, r.order))


def render(rows: list[Row]) -> str:
    lines = [HEADING, "", INTRO, "", "| check | fault | what the gate does |", "| --- | --- | --- |"]
    lines += [f"| {r.check} | {r.fault} | {r.outcome} |" for r in rows]
    return "\n".join(lines) + "\n"


def section(readme: str) -> str:
    """The table's section as the README has it now (empty if it has none)."""
    start = readme.find(HEADING)
    if start < 0:
        return ""
    end = readme.find("\n## ", start + len(HEADING))
    return readme[start : end + 1 if end >= 0 else len(readme)]


def rewrite(readme: str, table: str) -> str:
    current = section(readme)
    if current:
        return readme.replace(current, table)
    return readme.rstrip("\n") + "\n\n" + table


def main() -> None:
    # Import as `tests.faults.table` (the name pytest gives it, not `__main__`) so the tests
    # register their rows here.
    table = importlib.import_module("tests.faults.table")
    rows = table.load_rows()
    README.write_text(table.rewrite(README.read_text(), table.render(rows)))
    print(f"wrote {len(rows)} rows to {README}")


if __name__ == "__main__":
    main()
