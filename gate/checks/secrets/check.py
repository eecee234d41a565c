"""The `secrets` check: leaked credentials in a PR's added lines, git history, the working tree
and build output, found with detect-secrets' plugins and filters plus the gate's own detectors.

A found secret never leaves this package raw: `findings.finding_for` turns it into redacted
evidence and a fingerprint of rule + hashed secret.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

from gate.checks.base import Check, CheckContext, CheckOption, Result
from gate.checks.secrets.rules import RULES


class SecretsCheck(Check):
    name = "secrets"
    summary = "Leaked credentials in PR diffs, git history, the working tree and build output."
    rules = RULES.docs
    options = (
        CheckOption(
            "--diff",
            "sources.diff",
            "Scan the lines added in BASE...HEAD (`auto`: from the pull_request event).",
            metavar="BASE...HEAD",
        ),
        CheckOption(
            "--staged",
            "sources.staged",
            "Scan only the lines added in the index against HEAD, and nothing else (a pre-commit hook).",
            is_flag=True,
        ),
        CheckOption("--since", "sources.since", "Scan the commits in REV..HEAD.", metavar="REV"),
        CheckOption("--history", "sources.history", "Scan every commit of every ref.", is_flag=True),
        CheckOption(
            "--build",
            "sources.build",
            "Scan this build output folder instead of the preset's (repeatable).",
            multiple=True,
            metavar="DIR",
        ),
    )
    config_schema: ClassVar[Mapping[str, Any]] = {
        "properties": {
            "sources": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "tree": {"type": "boolean", "description": "Tracked and untracked-not-ignored files."},
                    "staged": {
                        "type": "boolean",
                        "description": "Only the lines added in the index against HEAD; no other source.",
                    },
                    "history": {"type": "boolean", "description": "Every commit of every ref."},
                    "since": {
                        "type": ["string", "null"],
                        "minLength": 1,
                        "format": "git-revision",
                        "description": "Commits in REV..HEAD.",
                    },
                    "diff": {
                        "type": ["string", "null"],
                        "minLength": 1,
                        "format": "git-range",
                        "description": "Added lines of BASE...HEAD; `auto`: from a GitHub pull_request event.",
                    },
                    "build": {
                        "$ref": "#/$defs/repo-paths",
                        "description": "Build output folders (scanned even if gitignored).",
                    },
                },
            },
            "max_file_size": {
                "type": "integer",
                "minimum": 1024,
                "description": "Bytes; larger files are listed as not scanned.",
            },
            "baseline": {
                "type": "string",
                "minLength": 1,
                "format": "repo-path",
                "description": "detect-secrets baseline accepted as reviewed.",
            },
            "exclude": {"$ref": "#/$defs/globs", "description": "Paths (globs) never scanned."},
            "jobs": {"type": "integer", "minimum": 0, "description": "Processes for history scans; 0 = every core."},
        }
    }

    def run(self, ctx: CheckContext) -> Iterator[Result]:
        # The parts load detect-secrets and git helpers: imported here so `gate --help` stays fast.
        from gate.checks.secrets.diff import diff_findings
        from gate.checks.secrets.findings import unscanned_findings
        from gate.checks.secrets.history import Introduced, history_findings
        from gate.checks.secrets.session import ScanSession
        from gate.checks.secrets.tree import scan_tree, tree_findings

        session = ScanSession.start(ctx)
        yield from diff_findings(session, ctx.progress)
        if session.staged:
            # A pre-commit hook asks about what is being committed, not what is already there.
            yield from session.stale_findings()
            return
        tree_hits, skipped = scan_tree(session, ctx.progress)
        yield from unscanned_findings(skipped)
        introduced: dict[str, Introduced] = {}
        if session.scans_history:
            yield from history_findings(session, ctx.progress, tree_hits, introduced)
        yield from tree_findings(session, tree_hits, introduced)
        yield from session.stale_findings()
