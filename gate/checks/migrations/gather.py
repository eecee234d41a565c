"""Which migrations one run judges: the matched files, and what the declared command prints.

In a pull request (`diff`, or `auto` inside a GitHub pull_request run) only files the PR adds
are judged; the command runs only if the base commit's gate.yml declares the same one.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import PurePosixPath

from gate.checks.base import CheckContext
from gate.checks.migrations import origins, sources
from gate.checks.migrations.parse import Migration, parse_migration
from gate.checks.migrations.rules import RULES
from gate.config.units import seconds
from gate.errors import InputError
from gate.model import Finding, Location

DEFAULT_MAX_BYTES = 5_000_000
DEFAULT_COMMAND_TIMEOUT = "120s"


def gather(ctx: CheckContext) -> tuple[list[Migration], list[Finding]]:
    config, root = ctx.config, ctx.root
    max_bytes = int(config.get("max_bytes", DEFAULT_MAX_BYTES))
    revisions = diff_range(config.get("diff"), ctx.environ)
    added = sources.added_files(root, revisions) if revisions else None

    def judged(paths: Sequence[str]) -> list[str]:
        return [path for path in paths if added is None or path in added]

    migrations = _sql_files(ctx, added, max_bytes)
    command: list[str] = list(config.get("command", ()))
    if not command:
        return migrations, []
    if revisions and not sources.trusted_command(root, ctx.config_path, sources.base_of(revisions), command):
        return migrations, [refused_command(command, "which the base commit's gate.yml does not")]
    if (
        revisions
        and ctx.environ.get("GITHUB_EVENT_NAME") == "pull_request_target"
        and sources.commit_of(root, "HEAD") != sources.commit_of(root, sources.base_of(revisions))
    ):
        # pull_request_target jobs hold the repository's secrets: the PR's code must not run in them.
        return migrations, [refused_command(command, "in a pull_request_target job, with the PR's code checked out")]
    timeout = seconds(str(config.get("command_timeout", DEFAULT_COMMAND_TIMEOUT)))
    targets: list[str | None] = list(
        judged(sources.matched_files(root, config.get("command_paths", ()), "checks.migrations.command_paths"))
    )
    if not config.get("command_paths"):
        targets = [None]
    for done, target in enumerate(targets):
        argv = [_expand(part, target) for part in command]
        ctx.progress.update(f"running {argv[0]}", done, len(targets))
        printed = sources.run_command(root, argv, ctx.environ, timeout, max_bytes)
        sections = (
            origins.django_sections(root, target, printed, max_bytes)
            if target
            else origins.alembic_sections(root, argv, printed, max_bytes)
        )
        migrations.append(parse_migration(target or "", printed, " ".join(argv)[:200], sections))
    return migrations, []


def _sql_files(ctx: CheckContext, added: set[str] | None, max_bytes: int) -> list[Migration]:
    """The SQL files gate.yml names, in the order they apply. In a pull request the older ones are read
    too, for what they established (a validated IS NOT NULL check), but not judged; one that no longer
    parses is left out, as it was judged when it was added."""
    patterns = list(ctx.config.get("paths", ()))
    matched = sources.matched_files(ctx.root, patterns, "checks.migrations.paths")
    if patterns and not matched:
        raise InputError(
            f"checks.migrations.paths ({', '.join(patterns)}) matched no file",
            hint="correct the globs (relative to the repository), or disable the check until there are migrations",
        )
    migrations: list[Migration] = []
    for done, relative in enumerate(matched):
        ctx.progress.update("parsing migrations", done, len(matched))
        if added is None or relative in added:
            migrations.append(parse_migration(relative, sources.read_migration(ctx.root, relative, max_bytes)))
            continue
        with contextlib.suppress(InputError):
            text = sources.read_migration(ctx.root, relative, max_bytes)
            migrations.append(replace(parse_migration(relative, text), judged=False))
    return migrations


def refused_command(command: Sequence[str], why: str) -> Finding:
    return RULES.finding(
        "migrations.command.untrusted",
        f"The pull request asks to run the migrations command {' '.join(command)[:200]!r} {why}; it was not "
        "run and its SQL was not judged.",
        location=Location(name="checks.migrations.command"),
    )


def _expand(part: str, target: str | None) -> str:
    """{path}, {stem} and {app} (the folder above `migrations/`, Django's app label) of one migration file."""
    if target is None:
        return part
    pure = PurePosixPath(target)
    app = pure.parent.parent.name if pure.parent.name == "migrations" else pure.parent.name
    return part.replace("{path}", target).replace("{stem}", pure.stem).replace("{app}", app)


def diff_range(value: str | None, environ: Mapping[str, str]) -> str | None:
    """`auto`: the pull request's base...head from the GitHub event (SHAs checked to be hex)."""
    if value != "auto":
        return value
    from gate.github.context import read_context

    context = read_context(environ)
    if context is None or context.pr_number is None or not context.base_sha or not context.pr_head_sha:
        return None
    return f"{context.base_sha}...{context.pr_head_sha}"
