"""The rules engine: walks parsed migrations in order and says which statements would stop live traffic.

It keeps what earlier statements established (tables created in the same migration, an open
transaction block, a lock_timeout, validated IS NOT NULL checks, column types, enum values added
in the open transaction) because the same statement is safe or not depending on them. Nodes are
pglast AST objects; expressions are walked without recursion, so a deeply nested default cannot
exhaust Python's stack.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml

from gate.checks.migrations import nodes
from gate.checks.migrations.findings import finding, kind, named
from gate.checks.migrations.parse import Migration, Statement
from gate.checks.migrations.retype import ColumnType, RewriteFree
from gate.model import Finding
from gate.rules_data import rules_file


@dataclass(frozen=True)
class Tunables:
    volatile_functions: frozenset[str]
    serial_types: frozenset[str]
    lock_timeout_settings: frozenset[str]
    rewrite_free: RewriteFree

    @classmethod
    def load(cls) -> Tunables:
        data = yaml.safe_load(rules_file("migrations", "rules.yml").read_text())
        casts = frozenset((str(old), str(new)) for old, new in data["rewrite_free_casts"])
        return cls(
            frozenset(data["volatile_functions"]),
            frozenset(data["serial_types"]),
            frozenset(data["lock_timeout_settings"]),
            RewriteFree(frozenset(data["rewrite_free_widening"]), casts),
        )


@dataclass
class _State:
    """What one migration has established so far."""

    created: set[str] = field(default_factory=set)
    in_transaction: bool = False
    lock_timeout: bool = False
    # SET LOCAL lasts until the transaction ends; a plain SET for the rest of the session.
    lock_timeout_local: bool = False
    # Enum values added in the open transaction: PostgreSQL refuses to use them before it commits.
    new_enum_values: dict[str, str] = field(default_factory=dict)


@dataclass
class Analyzer:
    tunables: Tunables
    # The server's major version when gate.yml declares it (checks.migrations.postgres_version).
    postgres_version: int | None = None
    # Each column's type as the migrations read so far left it: a type change is judged against it.
    column_types: dict[tuple[str, str], ColumnType] = field(default_factory=dict)
    # (table, column) proven NOT NULL by a validated check, across the migrations of one run.
    proven_not_null: set[tuple[str, str]] = field(default_factory=set)
    _pending_checks: dict[str, tuple[str, str]] = field(default_factory=dict)

    def judge(self, migrations: Iterable[Migration]) -> Iterator[Finding]:
        for migration in migrations:
            state = _State()
            for statement in migration.statements:
                for found in self._statement(statement, state):
                    if migration.judged:
                        yield found

    def _statement(self, statement: Statement, state: _State) -> Iterator[Finding]:
        from pglast import ast

        node = statement.node
        if isinstance(node, ast.TransactionStmt):
            _transaction(node, state)
            return
        if isinstance(node, ast.VariableSetStmt):
            if node.name in self.tunables.lock_timeout_settings:
                state.lock_timeout, state.lock_timeout_local = nodes.nonzero(node), bool(node.is_local)
            return
        yield from self._new_enum_value_used(node, statement, state)
        if isinstance(node, ast.CreateStmt):
            table = nodes.relname(node.relation)
            state.created.add(table)
            for column in node.tableElts or ():
                if isinstance(column, ast.ColumnDef) and column.typeName is not None:
                    self.column_types[(table, str(column.colname))] = ColumnType.of(column.typeName)
            return
        if isinstance(node, ast.AlterEnumStmt) and node.newVal is not None:
            yield from self._enum_value(node, statement, state)
            return
        if self._takes_lock(node, state) and not state.lock_timeout:
            state.lock_timeout = True  # one finding per migration: the fix is one SET at its top
            yield finding(
                "migrations.lock-timeout.missing",
                f"{kind(statement)} waits for its lock without a lock_timeout set before it in {statement.path}.",
                statement,
            )
        if isinstance(node, ast.IndexStmt):
            yield from self._index(node, statement, state)
        elif isinstance(node, ast.DropStmt):
            yield from self._drop(node, statement, state)
        elif isinstance(node, ast.AlterTableStmt):
            table = nodes.relname(node.relation)
            for command in node.cmds or ():
                found = list(self._alter(table, command, statement))  # a new table's columns' types count too
                if table not in state.created:
                    yield from found
        elif isinstance(node, ast.RenameStmt):
            yield from _rename(node, statement, state)
        elif isinstance(node, ast.VacuumStmt) and nodes.vacuum_full(node):
            yield finding("migrations.table.rewrite", "VACUUM FULL rewrites the table and blocks it.", statement)
        elif isinstance(node, ast.ClusterStmt):
            yield finding("migrations.table.rewrite", "CLUSTER rewrites the table and blocks it.", statement)
        elif isinstance(node, ast.ReindexStmt):
            yield from _reindex(node, statement, state)
        elif isinstance(node, ast.TruncateStmt):
            for relation in node.relations or ():
                if (table := nodes.relname(relation)) not in state.created:
                    message = f"TRUNCATE {table} empties the table under an ACCESS EXCLUSIVE lock."
                    yield finding("migrations.table.truncate", message, statement, subject=table)

    def _enum_value(self, node: Any, statement: Statement, state: _State) -> Iterator[Finding]:
        enum = ".".join(str(part.sval) for part in node.typeName)
        if not state.in_transaction:
            return
        if self.postgres_version is not None and self.postgres_version < 12:
            yield finding(
                "migrations.enum.add-value-in-transaction",
                f"ALTER TYPE {enum} ADD VALUE {node.newVal!r} is inside BEGIN ... COMMIT: PostgreSQL "
                f"{self.postgres_version} (checks.migrations.postgres_version) rejects it there.",
                statement,
                subject=f"{enum}:{node.newVal}",
            )
        else:
            state.new_enum_values[str(node.newVal)] = enum

    def _new_enum_value_used(self, node: Any, statement: Statement, state: _State) -> Iterator[Finding]:
        """A later statement of the same transaction that names a value ADD VALUE added (PostgreSQL 12+)."""
        from pglast import ast

        if not state.new_enum_values:
            return
        for constant in nodes.walk(node):
            value = getattr(constant, "val", None) if isinstance(constant, ast.A_Const) else None
            if isinstance(value, ast.String) and value.sval in state.new_enum_values:
                enum = state.new_enum_values.pop(value.sval)
                yield finding(
                    "migrations.enum.add-value-in-transaction",
                    f"{kind(statement)} uses {value.sval!r}, added to {enum} earlier in the same transaction: "
                    "PostgreSQL refuses a new enum value until the transaction that added it commits.",
                    statement,
                    subject=f"{enum}:{value.sval}",
                )

    def _takes_lock(self, node: Any, state: _State) -> bool:
        from pglast import ast

        if isinstance(node, ast.IndexStmt):
            return not node.concurrent and nodes.relname(node.relation) not in state.created
        if isinstance(node, ast.AlterTableStmt | ast.RenameStmt):
            relation = node.relation
            return relation is None or relation.relname not in state.created
        if isinstance(node, ast.DropStmt):
            return not node.concurrent
        if isinstance(node, ast.ReindexStmt):
            return not nodes.concurrently(node)
        return isinstance(node, ast.VacuumStmt | ast.ClusterStmt | ast.TruncateStmt)

    def _index(self, node: Any, statement: Statement, state: _State) -> Iterator[Finding]:
        table = nodes.relname(node.relation)
        if node.concurrent and state.in_transaction:
            yield finding(
                "migrations.index.concurrently-in-transaction",
                f"CREATE INDEX CONCURRENTLY on {table} is inside BEGIN ... COMMIT: PostgreSQL rejects it.",
                statement,
            )
        elif not node.concurrent and table not in state.created:
            yield finding(
                "migrations.index.not-concurrent",
                f"CREATE INDEX{' ' + node.idxname if node.idxname else ''} on existing table {table} blocks "
                "its writes for the whole build.",
                statement,
                subject=f"{table}:{node.idxname}",
            )

    def _drop(self, node: Any, statement: Statement, state: _State) -> Iterator[Finding]:
        from pglast.enums import ObjectType

        names = [nodes.object_name(obj) for obj in node.objects or ()]
        if node.removeType == ObjectType.OBJECT_INDEX:
            if node.concurrent and state.in_transaction:
                yield finding(
                    "migrations.index.concurrently-in-transaction",
                    f"DROP INDEX CONCURRENTLY {', '.join(names)} is inside BEGIN ... COMMIT: PostgreSQL rejects it.",
                    statement,
                )
            elif not node.concurrent:
                yield finding(
                    "migrations.index.drop-not-concurrent",
                    f"DROP INDEX {', '.join(names)} locks its table against reads and writes.",
                    statement,
                )
        elif node.removeType == ObjectType.OBJECT_TABLE:
            for name in names:
                if name not in state.created:
                    yield named("migrations.drop.table", f"Table {name} is dropped.", statement, name)

    def _alter(self, table: str, command: Any, statement: Statement) -> Iterator[Finding]:
        from pglast import ast
        from pglast.enums import AlterTableType as At

        kind = command.subtype
        if kind == At.AT_AddColumn:
            if command.def_.typeName is not None:
                self.column_types[(table, str(command.def_.colname))] = ColumnType.of(command.def_.typeName)
            yield from self._add_column(table, command.def_, statement)
        elif kind == At.AT_AlterColumnType:
            yield from self._type_change(table, command, statement)
        elif (rewriting := _rewriting(kind)) is not None:
            rule, what = rewriting
            yield finding(rule, f"{what.format(name=command.name)} rewrites {table} under an ACCESS EXCLUSIVE lock.",
                           statement, subject=table)  # fmt: skip
        elif kind == At.AT_AddConstraint and isinstance(command.def_, ast.Constraint):
            yield from self._constraint(table, command.def_, statement)
        elif kind == At.AT_ValidateConstraint and command.name in self._pending_checks:
            self.proven_not_null.add(self._pending_checks.pop(command.name))
        elif kind == At.AT_SetNotNull and (table, command.name) not in self.proven_not_null:
            yield finding(
                "migrations.column.set-not-null",
                f"SET NOT NULL on {table}.{command.name} scans the table under an ACCESS EXCLUSIVE lock; no "
                "validated CHECK (... IS NOT NULL) constraint precedes it.",
                statement,
                subject=f"{table}.{command.name}",
            )
        elif kind == At.AT_DropColumn:
            yield named(
                "migrations.drop.column", f"Column {table}.{command.name} is dropped.", statement, table, command.name
            )

    def _type_change(self, table: str, command: Any, statement: Statement) -> Iterator[Finding]:
        column, new = str(command.name), ColumnType.of(command.def_.typeName)
        old = self.column_types.get((table, column))
        self.column_types[(table, column)] = new
        using, collate = command.def_.raw_default is not None, command.def_.collClause is not None
        if not (using or collate or self.tunables.rewrite_free.rewrites(old, new)):
            return
        if using or collate:
            why = "a USING clause rewrites every row" if using else "a new collation rebuilds its indexes"
        elif old is None:
            why = "its earlier type is not in the migrations read, and most type changes rewrite the table"
        else:
            why = f"{old.shown()} to {new.shown()} rewrites the table and its indexes"
        yield finding(
            "migrations.column.type-change",
            f"{table}.{column} changes type to {new.shown()}: {why}, under an ACCESS EXCLUSIVE lock.",
            statement,
            subject=f"{table}.{column}",
        )

    def _add_column(self, table: str, column: Any, statement: Statement) -> Iterator[Finding]:
        from pglast.enums import ConstrType

        constraints = list(column.constraints or ())
        kinds = {constraint.contype for constraint in constraints}
        default = next((c.raw_expr for c in constraints if c.contype == ConstrType.CONSTR_DEFAULT), None)
        name = f"{table}.{column.colname}"
        type_name = nodes.type_name(column.typeName)
        generated = {ConstrType.CONSTR_IDENTITY, ConstrType.CONSTR_GENERATED} & kinds
        if type_name in self.tunables.serial_types or generated:
            yield finding(
                "migrations.column.add-auto-increment",
                f"{name} ({type_name if not generated else 'generated'}) fills every existing row: a full rewrite.",
                statement,
                subject=name,
            )
        elif default is not None and (called := self._volatile_call(default)):
            yield finding(
                "migrations.column.volatile-default",
                f"{name} defaults to {called}(), which is volatile: PostgreSQL rewrites the whole table.",
                statement,
                subject=name,
            )
        elif ConstrType.CONSTR_FOREIGN in kinds:
            yield finding(
                "migrations.column.add-foreign-key",
                f"{name} is added with REFERENCES: the new foreign key is validated while {table} and the "
                "table it references are locked against writes.",
                statement,
                subject=name,
            )
        elif ConstrType.CONSTR_NOTNULL in kinds and default is None:
            yield finding(
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
            yield finding(
                "migrations.constraint.foreign-key-not-valid",
                f"Foreign key{label} on {table} is validated while both tables are locked against writes.",
                statement,
                subject=f"{table}:{constraint.conname}",
            )
        elif kind == ConstrType.CONSTR_CHECK:
            if constraint.skip_validation:
                column = nodes.is_not_null_of(constraint.raw_expr)
                if column is not None and constraint.conname:
                    self._pending_checks[constraint.conname] = (table, column)
            else:
                yield finding(
                    "migrations.constraint.check-not-valid",
                    f"Check constraint{label} on {table} scans the table under an ACCESS EXCLUSIVE lock.",
                    statement,
                    subject=f"{table}:{constraint.conname}",
                )
        elif kind == ConstrType.CONSTR_EXCLUSION:
            yield finding(
                "migrations.constraint.exclusion",
                f"Exclusion constraint{label} on {table} builds its index under an ACCESS EXCLUSIVE lock.",
                statement,
                subject=f"{table}:{constraint.conname}",
            )
        elif kind in (ConstrType.CONSTR_UNIQUE, ConstrType.CONSTR_PRIMARY) and not constraint.indexname:
            what = "Primary key" if kind == ConstrType.CONSTR_PRIMARY else "Unique constraint"
            yield finding(
                "migrations.constraint.unique-without-index",
                f"{what}{label} on {table} builds its index under an ACCESS EXCLUSIVE lock.",
                statement,
                subject=f"{table}:{constraint.conname}",
            )

    def _volatile_call(self, expression: Any) -> str | None:
        from pglast import ast

        for node in nodes.walk(expression):
            if isinstance(node, ast.FuncCall):
                name = str(node.funcname[-1].sval if node.funcname else "").lower()
                if name in self.tunables.volatile_functions:
                    return str(name)
        return None


def _rewriting(kind: Any) -> tuple[str, str] | None:
    """ALTER TABLE subcommands that copy the whole table: the rule and how a finding names the subcommand."""
    from pglast.enums import AlterTableType as At

    return {
        At.AT_SetTableSpace: ("migrations.table.set-tablespace", "SET TABLESPACE {name}"),
        At.AT_SetLogged: ("migrations.table.set-logged", "SET LOGGED"),
        At.AT_SetUnLogged: ("migrations.table.set-logged", "SET UNLOGGED"),
    }.get(kind)


def _rename(node: Any, statement: Statement, state: _State) -> Iterator[Finding]:
    from pglast.enums import ObjectType

    table = nodes.relname(node.relation)
    if table in state.created:
        return
    if node.renameType == ObjectType.OBJECT_COLUMN:
        message = f"{table}.{node.subname} is renamed to {node.newname}: running code still uses the old name."
        yield named("migrations.rename.column", message, statement, table, node.subname)
    elif node.renameType == ObjectType.OBJECT_TABLE:
        message = f"Table {table} is renamed to {node.newname}: running code still uses the old name."
        yield named("migrations.rename.table", message, statement, table)


def _transaction(node: Any, state: _State) -> None:
    """BEGIN opens a transaction block; COMMIT, ROLLBACK and PREPARE end it (and a SET LOCAL with it)."""
    from pglast.enums import TransactionStmtKind as Tk

    if node.kind in (Tk.TRANS_STMT_BEGIN, Tk.TRANS_STMT_START):
        state.in_transaction = True
    elif node.kind in (Tk.TRANS_STMT_COMMIT, Tk.TRANS_STMT_ROLLBACK, Tk.TRANS_STMT_PREPARE):
        state.in_transaction = False
        state.new_enum_values.clear()
        if state.lock_timeout_local:
            state.lock_timeout = state.lock_timeout_local = False


def _reindex(node: Any, statement: Statement, state: _State) -> Iterator[Finding]:
    name = nodes.relname(node.relation) if node.relation is not None else str(node.name)
    if not nodes.concurrently(node):
        yield finding(
            "migrations.index.reindex-not-concurrent",
            f"REINDEX {name} blocks writes to the table, and reads that use the index, until it finishes.",
            statement,
        )
    elif state.in_transaction:
        yield finding(
            "migrations.index.concurrently-in-transaction",
            f"REINDEX CONCURRENTLY {name} is inside BEGIN ... COMMIT: PostgreSQL rejects it.",
            statement,
        )
