"""Where the repository's code still names a table or column a migration drops or renames.

Only a hint that makes the finding concrete ("still read in app/models.py:12"); the finding stands
without it, because code outside the globs (another service, a report) may use the name too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from gate.checks.migrations.sources import matched_files

MAX_CODE_BYTES = 1 << 20  # a larger file is generated or vendored, not the app's queries
MAX_CODE_FILES = 20_000


def first_uses(root: Path, patterns: Sequence[str], names: Iterable[str]) -> dict[str, str]:
    """For each name, the first `path:line` of the code that contains it as a whole word."""
    wanted = {name for name in names if len(name) > 2}
    if not wanted or not patterns:
        return {}
    words = {name: re.compile(rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])") for name in wanted}
    found: dict[str, str] = {}
    for relative in matched_files(root, patterns, "checks.migrations.code")[:MAX_CODE_FILES]:
        path = root / relative
        if path.stat().st_size > MAX_CODE_BYTES:
            continue
        text = path.read_text("utf-8", "replace")
        for name in [n for n in wanted if n not in found and n in text]:
            match = words[name].search(text)
            if match:
                found[name] = f"{relative}:{text.count(chr(10), 0, match.start()) + 1}"
        if len(found) == len(wanted):
            break
    return found
