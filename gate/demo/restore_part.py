"""The demo's backup: last night's job stopped three days ago, so the restore drill finds stale data.

The restore check replays the plain-SQL backup into a throw-away PostgreSQL, which needs the
server's binaries (initdb, pg_ctl, psql): without them this part is left out, and the console says
so. Starting the server takes about a second and runs beside the other checks.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click

from gate.errors import CheckFailure
from gate.postgres import find_binary

BACKUP = "backups/nightly.sql"
STALE_BY = timedelta(days=3)


def backup_sql(now: datetime) -> str:
    newest = now - STALE_BY
    rows = ",\n".join(
        f"  ({n}, 'customer{n}@example.com', {1900 + n * 100}, '{(newest - timedelta(hours=n)).isoformat()}')"
        for n in range(5)
    )
    return (
        "-- pg_dump --format=plain, as the nightly job last wrote it.\n"
        "CREATE TABLE public.orders (id bigint PRIMARY KEY, email text NOT NULL, total_cents integer NOT NULL,\n"
        "  created_at timestamp with time zone NOT NULL);\n"
        f"INSERT INTO public.orders (id, email, total_cents, created_at) VALUES\n{rows};\n"
    )


def missing_binary() -> str | None:
    """The first PostgreSQL program the restore needs that is not installed, else None."""
    for name in ("initdb", "pg_ctl", "psql"):
        try:
            find_binary(name)
        except CheckFailure:
            return name
    return None


def plant(root: Path, stack: contextlib.ExitStack) -> Mapping[str, Any]:
    missing = missing_binary()
    if missing is not None:
        click.echo(
            f"demo: the restore drill is left out: PostgreSQL's {missing} is not installed "
            "(Debian: apt-get install postgresql); see docs/restore.md",
            err=True,
        )
        return {}
    (root / BACKUP).parent.mkdir(parents=True, exist_ok=True)
    (root / BACKUP).write_text(backup_sql(datetime.now(UTC)))
    table = {"name": "orders", "min_rows": 1, "newest": "created_at"}
    return {"checks": {"restore": {"enabled": True, "backup": BACKUP, "max_age": "26h", "tables": [table]}}}
