"""The body of a private key whose header a detector found: what identifies that key, since every
key of a kind starts with the same header."""

from __future__ import annotations

import re
from collections.abc import Iterable

from gate.checks.secrets.hits import MAX_LINE, LineHit

# A key body line (PEM, OpenSSH, PuTTY): base64, at most a few dozen bytes.
_BODY_LINE = re.compile(r"[A-Za-z0-9+/=]{4,128}")
MAX_BODY_LINES = 200
MAX_BODY_BYTES = 16_384
# The shortest real key body (the private part of a PuTTY ed25519 key) is 44 base64 characters;
# prose and elided examples have no line that long.
MIN_BODY = 44
MIN_LONGEST_BODY_LINE = 44
MIN_BODY_DISTINCT = 20


def key_body(buf: bytes, line_start: int, hit: LineHit, prefix: bytes = b"") -> str | None:
    """The body of the key whose header `hit` found: the lines after it (each starting with
    `prefix` in a patch), or on the same line after `\\n` escapes (JSON, a .env value) or spaces."""
    line_end = buf.find(b"\n", line_start)
    line_end = len(buf) if line_end == -1 else line_end
    header = hit.secret.encode("utf-8", "surrogateescape")
    text_start = line_start + len(prefix)
    at = buf.find(header, text_start + hit.column, line_end)
    at = buf.find(header, text_start, line_end) if at == -1 else at
    rest = buf[at + len(header) : min(line_end, at + len(header) + MAX_BODY_BYTES)].decode("utf-8", "replace")
    putty = hit.secret.startswith("PuTTY")
    if "\\n" in rest:
        lines = rest.split("\\n")
    elif rest.strip().strip("\"'`,;") and not putty:
        lines = rest.split()
    else:
        lines = _following_lines(buf, line_end + 1, prefix)
    return _body(lines, putty=putty)


def _following_lines(buf: bytes, position: int, prefix: bytes) -> list[str]:
    lines: list[str] = []
    limit = min(len(buf), position + MAX_BODY_BYTES)
    while position < limit and len(lines) < MAX_BODY_LINES:
        end = buf.find(b"\n", position, limit)
        end = limit if end == -1 else end
        raw = buf[position:end]
        if prefix:
            if not raw.startswith(prefix):
                break
            raw = raw[len(prefix) :]
        lines.append(raw[:MAX_LINE].decode("utf-8", "replace"))
        position = end + 1
    return lines


def _body(lines: Iterable[str], *, putty: bool) -> str | None:
    body: list[str] = []
    collecting = not putty
    for raw in lines:
        line = raw.strip().strip("\"'`,;")
        if "-----END" in line or line.startswith("Private-MAC:"):
            break
        if putty:
            collecting = collecting or line.startswith("Private-Lines:")
            if not collecting or ":" in line:
                continue
        elif not line or ":" in line:
            continue  # PEM headers: Proc-Type, DEK-Info, Comment
        if not _BODY_LINE.fullmatch(line):
            return None
        body.append(line)
    joined = "".join(body)
    if (
        len(joined) < MIN_BODY
        or max(map(len, body)) < MIN_LONGEST_BODY_LINE
        or len(set(joined)) < MIN_BODY_DISTINCT
        or any(len(set(line)) <= 2 for line in body)
    ):
        return None
    return "\n".join(body)
