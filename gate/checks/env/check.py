"""The `env` check: environment variables against a manifest, per environment.

The manifest (env.manifest.yml, or inline in gate.yml) says which variables exist, their format
and where each is required; the values come from .env files, a platform export or the process
environment, and the code is searched for variables it reads.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

from gate.checks.base import Check, CheckContext, CheckOption, Result
from gate.checks.env.judge import Judge
from gate.checks.env.manifest import load_manifest
from gate.checks.env.rules import RULES
from gate.checks.env.sources import require_file
from gate.checks.env.targets import gather_targets
from gate.checks.env.tunables import load_rules
from gate.checks.env.usage import CodePatterns, scan_tree
from gate.checks.env.values import ValueRules


class EnvCheck(Check):
    name = "env"
    summary = "Environment variables against a manifest: present, well-formed, no secret made public."
    rules = RULES.docs
    options = (
        CheckOption("--manifest", "manifest", "Env manifest file, relative to the project root.", metavar="FILE"),
        CheckOption(
            "--process-env",
            "process_environment",
            "Also check the process environment as this environment (e.g. production).",
            metavar="ENV",
        ),
    )
    config_schema: ClassVar[Mapping[str, Any]] = {
        "properties": {
            "manifest": {
                "type": "string",
                "format": "repo-path",
                "description": "Env manifest file (default env.manifest.yml).",
            },
            "environments": {"type": "array", "items": {"type": "string"}},
            "production": {"type": "array", "items": {"type": "string"}},
            "variables": {"type": "object", "description": "Inline manifest: same shape as env.manifest.yml."},
            "process_environment": {
                "type": "string",
                "description": "Check the process environment as this environment.",
            },
            "targets": {
                "type": "array",
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["environment"],
                    "properties": {
                        "environment": {"type": "string"},
                        "files": {"$ref": "#/$defs/repo-paths"},
                        "platform_export": {"type": "string", "format": "repo-path"},
                        "process": {"type": "boolean"},
                    },
                },
            },
            "code": {
                "$ref": "#/$defs/repo-paths",
                "description": "Folders whose code is searched for variable reads ([] to skip).",
            },
        }
    }

    def prepare(self, ctx: CheckContext) -> None:
        self._rules = load_rules()
        self._manifest = load_manifest(ctx.root, ctx.config, ctx.config_path)
        for entry in ctx.config.get("targets", []):
            for relative in [
                *entry.get("files", []),
                *([entry["platform_export"]] if "platform_export" in entry else []),
            ]:
                require_file(ctx.root, relative)

    def run(self, ctx: CheckContext) -> Iterator[Result]:
        rules, manifest = self._rules, self._manifest
        judge = Judge(manifest, ValueRules(rules), set(rules["ignore_names"]))
        ctx.progress.update("reading code for variable reads")
        unreadable: list[tuple[str, str]] = []
        usages = list(scan_tree(ctx.root, ctx.config.get("code", ["."]), CodePatterns.from_rules(rules), unreadable))
        yield from judge.unreadable_sources(unreadable)
        yield from judge.undeclared_in_code(usages)
        yield from judge.declared_public_secrets()
        targets = gather_targets(ctx, manifest, {u.name for u in usages} | set(manifest.variables))
        if not targets:
            yield judge.no_sources()
        for target in targets:
            ctx.progress.update(f"checking {target.environment}")
            yield from judge.target(target)
