"""Every rule the restore check can raise: what a backup that does not restore, or restores stale or
empty, means for a launch, and what to do about it."""

from __future__ import annotations

from gate.checks.base import RuleBook, RuleDoc
from gate.model import Severity

RULES = RuleBook(
    "restore",
    [
        RuleDoc(
            "restore.backup.refused",
            "Backup holds commands that run programs or read files",
            Severity.CRITICAL,
            "A plain SQL backup is replayed by psql. `COPY ... PROGRAM` runs a program as the database "
            "server's OS user, and psql meta-commands (`\\!`, `\\copy ... program`, `\\o |cmd`, `\\i`) run "
            "programs or read files as the CI user. A backup with them is either tampered with or not a "
            "pg_dump output; the gate does not replay it.",
            "Make the backup with pg_dump (custom format: `pg_dump -Fc`) and find out who put the command "
            "in the file; restore it nowhere until you know.",
        ),
        RuleDoc(
            "restore.backup.empty",
            "Backup restores no tables",
            Severity.CRITICAL,
            "A backup that restores to an empty database is no backup: the job that makes it dumps the "
            "wrong database, or an empty one, and nobody notices until the day it is needed.",
            "Point the backup job at the production database and check that its output lists your "
            "tables (`pg_restore --list FILE`).",
        ),
        RuleDoc(
            "restore.table.missing",
            "Declared table is not in the restored backup",
            Severity.HIGH,
            "A table the app needs that the backup lacks is data you cannot get back: the dump excludes "
            "it (`--exclude-table`, a schema filter) or dumps another database.",
            "Include the table in the backup job (check its `--table`/`--schema` filters), or correct the "
            "table name in checks.restore.tables.",
        ),
        RuleDoc(
            "restore.table.too-few-rows",
            "Table restored with fewer rows than declared",
            Severity.HIGH,
            "Fewer rows than the floor you declared means the backup is empty, truncated or taken from "
            "the wrong environment (staging instead of production).",
            "Compare the backup with production (`SELECT count(*)`), fix the backup job, or lower "
            "min_rows in checks.restore.tables if the data really shrank.",
        ),
        RuleDoc(
            "restore.data.stale",
            "Newest row is older than the backup age budget",
            Severity.HIGH,
            "The newest row of a table that is written all the time tells when the backup was really "
            "taken. Older than the budget means backups stopped, and a restore would lose everything "
            "since.",
            "Make the backup job run again (check its schedule and its last log), or raise max_age if "
            "the table is written less often than the budget.",
        ),
        RuleDoc(
            "restore.column.missing",
            "Declared freshness column is missing or holds no time",
            Severity.HIGH,
            "The age of the backup is read from the newest value of the declared column; a column that "
            "is missing, not a date or time, or all NULL gives no age, so freshness is not known.",
            "Name a timestamp column that every new row sets (created_at, updated_at) in "
            "checks.restore.tables[].newest.",
        ),
        RuleDoc(
            "restore.integrity.failed",
            "SQLite backup fails its integrity check",
            Severity.CRITICAL,
            "SQLite's `quick_check` found damaged pages or indexes: a restore from this file would lose "
            "or corrupt rows.",
            "Take the backup with `sqlite3 DB '.backup FILE'` (or `VACUUM INTO`), not by copying a "
            "database file that is being written.",
        ),
    ],
)
