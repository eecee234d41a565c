"""Each rule fires on the unsafe statement, at its file:line, and stays quiet on the safe rewrite."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gate.checks import rule_docs
from gate.checks.migrations.rules import RULES
from tests.support.helpers import gate, write_files
from tests.support.migration_locks import TYPE_CHANGES

SAFE_TOP = "SET lock_timeout = '2s';\n"
CONFIG = "version: 1\npreset: launch\nchecks:\n  migrations:\n    enabled: true\n    paths: ['db/*.sql']\n"


def findings(
    tmp_path: Path,
    sql: str,
    *,
    code: dict[str, str] | None = None,
    extra: str = "",
    link: tuple[str, str] | None = None,
) -> list[dict]:
    write_files(tmp_path, {"gate.yml": CONFIG + extra, "db/0001_change.sql": sql, **(code or {})})
    if link is not None:  # a symlink among the code is left out of the lookup, not a reason to stop
        (tmp_path / link[0]).symlink_to(link[1])
    outcome = gate("check", "migrations", "--format", "json", cwd=tmp_path)
    assert outcome.exit_code in (0, 1), outcome.output
    return json.loads(outcome.stdout)["findings"]


def rule_lines(found: list[dict]) -> list[tuple[str, int]]:
    return [(f["rule_id"].removeprefix("migrations."), f["location"]["line"]) for f in found]


UNSAFE_AND_SAFE = [
    (
        "index.not-concurrent",
        "CREATE INDEX users_email ON users (email);",
        "CREATE INDEX CONCURRENTLY users_email ON users (email);",
    ),
    ("index.drop-not-concurrent", "DROP INDEX users_email;", "DROP INDEX CONCURRENTLY users_email;"),
    (
        "index.concurrently-in-transaction",
        "BEGIN;\nCREATE INDEX CONCURRENTLY users_email ON users (email);\nCOMMIT;",
        "CREATE INDEX CONCURRENTLY users_email ON users (email);",
    ),
    (
        "column.not-null-without-default",
        "ALTER TABLE users ADD COLUMN plan text NOT NULL;",
        "ALTER TABLE users ADD COLUMN plan text NOT NULL DEFAULT 'free';",
    ),
    (
        "column.volatile-default",
        "ALTER TABLE users ADD COLUMN token uuid DEFAULT gen_random_uuid();",
        "ALTER TABLE users ADD COLUMN token uuid;\nALTER TABLE users ALTER COLUMN token SET DEFAULT gen_random_uuid();",
    ),
    (
        "column.add-auto-increment",
        "ALTER TABLE users ADD COLUMN seq bigserial;",
        "ALTER TABLE users ADD COLUMN seq bigint;",
    ),
    (
        "column.type-change",
        "ALTER TABLE users ALTER COLUMN id TYPE bigint;",
        "ALTER TABLE users ADD COLUMN id_new bigint;",
    ),
    (
        "constraint.foreign-key-not-valid",
        "ALTER TABLE orders ADD CONSTRAINT orders_user FOREIGN KEY (user_id) REFERENCES users (id);",
        "ALTER TABLE orders ADD CONSTRAINT orders_user FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;\n"
        "ALTER TABLE orders VALIDATE CONSTRAINT orders_user;",
    ),
    (
        "constraint.check-not-valid",
        "ALTER TABLE orders ADD CONSTRAINT positive CHECK (total > 0);",
        "ALTER TABLE orders ADD CONSTRAINT positive CHECK (total > 0) NOT VALID;\n"
        "ALTER TABLE orders VALIDATE CONSTRAINT positive;",
    ),
    (
        "column.set-not-null",
        "ALTER TABLE users ALTER COLUMN email SET NOT NULL;",
        "ALTER TABLE users ADD CONSTRAINT email_nn CHECK (email IS NOT NULL) NOT VALID;\n"
        "ALTER TABLE users VALIDATE CONSTRAINT email_nn;\n"
        "ALTER TABLE users ALTER COLUMN email SET NOT NULL;\n"
        "ALTER TABLE users DROP CONSTRAINT email_nn;",
    ),
    (
        "constraint.unique-without-index",
        "ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email);",
        "CREATE UNIQUE INDEX CONCURRENTLY users_email_key ON users (email);\n"
        "ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE USING INDEX users_email_key;",
    ),
    ("rename.column", "ALTER TABLE users RENAME COLUMN email TO mail;", "ALTER TABLE users ADD COLUMN mail text;"),
    ("rename.table", "ALTER TABLE users RENAME TO accounts;", "CREATE VIEW accounts AS SELECT * FROM users;"),
    ("drop.column", "ALTER TABLE users DROP COLUMN legacy;", "SELECT 1;"),
    ("drop.table", "DROP TABLE audit_log;", "SELECT 1;"),
    ("table.rewrite", "VACUUM FULL users;", "VACUUM users;"),
    ("index.reindex-not-concurrent", "REINDEX INDEX users_email;", "REINDEX INDEX CONCURRENTLY users_email;"),
    (
        "constraint.exclusion",
        "ALTER TABLE bookings ADD CONSTRAINT no_overlap EXCLUDE USING gist (room WITH =, during WITH &&);",
        "CREATE TABLE bookings2 (room int, during tstzrange, EXCLUDE USING gist (room WITH =, during WITH &&));",
    ),
    (
        "column.add-foreign-key",
        "ALTER TABLE orders ADD COLUMN user_id bigint REFERENCES users (id);",
        "ALTER TABLE orders ADD COLUMN user_id bigint;\n"
        "ALTER TABLE orders ADD CONSTRAINT orders_user FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;\n"
        "ALTER TABLE orders VALIDATE CONSTRAINT orders_user;",
    ),
    (
        "table.truncate",
        "TRUNCATE audit_log CASCADE;",
        "DELETE FROM audit_log WHERE id IN (SELECT id FROM audit_log ORDER BY id LIMIT 1000);",
    ),
    (
        "table.set-tablespace",
        "ALTER TABLE users SET TABLESPACE fast_disk;",
        "CREATE TABLE archive (id bigint) TABLESPACE fast_disk;",
    ),
    ("table.set-logged", "ALTER TABLE users SET UNLOGGED;", "CREATE UNLOGGED TABLE scratch (id bigint);"),
    ("table.set-logged", "ALTER TABLE users SET LOGGED;", "CREATE TABLE scratch (id bigint);"),
    (
        "enum.add-value-in-transaction",
        "BEGIN;\nALTER TYPE mood ADD VALUE 'calm';\nUPDATE users SET mood = 'calm' WHERE id = 1;\nCOMMIT;",
        "ALTER TYPE mood ADD VALUE 'calm';\nBEGIN;\nUPDATE users SET mood = 'calm' WHERE id = 1;\nCOMMIT;",
    ),
]
# The line each finding sits on, counted from the unsafe SQL's first line, where it is not that one.
FINDING_LINE = {"index.concurrently-in-transaction": 1, "enum.add-value-in-transaction": 2}


@pytest.mark.parametrize(
    ("rule", "unsafe", "safe"), UNSAFE_AND_SAFE, ids=[f"{case[0]}-{case[1][:30]}" for case in UNSAFE_AND_SAFE]
)
def test_each_rule_fires_on_the_unsafe_statement_and_not_on_its_safe_rewrite(
    tmp_path: Path, rule: str, unsafe: str, safe: str
) -> None:
    unsafe_found = rule_lines(findings(tmp_path / "unsafe", SAFE_TOP + "\n" + unsafe))
    assert (rule, 3 + FINDING_LINE.get(rule, 0)) in unsafe_found
    assert rule_lines(findings(tmp_path / "safe", SAFE_TOP + safe)) == []


def test_every_rule_has_a_fix_explain_text_and_a_line_in_the_docs() -> None:
    docs = (Path(__file__).resolve().parents[3] / "docs" / "migrations.md").read_text()
    registered = rule_docs()
    for doc in RULES:
        assert doc.fix and doc.why and doc.id in registered
        assert f"`{doc.id}`" in docs, doc.id
        explained = gate("explain", doc.id)
        assert explained.exit_code == 0 and doc.fix.split(",")[0] in " ".join(explained.stdout.split())


def test_statements_on_a_table_created_in_the_same_migration_are_not_judged(tmp_path: Path) -> None:
    sql = (
        "CREATE TABLE invoices (id bigint PRIMARY KEY, total int);\n"
        "CREATE INDEX invoices_total ON invoices (total);\n"
        "ALTER TABLE invoices ADD COLUMN paid boolean NOT NULL;\n"
        "ALTER TABLE invoices ADD CONSTRAINT positive CHECK (total > 0);\n"
    )
    assert findings(tmp_path, sql) == []


def test_a_missing_lock_timeout_is_reported_once_at_the_first_statement_that_waits_for_a_lock(tmp_path: Path) -> None:
    sql = "-- a flag\nSELECT 1;\nALTER TABLE users ADD COLUMN flag boolean;\nALTER TABLE users ADD COLUMN other int;\n"
    assert rule_lines(findings(tmp_path / "a", sql)) == [("lock-timeout.missing", 3)]
    assert findings(tmp_path / "b", "SET lock_timeout = 0;\n" + sql)[0]["rule_id"] == "migrations.lock-timeout.missing"
    assert findings(tmp_path / "c", "SET LOCAL lock_timeout TO '5s';\n" + sql) == []


def test_set_local_ends_with_its_transaction_and_a_savepoint_does_not_end_it(tmp_path: Path) -> None:
    sql = (
        "BEGIN;\nSET LOCAL lock_timeout = '2s';\nSAVEPOINT before_index;\n"
        "CREATE INDEX CONCURRENTLY users_email ON users (email);\nCOMMIT;\n"
        "ALTER TABLE users ADD COLUMN flag boolean;\n"
    )
    assert rule_lines(findings(tmp_path, sql)) == [
        ("index.concurrently-in-transaction", 4),
        ("lock-timeout.missing", 6),
    ]


def test_a_volatile_call_deep_inside_a_default_is_found(tmp_path: Path) -> None:
    sql = SAFE_TOP + "ALTER TABLE users ADD COLUMN score int DEFAULT (1 + " + "1 + " * 3000 + "(random() * 10)::int);"
    assert rule_lines(findings(tmp_path, sql)) == [("column.volatile-default", 2)]


def test_a_dropped_column_still_named_in_code_says_where(tmp_path: Path) -> None:
    found = findings(
        tmp_path,
        SAFE_TOP + "ALTER TABLE users DROP COLUMN legacy_plan;",
        code={"app/models.py": "class User:\n    legacy_plan = Column(Text)\n", "app/other.py": "legacy_planner = 1\n"},
        link=("app/linked.py", "/etc/hostname"),
        extra="    code: ['app/**/*.py']\n",
    )
    assert found[0]["details"]["used_at"] == "app/models.py:2"
    assert "still names it at app/models.py:2" in found[0]["message"]


def test_a_migration_that_does_not_parse_is_exit_2_naming_file_line_and_the_parser(tmp_path: Path) -> None:
    write_files(tmp_path, {"gate.yml": CONFIG, "db/0001.sql": SAFE_TOP + "\nALTER TABLE users ADD COLUM x int;\n"})
    outcome = gate("check", "migrations", cwd=tmp_path)
    assert outcome.exit_code == 2, outcome.output
    assert "db/0001.sql:3" in outcome.output and 'syntax error at or near "int"' in outcome.output


def test_the_presets_warn_on_a_prototype_and_block_at_launch(tmp_path: Path) -> None:
    sql = SAFE_TOP + "CREATE INDEX users_email ON users (email);"
    write_files(tmp_path, {"gate.yml": CONFIG.replace("launch", "prototype"), "db/0001.sql": sql})
    assert gate("check", "migrations", cwd=tmp_path).exit_code == 0
    write_files(tmp_path, {"gate.yml": CONFIG})
    assert gate("check", "migrations", cwd=tmp_path).exit_code == 1


@pytest.mark.parametrize(
    ("declared", "changed", "rewrites"), TYPE_CHANGES, ids=[f"{old}->{new}" for old, new, _ in TYPE_CHANGES]
)
def test_a_type_change_is_flagged_only_when_postgresql_rewrites_the_table(
    tmp_path: Path, declared: str, changed: str, rewrites: bool
) -> None:
    """The earlier type comes from an older migration; the lock tests prove each verdict on a real server."""
    found = findings(
        tmp_path,
        SAFE_TOP + f"ALTER TABLE accounts ALTER COLUMN c TYPE {changed};",
        code={"db/0000_init.sql": f"CREATE TABLE accounts (id bigint, c {declared});"},
    )
    assert rule_lines(found) == ([("column.type-change", 2)] if rewrites else [])
    if rewrites:
        assert "rewrites the table" in found[0]["message"] or "USING" in found[0]["message"]


def test_a_type_change_follows_earlier_changes_and_flags_using_collation_and_unknown_columns(tmp_path: Path) -> None:
    sql = SAFE_TOP + (
        "ALTER TABLE accounts ALTER COLUMN c TYPE varchar(100);\n"  # 50 -> 100: free
        "ALTER TABLE accounts ALTER COLUMN c TYPE varchar(80);\n"  # 100 -> 80: checks and rewrites
        "ALTER TABLE accounts ALTER COLUMN c TYPE text USING trim(c);\n"
        'ALTER TABLE accounts ALTER COLUMN c TYPE text COLLATE "C";\n'
        "ALTER TABLE accounts ALTER COLUMN unknown TYPE text;\n"
    )
    init = "CREATE TABLE accounts (id bigint);\nALTER TABLE accounts ADD COLUMN c varchar(50);"
    found = findings(tmp_path, sql, code={"db/0000_init.sql": init})
    assert rule_lines(found) == [("column.type-change", line) for line in (3, 4, 5, 6)]
    assert "varchar(100) to varchar(80)" in found[0]["message"]
    assert "USING" in found[1]["message"] and "collation" in found[2]["message"]
    assert "earlier type is not in the migrations read" in found[3]["message"]


def test_an_enum_value_added_in_a_transaction_is_refused_before_postgresql_12_only(tmp_path: Path) -> None:
    sql = SAFE_TOP + "BEGIN;\nALTER TYPE mood ADD VALUE 'calm';\nCOMMIT;\n"
    old = findings(tmp_path / "11", sql, extra="    postgres_version: 11\n")
    assert rule_lines(old) == [("enum.add-value-in-transaction", 3)] and "PostgreSQL 11" in old[0]["message"]
    assert findings(tmp_path / "16", sql, extra="    postgres_version: 16\n") == []
    assert findings(tmp_path / "unset", sql) == []
    outside = SAFE_TOP + "ALTER TYPE mood ADD VALUE 'calm';\n"
    assert findings(tmp_path / "outside", outside, extra="    postgres_version: 11\n") == []
