"""Backups made the way users make them: pg_dump from a real server seeded with data, and sqlite3."""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

from gate.postgres import find_binary, throwaway_server
from tests.support.helpers import write_files

SEED = """
CREATE TABLE users (id serial PRIMARY KEY, email text NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE orders (id serial PRIMARY KEY, user_id int REFERENCES users, placed_at timestamptz NOT NULL);
INSERT INTO users (email, created_at) SELECT 'user' || n || '@example.com', now() - make_interval(hours => {age} + n)
  FROM generate_series(1, 50) AS n;
INSERT INTO orders (user_id, placed_at) SELECT n, now() - make_interval(hours => {age})
  FROM generate_series(1, 20) AS n;
"""


def psql(dsn: str, sql: str) -> None:
    subprocess.run([str(find_binary("psql")), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", dsn, "-c", sql], check=True,
                   capture_output=True, timeout=60)  # fmt: skip


def make_dumps(folder: Path, *, age_hours: int = 0, tables: bool = True) -> dict[str, Path]:
    """A custom-format and a plain dump of one freshly seeded database (rows `age_hours` old)."""
    folder.mkdir(parents=True, exist_ok=True)
    with throwaway_server() as server:
        if tables:
            psql(server.dsn, SEED.format(age=age_hours))
        pg_dump = str(find_binary("pg_dump"))
        dumps = {"custom": folder / "backup.dump", "plain": folder / "backup.sql"}
        subprocess.run([pg_dump, "-Fc", "-f", str(dumps["custom"]), server.dsn], check=True, timeout=60)
        subprocess.run([pg_dump, "-Fp", "-f", str(dumps["plain"]), server.dsn], check=True, timeout=60)
    return dumps


def make_sqlite(path: Path, *, age_hours: int = 0) -> Path:
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT, created_at TEXT)")
    db.executemany(
        "INSERT INTO users (email, created_at) VALUES (?, datetime('now', ?))",
        [(f"u{n}@example.com", f"-{age_hours + n} hours") for n in range(10)],
    )
    db.commit()
    db.close()
    return path


def project(root: Path, backup: str, *, tables: str = "", extra: str = "") -> Path:
    """A project whose gate.yml declares the backup and its sanity queries."""
    declared = tables or (
        "      - {name: users, min_rows: 10, newest: created_at}\n      - {name: public.orders, min_rows: 5}\n"
    )
    config = (
        "version: 1\npreset: launch\nchecks:\n  restore:\n    enabled: true\n"
        f"    backup: {backup}\n    max_age: 26h\n{extra}    tables:\n{declared}"
    )
    return write_files(root, {"gate.yml": config})


def psql_rows(dsn: str, sql: str) -> list[str]:
    done = subprocess.run([str(find_binary("psql")), "-X", "-A", "-t", "-d", dsn, "-c", sql], check=True,
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    return done.stdout.split()
