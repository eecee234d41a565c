"""Every rule the migrations check can raise: what each lock does to live traffic, and the safe rewrite.

The facts follow PostgreSQL's lock levels (ACCESS EXCLUSIVE blocks every read and write of the
table; SHARE blocks writes) as squawk and strong_migrations document them: a statement is unsafe
when it holds such a lock for as long as it reads or rewrites the whole table, or when it waits
for a lock behind a long transaction while every later query queues behind it.
"""

from __future__ import annotations

from gate.checks.base import RuleBook, RuleDoc
from gate.model import Severity

_R = RuleDoc
_QUEUE = (
    " While it waits for its lock behind any open transaction, every later query on the table queues "
    "behind it, so even a fast statement can stop the app."
)
RULES = RuleBook(
    "migrations",
    [
        _R(
            "migrations.index.not-concurrent",
            "Index built without CONCURRENTLY",
            Severity.HIGH,
            "CREATE INDEX takes a SHARE lock on the table for the whole build: every INSERT, UPDATE and DELETE "
            "waits until the index is written, minutes on a large table.",
            "Use CREATE INDEX CONCURRENTLY (outside a transaction block; in Django use AddIndexConcurrently in "
            "a migration with atomic = False, in Alembic postgresql_concurrently=True in an autocommit block).",
        ),
        _R(
            "migrations.index.drop-not-concurrent",
            "Index dropped without CONCURRENTLY",
            Severity.MEDIUM,
            "DROP INDEX takes an ACCESS EXCLUSIVE lock on the index's table: reads and writes wait for it, "
            "and it waits for every running query on the table." + _QUEUE,
            "Use DROP INDEX CONCURRENTLY (outside a transaction block).",
        ),
        _R(
            "migrations.index.concurrently-in-transaction",
            "CONCURRENTLY inside a transaction block",
            Severity.HIGH,
            "CREATE/DROP INDEX CONCURRENTLY cannot run inside a transaction block: PostgreSQL rejects it and the "
            "deploy fails halfway. Django and Alembic wrap migrations in a transaction unless told not to.",
            "Run the statement outside BEGIN/COMMIT: in Django set atomic = False on the migration, in Alembic "
            "use op.get_context().autocommit_block().",
        ),
        _R(
            "migrations.index.reindex-not-concurrent",
            "REINDEX without CONCURRENTLY",
            Severity.HIGH,
            "REINDEX locks the table against writes and the index against every query that would use it, "
            "for the whole rebuild.",
            "Use REINDEX ... CONCURRENTLY (PostgreSQL 12+), outside a transaction block.",
        ),
        _R(
            "migrations.column.not-null-without-default",
            "NOT NULL column added without a default",
            Severity.HIGH,
            "Adding a NOT NULL column without a default fails on any table that has rows, and the code "
            "deployed before the migration does not write the column.",
            "Add the column with a constant DEFAULT (PostgreSQL 11+ stores it without a rewrite), or add it "
            "nullable, backfill in batches and then make it NOT NULL the safe way.",
        ),
        _R(
            "migrations.column.volatile-default",
            "Column added with a volatile default",
            Severity.HIGH,
            "A default whose value differs per row (random(), clock_timestamp(), gen_random_uuid(), nextval()) "
            "makes PostgreSQL rewrite the whole table under an ACCESS EXCLUSIVE lock: no reads, no writes "
            "until every row is written again.",
            "Add the column without a default (or with a constant one), set the volatile default with ALTER "
            "COLUMN ... SET DEFAULT for new rows, and backfill existing rows in batches.",
        ),
        _R(
            "migrations.column.add-auto-increment",
            "Auto-incrementing or generated column added to an existing table",
            Severity.HIGH,
            "Adding a serial/bigserial, identity or STORED generated column fills every existing row: a full "
            "rewrite of the table under an ACCESS EXCLUSIVE lock.",
            "Create a new table with the column and copy in batches, or add a plain nullable column, backfill "
            "it in batches and attach the sequence with SET DEFAULT nextval(...) afterwards.",
        ),
        _R(
            "migrations.column.type-change",
            "Column type changed",
            Severity.HIGH,
            "ALTER COLUMN ... TYPE rewrites the table and its indexes under an ACCESS EXCLUSIVE lock for most "
            "changes (int to bigint, varchar(100) to varchar(50), any USING clause, a new collation). Changes "
            "PostgreSQL makes without a rewrite are not flagged when the column's earlier type is in the "
            "migrations read: varchar(n) to a longer varchar or to text, a numeric's precision raised with the "
            "same scale or its limit dropped, and the casts in rules/migrations/rules.yml.",
            "Add a new column of the new type, write both from the code, backfill in batches, switch reads, "
            "then drop the old column. When the change is a free one but its earlier type was declared outside "
            "the migrations read, include that migration in checks.migrations.paths.",
        ),
        _R(
            "migrations.column.add-foreign-key",
            "Column added with an inline REFERENCES",
            Severity.HIGH,
            "ADD COLUMN ... REFERENCES adds a validated foreign key: PostgreSQL checks the table's rows while it "
            "holds an ACCESS EXCLUSIVE lock on the altered table and a SHARE ROW EXCLUSIVE lock on the "
            "referenced one, so writes to both wait (and every query on the altered table). A column "
            "constraint cannot be NOT VALID.",
            "Add the column without REFERENCES, then ALTER TABLE ... ADD CONSTRAINT name FOREIGN KEY (column) "
            "REFERENCES other (id) NOT VALID, then VALIDATE CONSTRAINT name in a later statement.",
        ),
        _R(
            "migrations.constraint.foreign-key-not-valid",
            "Foreign key added without NOT VALID",
            Severity.HIGH,
            "ADD FOREIGN KEY checks every existing row while holding a SHARE ROW EXCLUSIVE lock on both "
            "tables: writes to either table wait for the whole scan.",
            "Add the constraint with NOT VALID (only new rows are checked, the lock is brief), then run "
            "ALTER TABLE ... VALIDATE CONSTRAINT in a later statement, which allows writes while it scans.",
        ),
        _R(
            "migrations.constraint.check-not-valid",
            "Check constraint added without NOT VALID",
            Severity.HIGH,
            "ADD CONSTRAINT ... CHECK scans the whole table under an ACCESS EXCLUSIVE lock.",
            "Add it with NOT VALID, then ALTER TABLE ... VALIDATE CONSTRAINT separately (a SHARE UPDATE "
            "EXCLUSIVE lock: reads and writes go on).",
        ),
        _R(
            "migrations.column.set-not-null",
            "SET NOT NULL without a validated check constraint",
            Severity.HIGH,
            "ALTER COLUMN ... SET NOT NULL scans the whole table under an ACCESS EXCLUSIVE lock, unless a "
            "validated CHECK (column IS NOT NULL) constraint already proves it (PostgreSQL 12+).",
            "First ADD CONSTRAINT name CHECK (column IS NOT NULL) NOT VALID, then VALIDATE CONSTRAINT name, "
            "then SET NOT NULL (instant), then DROP CONSTRAINT name.",
        ),
        _R(
            "migrations.constraint.unique-without-index",
            "Unique or primary key constraint built in place",
            Severity.HIGH,
            "ADD CONSTRAINT ... UNIQUE / PRIMARY KEY builds its index while holding an ACCESS EXCLUSIVE lock: "
            "no reads or writes for the whole build.",
            "CREATE UNIQUE INDEX CONCURRENTLY name ON table (columns), then ALTER TABLE ... ADD CONSTRAINT "
            "name UNIQUE USING INDEX name (or PRIMARY KEY USING INDEX), which is instant.",
        ),
        _R(
            "migrations.constraint.exclusion",
            "Exclusion constraint added to an existing table",
            Severity.HIGH,
            "ADD CONSTRAINT ... EXCLUDE builds its index and checks every row under an ACCESS EXCLUSIVE lock; "
            "unlike UNIQUE it cannot be attached from an index built CONCURRENTLY.",
            "Add it in a maintenance window, or build a new table with the constraint, copy in batches and "
            "swap the tables.",
        ),
        _R(
            "migrations.rename.column",
            "Column renamed",
            Severity.HIGH,
            "The code running during and right after the deploy still uses the old name: every query that "
            "names it fails until the new code is everywhere.",
            "Add the new column, write both, backfill, move reads, then drop the old column in a later "
            "deploy (or use a view with the old name while both versions run).",
        ),
        _R(
            "migrations.rename.table",
            "Table renamed",
            Severity.HIGH,
            "The code still running during the deploy queries the old table name and fails.",
            "Create the new table (or a view with the new name), move the code to it, and rename or drop in a "
            "later deploy once no running code names the old table.",
        ),
        _R(
            "migrations.drop.column",
            "Column dropped",
            Severity.HIGH,
            "Code deployed before the migration (and ORMs that list every column in SELECT) still reads the "
            "column: its queries fail the moment it is gone, and the data cannot be brought back.",
            "First deploy code that no longer uses the column (Django: remove the field with "
            "SeparateDatabaseAndState; Rails: ignored_columns), then drop it in a later migration.",
        ),
        _R(
            "migrations.drop.table",
            "Table dropped",
            Severity.HIGH,
            "Code still running may query the table; the data is gone for good once the migration runs.",
            "Deploy code that no longer uses the table first, take a backup of it, then drop it in a later migration.",
        ),
        _R(
            "migrations.lock-timeout.missing",
            "No lock_timeout before a statement that takes a lock",
            Severity.MEDIUM,
            "Without lock_timeout a migration waits for its lock as long as any transaction holds the table." + _QUEUE,
            "Start the migration with SET lock_timeout = '2s' (and retry the deploy if it times out); in a "
            "transaction SET LOCAL lock_timeout works too.",
        ),
        _R(
            "migrations.table.rewrite",
            "VACUUM FULL or CLUSTER in a migration",
            Severity.HIGH,
            "VACUUM FULL and CLUSTER rewrite the whole table under an ACCESS EXCLUSIVE lock: no reads, no "
            "writes until they finish.",
            "Run them in a maintenance window, or use pg_repack / pg_squeeze, which rewrite online.",
        ),
        _R(
            "migrations.table.truncate",
            "TRUNCATE in a migration",
            Severity.HIGH,
            "TRUNCATE takes an ACCESS EXCLUSIVE lock: every read and write of the table waits, and it waits for "
            "every running query on the table." + _QUEUE + " The rows are gone for good, with CASCADE those "
            "of every referencing table too.",
            "Delete the rows the deploy must remove in batches (DELETE ... WHERE id IN (SELECT ... LIMIT 1000)), "
            "outside the migration; empty a table only once no running code reads it.",
        ),
        _R(
            "migrations.table.set-tablespace",
            "Table moved to another tablespace",
            Severity.HIGH,
            "ALTER TABLE ... SET TABLESPACE copies the whole table (ALTER INDEX ... SET TABLESPACE the index) "
            "to the new tablespace under an ACCESS EXCLUSIVE lock: no reads, no writes until the copy ends.",
            "Move it in a maintenance window, or with pg_repack --tablespace, which copies online; new tables "
            "can be created in the tablespace directly.",
        ),
        _R(
            "migrations.table.set-logged",
            "Table switched to LOGGED or UNLOGGED",
            Severity.HIGH,
            "SET LOGGED and SET UNLOGGED rewrite the whole table (and SET LOGGED writes all of it to the WAL) "
            "under an ACCESS EXCLUSIVE lock: no reads, no writes until it finishes.",
            "Do it in a maintenance window, or create a new table of the wanted kind, copy in batches and "
            "swap the tables.",
        ),
        _R(
            "migrations.enum.add-value-in-transaction",
            "Enum value added where PostgreSQL refuses it",
            Severity.HIGH,
            "Before PostgreSQL 12, ALTER TYPE ... ADD VALUE cannot run inside a transaction block; from 12 on "
            'it can, but the new value cannot be used until that transaction commits ("unsafe use of new '
            'value"). Either way the migration fails halfway through the deploy. Django and Alembic wrap a '
            "migration in a transaction unless told not to.",
            "Add the value in a migration of its own, outside a transaction (Django: atomic = False; Alembic: "
            "op.get_context().autocommit_block()), and use it in a later migration.",
        ),
        _R(
            "migrations.command.untrusted",
            "Migration command not run in a pull request",
            Severity.CRITICAL,
            "The command that prints the migrations' SQL comes from gate.yml; a pull request that changes it "
            "would run code of its own choosing in CI, and in a pull_request_target job (which holds the "
            "repository's secrets) even the base's command would run the PR's code. The gate runs neither, "
            "so the SQL that command prints was not judged.",
            "Merge the gate.yml change on its own first (reviewed); run the gate in a pull_request job, not "
            "pull_request_target, or list the SQL files in checks.migrations.paths.",
        ),
    ],
)
