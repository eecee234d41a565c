"""Restores a pg_dump backup into an empty database as a role that is not a superuser, and answers
the sanity queries with psql.

Custom-format dumps are first turned into SQL by pg_restore (without owners and grants), so one
scan (gate.checks.restore.sqlscan) reads every backup before psql replays it. The role owns only
its database: `COPY ... PROGRAM`, server file reads, untrusted languages and C functions all need a
superuser and fail, whatever the scan missed.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import subprocess
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from gate.bounded_process import run_bounded
from gate.checks.restore.database import tool_words
from gate.errors import CheckFailure
from gate.postgres import find_binary
from gate.redact import register

# Errors a dump made with owners and grants raises in a server that lacks those roles; the data
# still restores, so they are not a failed restore.
_OWNERSHIP_ERRORS = re.compile(
    r'role "[^"]*" does not exist|must be owner of|must be able to SET ROLE|must be member of role'
)
_TIME_TYPES = ("timestamp with time zone", "timestamp without time zone", "date")


@dataclass(frozen=True)
class Target:
    dsn: str
    password: str | None
    timeout: float

    def env(self) -> dict[str, str]:
        # The workflow's PGPASSWORD reaches a declared server; the scratch role's own wins for it.
        env = dict(os.environ)
        if self.password:
            env["PGPASSWORD"] = self.password
        return env


def _run(args: list[str], target: Target, what: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            args, input=stdin, capture_output=True, text=True, errors="replace",
            timeout=target.timeout, env=target.env(), check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired as exc:
        raise CheckFailure(f"{what} did not finish within {target.timeout:.0f}s") from exc


def _psql(target: Target, sql: str, variables: Mapping[str, str] | None = None, *, what: str = "psql") -> list[str]:
    args = [str(find_binary("psql")), "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1", "-d", target.dsn, "-f", "-"]
    for name, value in (variables or {}).items():
        args[1:1] = ["-v", f"{name}={value}"]
    done = _run(args, target, what, stdin=sql)
    if done.returncode != 0:
        raise CheckFailure(f"{what} failed: {tool_words(done.stderr)}")
    return [line for line in done.stdout.splitlines() if line]


@contextmanager
def scratch_database(admin_dsn: str, timeout: float) -> Iterator[Target]:
    """A fresh database owned by a fresh login role without superuser rights; both dropped after."""
    admin = Target(admin_dsn, None, timeout)
    suffix = secrets.token_hex(4)
    role, database, password = f"gate_restore_{suffix}", f"gate_restore_{suffix}", secrets.token_urlsafe(18)
    register(password)
    _psql(
        admin,
        "CREATE ROLE :\"role\" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'password';\n"
        'CREATE DATABASE :"database" OWNER :"role";\n',
        {"role": role, "database": database, "password": password},
        what="creating the restore database",
    )
    parts = urlsplit(admin_dsn)
    netloc = f"{role}@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    try:
        yield Target(urlunsplit((parts.scheme, netloc, f"/{database}", parts.query, "")), password, timeout)
    finally:
        # A throw-away server goes with its folder; a shared one keeps a named leftover.
        with contextlib.suppress(CheckFailure):
            _psql(
                admin,
                'DROP DATABASE IF EXISTS :"database" WITH (FORCE);\nDROP ROLE IF EXISTS :"role";\n',
                {"role": role, "database": database},
                what="dropping the restore database",
            )


def custom_to_sql(dump: Path, out: Path, timeout: float, max_bytes: int) -> Path:
    """pg_restore's SQL for a custom-format dump, without owners and grants (pg_restore's words on failure).

    A compressed dump can expand a hundredfold: the SQL is bounded by `max_bytes`.
    """
    sql = out / "from-custom.sql"
    args = [str(find_binary("pg_restore")), "--no-owner", "--no-privileges", "-f", "-", str(dump)]
    done = run_bounded(
        args, what="pg_restore", cwd=out, env=Target("", None, 0).env(), timeout=timeout, max_bytes=max_bytes,
        stdout_file=sql,
    )  # fmt: skip
    if done.code != 0:
        raise CheckFailure(f"pg_restore could not read the backup: {tool_words(done.stderr)}")
    return sql


def replay(sql: Path, target: Target) -> None:
    """psql replays the SQL; an error other than a missing owner or grant role fails the restore."""
    args = [str(find_binary("psql")), "-X", "-q", "-v", "ON_ERROR_STOP=0", "-d", target.dsn, "-f", str(sql)]
    done = _run(args, target, "psql restoring the backup")
    errors = [line for line in done.stderr.splitlines() if "ERROR:" in line or "FATAL:" in line]
    real = [line for line in errors if not _OWNERSHIP_ERRORS.search(line)]
    if done.returncode != 0 or real:
        raise CheckFailure(f"psql could not restore the backup: {tool_words(chr(10).join(real) or done.stderr)}")


class RestoredPostgres:
    def __init__(self, target: Target) -> None:
        self.target = target

    def tables(self) -> set[str]:
        sql = (
            "SELECT schemaname || '.' || tablename FROM pg_tables "
            "WHERE schemaname NOT IN ('pg_catalog', 'information_schema');"
        )
        return set(_psql(self.target, sql))

    def find(self, name: str) -> str | None:
        rows = _psql(
            self.target,
            "SELECT n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.oid = to_regclass(:'name') AND c.relkind IN ('r', 'p');",
            {"name": name},
        )
        return rows[0] if rows else None

    def count(self, table: str) -> int:
        schema, _, name = table.partition(".")
        return int(_psql(self.target, 'SELECT count(*) FROM :"schema".:"name";', {"schema": schema, "name": name})[0])

    def newest_age(self, table: str, column: str) -> float | None:
        schema, _, name = table.partition(".")
        names = {"schema": schema, "name": name, "column": column}
        kind = _psql(
            self.target,
            "SELECT data_type FROM information_schema.columns "
            "WHERE table_schema = :'schema' AND table_name = :'name' AND column_name = :'column';",
            names,
        )
        if not kind or kind[0] not in _TIME_TYPES:
            return None
        age = _psql(
            self.target, 'SELECT extract(epoch FROM now() - max(:"column")::timestamptz) FROM :"schema".:"name";', names
        )
        return float(age[0]) if age else None
