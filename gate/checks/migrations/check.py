"""The `migrations` check: would a migration stop live traffic while it runs?

SQL migration files (gate.yml globs) and the SQL a declared command prints (Django's sqlmigrate,
Alembic's offline --sql) are parsed by PostgreSQL's own parser and judged statement by statement;
in a pull request only the migrations it adds are judged.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, ClassVar

import yaml

from gate.checks.base import Check, CheckContext, CheckOption, Result
from gate.checks.migrations import sources
from gate.checks.migrations.rules import RULES
from gate.config.units import seconds
from gate.errors import InputError
from gate.model import Finding, Location
from gate.rules import rules_file

_GLOBS = {"type": "array", "items": {"type": "string", "minLength": 1}}


class MigrationsCheck(Check):
    name = "migrations"
    summary = "Database migrations that would lock tables or break running code during a deploy (PostgreSQL)."
    rules = tuple(RULES)
    options = (
        CheckOption("--path", "paths", "Judge the SQL migrations this glob matches (repeatable).", multiple=True),
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
            "command": {
                "type": "array",
                "minItems": 1,
                "items": {"type": "string"},
                "description": "A command (no shell) printing the migrations' SQL, e.g. Alembic's "
                "[alembic, upgrade, head, --sql]. {path}, {stem} and {app} make it run once per file of "
                "command_paths (Django: [python, manage.py, sqlmigrate, '{app}', '{stem}']).",
            },
            "command_paths": {**_GLOBS, "description": "Migration files the command is run for, one at a time."},
            "command_timeout": {"type": "string", "description": "Deadline per command run, e.g. 60s."},
            "diff": {
                "type": ["string", "null"],
                "minLength": 1,
                "description": "Judge only migrations added in BASE...HEAD; `auto`: a GitHub pull request's.",
            },
            "code": {**_GLOBS, "description": "Code searched for names a migration drops or renames."},
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
        if "command_timeout" in ctx.config:
            seconds(str(ctx.config["command_timeout"]))

    def run(self, ctx: CheckContext) -> Iterator[Result]:
        from gate.checks.migrations.analyze import Analyzer, Tunables
        from gate.checks.migrations.gather import gather

        data = yaml.safe_load(rules_file("migrations", "rules.yml").read_text())
        tunables = Tunables(
            *(frozenset(data[key]) for key in ("volatile_functions", "serial_types", "lock_timeout_settings"))
        )
        migrations, refused = gather(ctx)
        yield from refused
        findings = list(Analyzer(tunables).judge(migrations))
        yield from _with_code_uses(ctx, findings)


def _with_code_uses(ctx: CheckContext, findings: Sequence[Finding]) -> Iterator[Finding]:
    from dataclasses import replace

    from gate.checks.migrations.usage import first_uses

    dropped = {"migrations.drop.column", "migrations.drop.table", "migrations.rename.column", "migrations.rename.table"}
    names = {str(f.details.get("column") or f.details.get("table")) for f in findings if f.rule_id in dropped}
    uses = first_uses(ctx.root, list(ctx.config.get("code", ())), names) if names else {}
    for finding in findings:
        name = str(finding.details.get("column") or finding.details.get("table") or "")
        if finding.rule_id in dropped and name in uses:
            message = f"{finding.message} The code still names it at {uses[name]}."
            yield replace(finding, message=message, details={**finding.details, "used_at": uses[name]})
        else:
            yield finding


def refused_command(command: Sequence[str]) -> Finding:
    return RULES.finding(
        "migrations.command.untrusted",
        f"The pull request's gate.yml declares the migrations command {' '.join(command)[:200]!r}, which the "
        "base commit's gate.yml does not; it was not run and its SQL was not judged.",
        location=Location(name="checks.migrations.command"),
    )
