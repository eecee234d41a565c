"""The demo's database migrations: a safe first one, then the kind that takes a live app down."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

CREATE_USERS = """\
SET lock_timeout = '2s';
CREATE TABLE users (id bigserial PRIMARY KEY, email text NOT NULL, legacy_plan text);
-- Safe: the table is new and empty, nothing reads it yet.
CREATE INDEX users_email ON users (email);
"""

# Each statement here locks `users` while the app serves traffic.
SPEED_UP_LOGIN = """\
CREATE INDEX users_email_lower ON users (lower(email));
ALTER TABLE users ADD COLUMN api_token uuid DEFAULT gen_random_uuid();
ALTER TABLE users DROP COLUMN legacy_plan;
"""

CODE = """\
export async function plan(db, id) {
  return db.query("SELECT legacy_plan FROM users WHERE id = $1", [id]);
}
"""


def plant(root: Path, stack: contextlib.ExitStack) -> Mapping[str, Any]:
    folder = root / "db" / "migrations"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "0001_create_users.sql").write_text(CREATE_USERS)
    (folder / "0002_speed_up_login.sql").write_text(SPEED_UP_LOGIN)
    (root / "src").mkdir(exist_ok=True)
    (root / "src" / "plans.ts").write_text(CODE)
    return {"checks": {"migrations": {"enabled": True, "paths": ["db/migrations/*.sql"], "code": ["src/**/*.ts"]}}}
