"""Where the repository's code still names a table or column a migration drops or renames.

Only a hint that makes the finding concrete ("still read in app/models.py:12"); the finding stands
without it, because code outside the globs (another service, a report) may use the name too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path

from gate.checks.migrations.sources import matched_files
from gate.model import Finding
from gate.safeio import UnreadableFile, read_regular

MAX_CODE_BYTES = 1 << 20  # a larger file is generated or vendored, not the app's queries
MAX_CODE_FILES = 20_000
NAMED = {"migrations.drop.column", "migrations.drop.table", "migrations.rename.column", "migrations.rename.table"}


def with_code_uses(root: Path, patterns: Sequence[str], findings: Sequence[Finding]) -> Iterator[Finding]:
    """The findings, those about a dropped or renamed name told where the code still uses it."""
    names = {_name(f) for f in findings if f.rule_id in NAMED}
    uses = first_uses(root, list(patterns), names) if names else {}
    for finding in findings:
        used_at = uses.get(_name(finding)) if finding.rule_id in NAMED else None
        if used_at:
            message = f"{finding.message} The code still names it at {used_at}."
            yield replace(finding, message=message, details={**finding.details, "used_at": used_at})
        else:
            yield finding


def _name(finding: Finding) -> str:
    return str(finding.details.get("column") or finding.details.get("table") or "")


def first_uses(root: Path, patterns: Sequence[str], names: Iterable[str]) -> dict[str, str]:
    """For each name, the first `path:line` of the code that contains it as a whole word."""
    wanted = {name for name in names if len(name) > 2}
    if not wanted or not patterns:
        return {}
    words = {name: re.compile(rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])") for name in wanted}
    found: dict[str, str] = {}
    for relative in matched_files(root, patterns, "checks.migrations.code", skip_links=True)[:MAX_CODE_FILES]:
        try:
            text = read_regular(root / relative, MAX_CODE_BYTES).decode("utf-8", "replace")
        except UnreadableFile:
            continue  # generated, vendored or not a file: the finding stands without the hint
        for name in [n for n in wanted if n not in found and n in text]:
            match = words[name].search(text)
            if match:
                found[name] = f"{relative}:{text.count(chr(10), 0, match.start()) + 1}"
        if len(found) == len(wanted):
            break
    return found
