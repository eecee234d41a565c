"""Whether ALTER COLUMN ... TYPE rewrites the table: only with the column's earlier type known.

PostgreSQL skips the rewrite (and keeps its ACCESS EXCLUSIVE lock brief) in two cases: a
binary-coercible cast to a type without a limit (varchar to text), and the same type with its
limit raised or dropped (varchar(50) to varchar(100), numeric(10,2) to numeric(12,2)), which the
type's length-coercion support function turns into a no-op. Which types and casts those are is
data (rules/migrations/rules.yml), each one proved on a real PostgreSQL by the lock tests. The
earlier type comes from the migrations read before (CREATE TABLE, ADD COLUMN, an earlier TYPE).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ColumnType:
    """A column's type as PostgreSQL names it internally (varchar, int8, numeric) and its limits."""

    name: str
    limits: tuple[int, ...] = ()
    array: bool = False

    @classmethod
    def of(cls, type_name: Any) -> ColumnType:
        from pglast import ast

        limits = tuple(
            int(mod.val.ival or 0)
            for mod in type_name.typmods or ()
            if isinstance(mod, ast.A_Const) and isinstance(mod.val, ast.Integer)
        )
        # A limit that is not a plain number (an interval's field range, a named modifier) compares as unknown.
        if len(limits) != len(type_name.typmods or ()):
            limits = (-1,)
        return cls(str(type_name.names[-1].sval), limits, bool(type_name.arrayBounds))

    def shown(self) -> str:
        limits = f"({','.join(map(str, self.limits))})" if self.limits else ""
        return f"{self.name}{limits}{'[]' if self.array else ''}"


@dataclass(frozen=True)
class RewriteFree:
    widening: frozenset[str]
    casts: frozenset[tuple[str, str]]

    def rewrites(self, old: ColumnType | None, new: ColumnType) -> bool:
        """True unless the change is known to leave the table's rows as they are."""
        if old is None or old.array or new.array or -1 in old.limits + new.limits:
            return old != new
        if old.name == new.name:
            return old.limits != new.limits and not self._widens(old, new)
        return (old.name, new.name) not in self.casts or bool(new.limits)

    def _widens(self, old: ColumnType, new: ColumnType) -> bool:
        if old.name not in self.widening or (new.limits and not old.limits):
            return False
        if not new.limits:
            return True
        if old.name == "numeric":  # numeric(precision, scale): the scale must stay, the precision may grow
            old_scale, new_scale = (*old.limits, 0)[1], (*new.limits, 0)[1]
            return old_scale == new_scale and new.limits[0] >= old.limits[0]
        return new.limits[0] >= old.limits[0]
