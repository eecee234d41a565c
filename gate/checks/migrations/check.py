"""The `migrations` check: would a migration stop live traffic while it runs?

SQL migration files (gate.yml globs) and the SQL a declared command prints (Django's sqlmigrate,
Alembic's offline --sql) are parsed by PostgreSQL's own parser and judged statement by statement;
in a pull request only the migrations it adds are judged.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

from gate.checks.base import Check, CheckContext, CheckOption, Result
from gate.checks.migrations import sources
from gate.checks.migrations.rules import RULES
from gate.config.schema import command_properties
from gate.errors import InputError

_GLOBS = {"$ref": "#/$defs/globs"}


class MigrationsCheck(Check):
    name = "migrations"
    summary = "Database migrations that would lock tables or break running code during a deploy (PostgreSQL)."
    rules = tuple(RULES)
    options = (
        CheckOption(
            "--path", "paths", "Judge the SQL migrations this glob matches (repeatable).", multiple=True, metavar="GLOB"
        ),
        CheckOption(
            "--diff",
            "diff",
            "Judge only migrations added in BASE...HEAD (`auto`: the pull request's).",
            metavar="BASE...HEAD",
        ),
    )
    config_schema: ClassVar[Mapping[str, Any]] = {
        "properties": {
            "paths": {**_GLOBS, "description": "Globs of SQL migration files, relative to the repository."},
            **command_properties(
                "A command (no shell) printing the migrations' SQL, e.g. Alembic's [alembic, upgrade, head, "
                "--sql]. {path}, {stem} and {app} make it run once per file of command_paths (Django: [python, "
                "manage.py, sqlmigrate, '{app}', '{stem}']).",
                "Deadline per command run, e.g. 60s.",
            ),
            "command_paths": {**_GLOBS, "description": "Migration files the command is run for, one at a time."},
            "diff": {
                "type": ["string", "null"],
                "minLength": 1,
                "description": "Judge only migrations added in BASE...HEAD; `auto`: a GitHub pull request's.",
            },
            "code": {**_GLOBS, "description": "Code searched for names a migration drops or renames."},
            "postgres_version": {
                "type": "integer",
                "minimum": 9,
                "maximum": 99,
                "description": "The production server's major version (e.g. 16): rules that differ by version "
                "follow it; unset, a supported version (12 or newer) is assumed.",
            },
            "max_bytes": {"type": "integer", "minimum": 1024, "description": "Largest migration (or output) read."},
        }
    }

    def prepare(self, ctx: CheckContext) -> None:
        for key in ("paths", "command_paths", "code"):
            for pattern in ctx.config.get(key, ()):
                sources.check_glob(pattern, f"checks.migrations.{key}")
        if not ctx.config.get("paths") and not ctx.config.get("command"):
            raise InputError(
                "the migrations check is enabled but gate.yml names no migrations",
                hint="set checks.migrations.paths (SQL files) or checks.migrations.command",
            )
        if ctx.config.get("command_paths") and not ctx.config.get("command"):
            raise InputError("checks.migrations.command_paths is set without checks.migrations.command")

    def run(self, ctx: CheckContext) -> Iterator[Result]:
        from gate.checks.migrations.analyze import Analyzer, Tunables
        from gate.checks.migrations.gather import gather
        from gate.checks.migrations.usage import with_code_uses

        migrations, refused = gather(ctx)
        yield from refused
        findings = list(Analyzer(Tunables.load(), ctx.config.get("postgres_version")).judge(migrations))
        yield from with_code_uses(ctx.root, ctx.config.get("code", ()), findings)
