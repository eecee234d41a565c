"""Reviewed silencing the scanned repository carries itself: an in-source comment on the line, or
an entry of a detect-secrets baseline. Each becomes the finding's suppression, which policy treats
like one from gate.yml.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from gate.checks.secrets.hits import Hit
from gate.checks.secrets.identity import baseline_hash
from gate.config.paths import inside
from gate.config.source import MAX_BASELINE_BYTES, PolicySource
from gate.errors import InputError
from gate.model import Suppression

_INLINE_ALLOW = re.compile(r"gate:\s?allow\b[ \t:-]*(?P<reason>[^\r\n]{0,200})")


def silence_reason(line: str, previous_line: str, path: str) -> str | None:
    """Why a reviewed in-source comment silences this line, or None.

    `gate: allow <reason>` on the line itself, or detect-secrets' `pragma: allowlist secret`
    (and `pragma: allowlist nextline secret` on the line before).
    """
    match = _INLINE_ALLOW.search(line)
    if match:
        reason = match.group("reason").strip().strip("*/-># ").strip()
        return f"inline `gate: allow`{': ' + reason if reason else ''}"
    if "pragma" in line or "pragma" in previous_line:
        from detect_secrets.filters.allowlist import is_line_allowlisted
        from detect_secrets.util.code_snippet import get_code_snippet

        if is_line_allowlisted(path, line, get_code_snippet([previous_line, line], 2)):
            return "detect-secrets `pragma: allowlist secret`"
    return None


def suppression_for(hit: Hit, print_id: str, path: str, baseline_hashes: frozenset[str]) -> Suppression | None:
    """The reviewed suppression a hit carries: its line's comment, or its baseline entry."""
    if hit.silenced:
        return Suppression(reason=hit.silenced, fingerprint=print_id, source=f"{path}:{hit.line}", in_source=True)
    if baseline_hashes and baseline_hash(hit.identity) in baseline_hashes:
        return Suppression(
            reason="listed in the detect-secrets baseline", fingerprint=print_id, source=".secrets.baseline"
        )
    return None


def load_baseline(root: Path, relative: str, policy: PolicySource | None = None) -> frozenset[str]:
    """The `hashed_secret`s of a detect-secrets baseline, except those audited as real secrets.

    In a pull request, the baseline as its base commit has it (`policy`): a baseline only ever
    hides findings, so the change under review must not bring its own."""
    from gate.errors import Position

    path = root / relative
    if policy is not None and policy.pinned:
        raw = policy.read(path, MAX_BASELINE_BYTES)
    elif not path.is_file() or path.is_symlink() or not inside(root, relative):
        raw = None  # nor may one read from outside the tree
    else:
        if path.stat().st_size > MAX_BASELINE_BYTES:
            raise InputError(
                f"{relative} is over the {MAX_BASELINE_BYTES} bytes a secrets baseline may have",
                Position(relative),
                hint="regenerate it with `detect-secrets scan > .secrets.baseline`",
            )
        raw = path.read_bytes()
    if raw is None:
        return frozenset()
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as error:
        line = getattr(error, "lineno", None)
        raise InputError(
            f"{relative} is not valid JSON: {error}",
            Position(relative, line),
            hint="regenerate it with `detect-secrets scan > .secrets.baseline`, or set checks.secrets.baseline",
        ) from error
    results = data.get("results") if isinstance(data, dict) else None
    if not isinstance(results, dict):
        raise InputError(
            f"{relative} has no `results` mapping, so it is not a detect-secrets baseline",
            Position(relative, 1),
            hint="regenerate it with `detect-secrets scan > .secrets.baseline`",
        )
    hashes = set()
    for entries in results.values():
        for entry in entries if isinstance(entries, list) else []:
            if (
                isinstance(entry, dict)
                and isinstance(entry.get("hashed_secret"), str)
                and entry.get("is_secret") is not True
            ):
                hashes.add(entry["hashed_secret"])
    return frozenset(hashes)
