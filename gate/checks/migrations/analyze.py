"""The rules engine: walks parsed migrations in order and says which statements would stop live traffic.

It keeps what earlier statements established (tables created in the same migration, an open
transaction block, a lock_timeout, validated IS NOT NULL checks) because the same statement is
safe or not depending on them. Nodes are pglast AST objects; expressions are walked without
recursion, so a deeply nested default cannot exhaust Python's stack.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from gate.checks.migrations.parse import Migration, Statement
from gate.checks.migrations.rules import RULES
from gate.model import Finding, Location
from gate.rules_data import rules_file

SHOWN = 200  # characters of a statement quoted in a finding


@dataclass(frozen=True)
class Tunables:
    volatile_functions: frozenset[str]
    serial_types: frozenset[str]
    lock_timeout_settings: frozenset[str]

    @classmethod
    def load(cls) -> Tunables:
        data = yaml.safe_load(rules_file("migrations", "rules.yml").read_text())
        return cls(*(frozenset(data[key]) for key in ("volatile_functions", "serial_types", "lock_timeout_settings")))


@dataclass
class _State:
    """What one migration has established so far."""

    created: set[str] = field(default_factory=set)
    in_transaction: bool = False
    lock_timeout: bool = False
    # SET LOCAL lasts until the transaction ends; a plain SET for the rest of the session.
    lock_timeout_local: bool = False


@dataclass
class Analyzer:
    tunables: Tunables
    # (table, column) proven NOT NULL by a validated check, across the migrations of one run.
    proven_not_null: set[tuple[str, str]] = field(default_factory=set)
    _pending_checks: dict[str, tuple[str, str]] = field(default_factory=dict)

    def judge(self, migrations: Iterable[Migration]) -> Iterator[Finding]:
        for migration in migrations:
            state = _State()
            for statement in migration.statements:
                for finding in self._statement(statement, state):
                    if migration.judged:
                        yield finding

    def _statement(self, statement: Statement, state: _State) -> Iterator[Finding]:
        from pglast import ast

        node = statement.node
        if isinstance(node, ast.TransactionStmt):
            _transaction(node, state)
            return
        if isinstance(node, ast.VariableSetStmt):
            if node.name in self.tunables.lock_timeout_settings:
                state.lock_timeout, state.lock_timeout_local = _nonzero(node), bool(node.is_local)
            return
        if isinstance(node, ast.CreateStmt):
            state.created.add(_relname(node.relation))
            return
        if self._takes_lock(node, state) and not state.lock_timeout:
            state.lock_timeout = True  # one finding per migration: the fix is one SET at its top
            yield _finding(
                "migrations.lock-timeout.missing",
                f"{_kind(statement)} waits for its lock without a lock_timeout set before it in {statement.path}.",
                statement,
            )
        if isinstance(node, ast.IndexStmt):
            yield from self._index(node, statement, state)
        elif isinstance(node, ast.DropStmt):
            yield from self._drop(node, statement, state)
        elif isinstance(node, ast.AlterTableStmt):
            table = _relname(node.relation)
            if table not in state.created:
                for command in node.cmds or ():
                    yield from self._alter(table, command, statement)
        elif isinstance(node, ast.RenameStmt):
            yield from _rename(node, statement, state)
        elif isinstance(node, ast.VacuumStmt) and _vacuum_full(node):
            yield _finding("migrations.table.rewrite", "VACUUM FULL rewrites the table and blocks it.", statement)
        elif isinstance(node, ast.ClusterStmt):
            yield _finding("migrations.table.rewrite", "CLUSTER rewrites the table and blocks it.", statement)
        elif isinstance(node, ast.ReindexStmt):
            yield from _reindex(node, statement, state)

    def _takes_lock(self, node: Any, state: _State) -> bool:
        from pglast import ast

        if isinstance(node, ast.IndexStmt):
            return not node.concurrent and _relname(node.relation) not in state.created
        if isinstance(node, ast.AlterTableStmt | ast.RenameStmt):
            relation = node.relation
            return relation is None or relation.relname not in state.created
        if isinstance(node, ast.DropStmt):
            return not node.concurrent
        if isinstance(node, ast.ReindexStmt):
            return not _concurrently(node)
        return isinstance(node, ast.VacuumStmt | ast.ClusterStmt | ast.TruncateStmt)

    def _index(self, node: Any, statement: Statement, state: _State) -> Iterator[Finding]:
        table = _relname(node.relation)
        if node.concurrent and state.in_transaction:
            yield _finding(
                "migrations.index.concurrently-in-transaction",
                f"CREATE INDEX CONCURRENTLY on {table} is inside BEGIN ... COMMIT: PostgreSQL rejects it.",
                statement,
            )
        elif not node.concurrent and table not in state.created:
            yield _finding(
                "migrations.index.not-concurrent",
                f"CREATE INDEX{' ' + node.idxname if node.idxname else ''} on existing table {table} blocks "
                "its writes for the whole build.",
                statement,
                subject=f"{table}:{node.idxname}",
            )

    def _drop(self, node: Any, statement: Statement, state: _State) -> Iterator[Finding]:
        from pglast.enums import ObjectType

        names = [_object_name(obj) for obj in node.objects or ()]
        if node.removeType == ObjectType.OBJECT_INDEX:
            if node.concurrent and state.in_transaction:
                yield _finding(
                    "migrations.index.concurrently-in-transaction",
                    f"DROP INDEX CONCURRENTLY {', '.join(names)} is inside BEGIN ... COMMIT: PostgreSQL rejects it.",
                    statement,
                )
            elif not node.concurrent:
                yield _finding(
                    "migrations.index.drop-not-concurrent",
                    f"DROP INDEX {', '.join(names)} locks its table against reads and writes.",
                    statement,
                )
        elif node.removeType == ObjectType.OBJECT_TABLE:
            for name in names:
                if name not in state.created:
                    yield _named("migrations.drop.table", f"Table {name} is dropped.", statement, name)

    def _alter(self, table: str, command: Any, statement: Statement) -> Iterator[Finding]:
        from pglast import ast
        from pglast.enums import AlterTableType as At

        kind = command.subtype
        if kind == At.AT_AddColumn:
            yield from self._add_column(table, command.def_, statement)
        elif kind == At.AT_AlterColumnType:
            yield _finding(
                "migrations.column.type-change",
                f"{table}.{command.name} changes type to {_type_name(command.def_.typeName)}: most type changes "
                "rewrite the table under an ACCESS EXCLUSIVE lock.",
                statement,
                subject=f"{table}.{command.name}",
            )
        elif kind == At.AT_AddConstraint and isinstance(command.def_, ast.Constraint):
            yield from self._constraint(table, command.def_, statement)
        elif kind == At.AT_ValidateConstraint and command.name in self._pending_checks:
            self.proven_not_null.add(self._pending_checks.pop(command.name))
        elif kind == At.AT_SetNotNull and (table, command.name) not in self.proven_not_null:
            yield _finding(
                "migrations.column.set-not-null",
                f"SET NOT NULL on {table}.{command.name} scans the table under an ACCESS EXCLUSIVE lock; no "
                "validated CHECK (... IS NOT NULL) constraint precedes it.",
                statement,
                subject=f"{table}.{command.name}",
            )
        elif kind == At.AT_DropColumn:
            yield _named(
                "migrations.drop.column", f"Column {table}.{command.name} is dropped.", statement, table, command.name
            )

    def _add_column(self, table: str, column: Any, statement: Statement) -> Iterator[Finding]:
        from pglast.enums import ConstrType

        constraints = list(column.constraints or ())
        kinds = {constraint.contype for constraint in constraints}
        default = next((c.raw_expr for c in constraints if c.contype == ConstrType.CONSTR_DEFAULT), None)
        name = f"{table}.{column.colname}"
        type_name = _type_name(column.typeName)
        generated = {ConstrType.CONSTR_IDENTITY, ConstrType.CONSTR_GENERATED} & kinds
        if type_name in self.tunables.serial_types or generated:
            yield _finding(
                "migrations.column.add-auto-increment",
                f"{name} ({type_name if not generated else 'generated'}) fills every existing row: a full rewrite.",
                statement,
                subject=name,
            )
        elif default is not None and (called := self._volatile_call(default)):
            yield _finding(
                "migrations.column.volatile-default",
                f"{name} defaults to {called}(), which is volatile: PostgreSQL rewrites the whole table.",
                statement,
                subject=name,
            )
        elif ConstrType.CONSTR_NOTNULL in kinds and default is None:
            yield _finding(
                "migrations.column.not-null-without-default",
                f"{name} is added NOT NULL without a default: it fails on a table with rows.",
                statement,
                subject=name,
            )

    def _constraint(self, table: str, constraint: Any, statement: Statement) -> Iterator[Finding]:
        from pglast.enums import ConstrType

        kind = constraint.contype
        label = f" {constraint.conname}" if constraint.conname else ""
        if kind == ConstrType.CONSTR_FOREIGN and not constraint.skip_validation:
            yield _finding(
                "migrations.constraint.foreign-key-not-valid",
                f"Foreign key{label} on {table} is validated while both tables are locked against writes.",
                statement,
                subject=f"{table}:{constraint.conname}",
            )
        elif kind == ConstrType.CONSTR_CHECK:
            if constraint.skip_validation:
                column = _is_not_null_of(constraint.raw_expr)
                if column is not None and constraint.conname:
                    self._pending_checks[constraint.conname] = (table, column)
            else:
                yield _finding(
                    "migrations.constraint.check-not-valid",
                    f"Check constraint{label} on {table} scans the table under an ACCESS EXCLUSIVE lock.",
                    statement,
                    subject=f"{table}:{constraint.conname}",
                )
        elif kind == ConstrType.CONSTR_EXCLUSION:
            yield _finding(
                "migrations.constraint.exclusion",
                f"Exclusion constraint{label} on {table} builds its index under an ACCESS EXCLUSIVE lock.",
                statement,
                subject=f"{table}:{constraint.conname}",
            )
        elif kind in (ConstrType.CONSTR_UNIQUE, ConstrType.CONSTR_PRIMARY) and not constraint.indexname:
            what = "Primary key" if kind == ConstrType.CONSTR_PRIMARY else "Unique constraint"
            yield _finding(
                "migrations.constraint.unique-without-index",
                f"{what}{label} on {table} builds its index under an ACCESS EXCLUSIVE lock.",
                statement,
                subject=f"{table}:{constraint.conname}",
            )

    def _volatile_call(self, expression: Any) -> str | None:
        from pglast import ast

        for node in _walk(expression):
            if isinstance(node, ast.FuncCall):
                name = str(node.funcname[-1].sval if node.funcname else "").lower()
                if name in self.tunables.volatile_functions:
                    return str(name)
        return None


def _walk(root: Any) -> Iterator[Any]:
    """Every AST node under root, depth first, with an explicit stack."""
    from pglast import ast

    stack: list[Any] = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, tuple | list):
            stack.extend(node)
        elif isinstance(node, ast.Node):
            yield node
            values = (getattr(node, name, None) for name in node)
            stack.extend(value for value in values if isinstance(value, ast.Node | tuple | list))


def _rename(node: Any, statement: Statement, state: _State) -> Iterator[Finding]:
    from pglast.enums import ObjectType

    table = _relname(node.relation)
    if table in state.created:
        return
    if node.renameType == ObjectType.OBJECT_COLUMN:
        message = f"{table}.{node.subname} is renamed to {node.newname}: running code still uses the old name."
        yield _named("migrations.rename.column", message, statement, table, node.subname)
    elif node.renameType == ObjectType.OBJECT_TABLE:
        message = f"Table {table} is renamed to {node.newname}: running code still uses the old name."
        yield _named("migrations.rename.table", message, statement, table)


def _finding(rule_id: str, message: str, statement: Statement, **fields: Any) -> Finding:
    details = {"statement": statement.text[:SHOWN], **fields.pop("details", {})}
    location = Location(path=statement.path, line=statement.line)
    if statement.origin is not None:
        # Generated SQL: the finding sits on the migration file (or the command's gate.yml line).
        message += f" (line {statement.line} of what {statement.origin!r} printed)"
        location = Location(path=statement.path) if statement.path else Location(name="checks.migrations.command")
    return RULES.finding(
        rule_id,
        message,
        location=location,
        subject=fields.pop("subject", statement.text[:SHOWN]),
        details=details,
        **fields,
    )


def _named(rule_id: str, message: str, statement: Statement, table: str, column: str | None = None) -> Finding:
    """A finding about a table or column the running code may still name (the check looks it up in the code)."""
    if column is None:
        return _finding(rule_id, message, statement, subject=table, details={"table": table})
    return _finding(
        rule_id, message, statement, subject=f"{table}.{column}", details={"table": table, "column": column}
    )


def _transaction(node: Any, state: _State) -> None:
    """BEGIN opens a transaction block; COMMIT, ROLLBACK and PREPARE end it (and a SET LOCAL with it)."""
    from pglast.enums import TransactionStmtKind as Tk

    if node.kind in (Tk.TRANS_STMT_BEGIN, Tk.TRANS_STMT_START):
        state.in_transaction = True
    elif node.kind in (Tk.TRANS_STMT_COMMIT, Tk.TRANS_STMT_ROLLBACK, Tk.TRANS_STMT_PREPARE):
        state.in_transaction = False
        if state.lock_timeout_local:
            state.lock_timeout = state.lock_timeout_local = False


def _reindex(node: Any, statement: Statement, state: _State) -> Iterator[Finding]:
    name = _relname(node.relation) if node.relation is not None else str(node.name)
    if not _concurrently(node):
        yield _finding(
            "migrations.index.reindex-not-concurrent",
            f"REINDEX {name} blocks writes to the table, and reads that use the index, until it finishes.",
            statement,
        )
    elif state.in_transaction:
        yield _finding(
            "migrations.index.concurrently-in-transaction",
            f"REINDEX CONCURRENTLY {name} is inside BEGIN ... COMMIT: PostgreSQL rejects it.",
            statement,
        )


def _concurrently(node: Any) -> bool:
    return any(param.defname == "concurrently" for param in node.params or ())


def _nonzero(node: Any) -> bool:
    """Whether SET lock_timeout gives a bound: 0 (and DEFAULT, which is 0 unless configured) waits forever."""
    from pglast import ast

    values = [arg.val for arg in node.args or () if isinstance(arg, ast.A_Const)]
    if not values:
        return False
    value = values[0]
    text = str(getattr(value, "sval", None) or getattr(value, "ival", 0))
    return text.strip() not in ("0", "")


def _vacuum_full(node: Any) -> bool:
    return any(option.defname == "full" for option in node.options or ())


def _type_name(type_name: Any) -> str:
    return str(type_name.names[-1].sval) if type_name is not None else "?"


def _object_name(obj: Any) -> str:
    parts: Sequence[Any] = obj if isinstance(obj, tuple | list) else (obj,)
    return str(getattr(parts[-1], "sval", parts[-1]))


def _is_not_null_of(expression: Any) -> str | None:
    """The column of a `column IS NOT NULL` check, else None."""
    from pglast import ast
    from pglast.enums import NullTestType

    if isinstance(expression, ast.NullTest) and expression.nulltesttype == NullTestType.IS_NOT_NULL:
        argument = expression.arg
        if isinstance(argument, ast.ColumnRef):
            last: Any = argument.fields[-1] if argument.fields else None
            return str(last.sval) if hasattr(last, "sval") else None
    return None


def _relname(relation: Any) -> str:
    return str(relation.relname) if relation is not None else "?"


def _kind(statement: Statement) -> str:
    return " ".join(statement.text.split()[:3]) or "The statement"
