"""The `deps` check: known-vulnerable dependencies in Python and JavaScript manifests and lock files.

Python packages are audited through pip-audit's Auditor and vulnerability services (ours over an
offline OSV database, or pip-audit's PyPI and OSV services); npm packages against OSV records of
the npm ecosystem, offline or through the OSV query API. Each finding names the advisory and its
aliases, the smallest fixed version and the upgrade command, at the line that pins the package.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar

from gate.checks.base import Check, CheckContext, CheckOption, Result
from gate.checks.deps.audit import audit
from gate.checks.deps.judge import Tally, judge, no_lock_file
from gate.checks.deps.lockfiles import discover, explicit, read_pins
from gate.checks.deps.rules import RULES
from gate.model import Severity


class DepsCheck(Check):
    name = "deps"
    summary = "Known-vulnerable dependencies (pip-audit, offline OSV data, npm/pnpm/yarn lock files)."
    rules = RULES.docs
    options = (
        CheckOption(
            "--osv-db",
            "osv_db",
            "Audit offline against this directory or zip of OSV records (repeatable).",
            multiple=True,
            metavar="PATH",
        ),
        CheckOption("--service", "service", "Online service for Python packages: osv or pypi.", metavar="NAME"),
        CheckOption(
            "--file",
            "files",
            "Audit this manifest or lock file (repeatable; skips discovery).",
            multiple=True,
            metavar="FILE",
        ),
    )
    config_schema: ClassVar[Mapping[str, Any]] = {
        "properties": {
            "osv_db": {
                "anyOf": [
                    {"type": "string", "minLength": 1},
                    {"type": "array", "minItems": 1, "items": {"type": "string", "minLength": 1}},
                ],
                "description": "Directory or zip of OSV records (offline, air-gapped CI), relative to the project.",
            },
            "service": {
                "enum": ["osv", "pypi"],
                "description": "Online vulnerability service for Python packages (npm always uses OSV).",
            },
            "osv_url": {
                "type": "string",
                "pattern": "^https?://",
                "description": "OSV query API endpoint (default https://api.osv.dev/v1/query).",
            },
            "pypi_url": {
                "type": "string",
                "pattern": "^https?://",
                "description": "Base of a PyPI JSON API mirror (default https://pypi.org/pypi/).",
            },
            "request_timeout": {"$ref": "#/$defs/duration", "description": "Deadline of one request to the service."},
            "files": {
                "$ref": "#/$defs/repo-paths",
                "description": "Manifests and lock files to audit (default: found under the project root).",
            },
            "exclude": {"$ref": "#/$defs/globs", "description": "Paths (globs) discovery skips, e.g. examples/**."},
            "unknown_severity": {
                "$ref": "#/$defs/severity",
                "description": "Severity of an advisory that carries no CVSS vector or database rating.",
            },
        }
    }

    def run(self, ctx: CheckContext) -> Iterator[Result]:
        config = ctx.config
        root = ctx.root.resolve()
        if config.get("files"):
            files, unlocked = explicit(root, list(config["files"])), list[Path]()
        else:
            files, unlocked = discover(root, list(config.get("exclude", [])))
        for manifest in unlocked:
            yield no_lock_file(root, manifest)
        pins = read_pins(root, files, ctx.progress)
        answers = audit(ctx, root, pins)
        tally = Tally()
        yield from judge(pins, answers, Severity.parse(config.get("unknown_severity", "high")), tally)
        yield tally.measurement(pins, files)
