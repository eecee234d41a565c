"""The restore check: restore the declared backup into a throw-away PostgreSQL (or open a SQLite
file read-only) and run the declared sanity queries. Could not restore = exit 3 in the tool's words."""

from __future__ import annotations

import ipaddress
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import ExitStack
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit

from gate.checks.base import Check, CheckContext, CheckOption, Result
from gate.checks.restore import postgres_restore, source
from gate.checks.restore.rules import RULES
from gate.checks.restore.sanity import judge
from gate.checks.restore.sqlite_backup import SqliteBackup
from gate.checks.restore.sqlscan import scan
from gate.config.schema import command_properties, duration
from gate.config.units import seconds
from gate.errors import InputError
from gate.model import Location
from gate.postgres import throwaway_server
from gate.redact import register

_LOOPBACK_NAMES = ("localhost",)
# The SQL pg_restore makes of a compressed custom dump may be this many times max_size_mb.
SQL_GROWTH = 8


class RestoreCheck(Check):
    name = "restore"
    summary = "Restore the declared backup into a throw-away PostgreSQL and check its tables, row counts and age."
    rules = RULES.docs
    options = (
        CheckOption(
            "--backup", "backup", "Backup file to restore (pg_dump custom or plain SQL, SQLite).", metavar="FILE"
        ),
        CheckOption(
            "--server",
            "server",
            "Restore into this PostgreSQL (loopback or a CI service name), not a throw-away one.",
            metavar="DSN",
        ),
    )
    config_schema: ClassVar[Mapping[str, Any]] = {
        "properties": {
            "backup": {"type": "string", "minLength": 1, "description": "Backup file, inside the project."},
            **command_properties(
                "An installed program (no shell) whose standard output is the backup.",
                "Deadline of the backup command.",
            ),
            "format": {"enum": list(source.FORMATS), "description": "Backup format; auto reads its first bytes."},
            "server": {"type": "string", "description": "postgresql:// DSN on loopback or a CI service name."},
            "max_age": duration("Backup age budget: the newest row must be younger."),
            "max_size_mb": {"type": "integer", "minimum": 1, "description": "Largest backup read."},
            "restore_timeout": duration("Deadline of each restore step."),
            "tables": {
                "type": "array",
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["name"],
                    "properties": {
                        "name": {"type": "string", "minLength": 1},
                        "min_rows": {"type": "integer", "minimum": 0},
                        "newest": {"type": "string", "minLength": 1, "description": "Timestamp column of new rows."},
                    },
                },
            },
        }
    }

    def prepare(self, ctx: CheckContext) -> None:
        config = ctx.config
        if ("backup" in config) == ("command" in config):
            raise InputError(
                "checks.restore needs exactly one of backup (a file) or command (a program printing the backup)",
                hint="e.g. backup: backups/latest.dump",
            )
        self._max_bytes = int(config.get("max_size_mb", 1024)) * 1024 * 1024
        if "backup" in config:
            self._file: Path | None = source.declared_file(ctx.root, config["backup"], ctx.environ, self._max_bytes)
        else:
            self._file = None
        if "server" in config:
            _require_loopback(config["server"])

    def run(self, ctx: CheckContext) -> Iterator[Result]:
        config, timeout = ctx.config, seconds(ctx.config.get("restore_timeout", "10m"))
        declared = config.get("backup") or "checks.restore.command"
        where = Location(path=declared) if self._file and not Path(declared).is_absolute() else Location(name=declared)
        with ExitStack() as stack:
            work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="gate-restore-")))
            path = self._file
            if path is None:
                ctx.progress.update("running the backup command")
                command_timeout = seconds(config.get("command_timeout", "5m"))
                path = source.command_output(
                    config["command"], ctx.root, work, command_timeout, self._max_bytes, dict(ctx.environ)
                )
            kind = source.detect_format(path, config.get("format", "auto"))
            max_age, tables = seconds(config.get("max_age", "26h")), config.get("tables", [])
            if kind == "sqlite":
                ctx.progress.update("reading the SQLite backup")
                db = SqliteBackup(path, timeout)
                stack.callback(db.close)
                for problem in db.problems():
                    yield RULES.finding("restore.integrity.failed", f"quick_check: {problem}", location=where)
                yield from judge(db, tables, max_age, where)
                return
            ctx.progress.update(f"reading the {kind} backup")
            bound = self._max_bytes * SQL_GROWTH
            sql = postgres_restore.custom_to_sql(path, work, timeout, bound) if kind == "custom" else path
            refusals = scan(sql)
            for refusal in refusals:
                yield RULES.finding(
                    "restore.backup.refused",
                    f"Not restored: the backup's SQL holds a {refusal.what} (line {refusal.line} of its SQL).",
                    location=where,
                    subject=f"{refusal.line}",
                )
            if refusals:
                return
            ctx.progress.update("starting a throw-away PostgreSQL" if "server" not in config else "connecting")
            admin = config.get("server") or stack.enter_context(throwaway_server(timeout)).dsn
            target = stack.enter_context(postgres_restore.scratch_database(admin, timeout))
            ctx.progress.update("restoring the backup")
            postgres_restore.replay(sql, target)
            ctx.progress.update("running the sanity queries")
            yield from judge(postgres_restore.RestoredPostgres(target), tables, max_age, where)


def _require_loopback(dsn: str) -> None:
    """A server on loopback, or a CI service container reached by its one-label name (`postgres`).

    A name with a dot or a routable address could be anyone's database; an untrusted backup is not
    restored there.
    """
    parts = urlsplit(dsn)
    if parts.scheme not in ("postgresql", "postgres") or not parts.hostname:
        raise InputError("checks.restore.server must be a postgresql://user@host:port/database URL")
    if parts.password:
        register(parts.password)
    host = parts.hostname
    try:
        allowed = ipaddress.ip_address(host).is_loopback
    except ValueError:
        allowed = host in _LOOPBACK_NAMES or "." not in host
    if not allowed:
        raise InputError(
            f"checks.restore.server points at {host}; the gate restores untrusted backups only into a server on "
            "loopback or a CI service container named by its service name",
            hint="use 127.0.0.1 (a service with ports: ['5432:5432']) or the service's name (postgres)",
        )
