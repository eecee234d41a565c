"""Reviewed silencing the scanned repository carries itself: an in-source comment on the line."""

from __future__ import annotations

import re

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
