"""Reads a plain SQL backup the way psql would, to refuse what would run a program or touch files.

psql replays a plain dump: a backslash outside a literal starts a meta-command (`\\!` runs a shell,
`\\o |cmd` and `\\copy ... program` run programs, `\\i` reads any file), and `COPY ... PROGRAM` or
`COPY ... FROM 'file'` runs a program or reads a file as the server's OS user. pg_dump writes none of
them, so a backup that holds one is refused before anything runs. Quoted literals, identifiers,
comments and the data blocks of `COPY ... FROM stdin` are skipped, so data that looks like a command
is not mistaken for one. The restore also runs as a role that is not a superuser, so a statement
this scan did not foresee still cannot reach the OS.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

# pg_dump's own meta-commands: switching database, and 17.6+'s \restrict that turns the others off.
ALLOWED_META = frozenset({"connect", "c", "restrict", "unrestrict"})
_CHUNK = 1024 * 1024
_MAX_WORDS = 64
_META = re.compile(r"\\([A-Za-z]+|.)")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")
_DOLLAR = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)?\$")


@dataclass(frozen=True)
class Refusal:
    line: int
    what: str


@dataclass
class _State:
    quote: str | None = None  # "'", "e'" (backslash escapes), '"' or a dollar tag
    comment_depth: int = 0
    words: list[str] = field(default_factory=list)
    in_copy_data: bool = False
    copy_starts: bool = False


def scan(path: Path, limit: int = 10) -> list[Refusal]:
    """Every meta-command or COPY to/from a program or file in a plain SQL file, at most `limit`."""
    refusals: list[Refusal] = []
    state = _State()
    number, at_line_start = 0, True
    with path.open("rb") as handle:
        while len(refusals) < limit:
            raw = handle.readline(_CHUNK)
            if not raw:
                break
            if at_line_start:
                number += 1
            text = raw.decode("utf-8", "replace")
            if state.in_copy_data:
                if at_line_start and text.rstrip("\r\n") == "\\.":
                    state.in_copy_data = False
            else:
                _scan_sql(text, number, state, refusals)
                if state.copy_starts and raw.endswith(b"\n"):
                    state.in_copy_data, state.copy_starts = True, False
            at_line_start = raw.endswith(b"\n")
    return refusals[:limit]


def _scan_sql(text: str, number: int, state: _State, refusals: list[Refusal]) -> None:
    """One line outside COPY data; the state carries quotes and comments across lines."""
    i = 0
    while i < len(text):
        if state.quote is not None or state.comment_depth:
            i = _skip_quoted(text, i, state)
            continue
        ch = text[i]
        if text.startswith("--", i):
            return
        if text.startswith("/*", i):
            state.comment_depth, i = 1, i + 2
        elif ch == "\\":
            meta = _META.match(text, i)
            name = meta.group(1) if meta else "\\"
            if name not in ALLOWED_META:
                refusals.append(Refusal(number, f"psql meta-command \\{name}"))
            return  # a meta-command takes the rest of the line
        elif ch in "'\"":
            state.quote = "e'" if ch == "'" and _escape_string(text, i) else ch
            _word(state, "<literal>" if ch == "'" else "<identifier>")
            i += 1
        elif ch == "$" and (dollar := _DOLLAR.match(text, i)) and not (i and text[i - 1].isalnum()):
            state.quote, i = dollar.group(0), dollar.end()
            _word(state, "<literal>")
        elif ch == ";":
            _statement_ends(number, state, refusals)
            i += 1
        elif word := _WORD.match(text, i):
            _word(state, word.group(0).upper())
            i = word.end()
        else:
            i += 1


def _skip_quoted(text: str, i: int, state: _State) -> int:
    if state.comment_depth:
        if text.startswith("*/", i):
            state.comment_depth -= 1
            return i + 2
        if text.startswith("/*", i):
            state.comment_depth += 1
            return i + 2
        return i + 1
    quote = state.quote or ""
    if quote == "e'" and text[i] == "\\":
        return i + 2
    closing = "'" if quote == "e'" else quote
    if text.startswith(closing, i):
        doubled = closing in "'\"" and text.startswith(closing, i + 1)
        if doubled:
            return i + 2
        state.quote = None
        return i + len(closing)
    return i + 1


def _escape_string(text: str, i: int) -> bool:
    return i > 0 and text[i - 1] in "eE" and (i < 2 or not (text[i - 2].isalnum() or text[i - 2] == "_"))


def _word(state: _State, word: str) -> None:
    if len(state.words) < _MAX_WORDS:
        state.words.append(word)


def _statement_ends(number: int, state: _State, refusals: list[Refusal]) -> None:
    words, state.words = state.words, []
    if not words or words[0] != "COPY":
        return
    for index, word in enumerate(words[:-1]):
        if word in ("FROM", "TO"):
            following = words[index + 1]
            if following == "PROGRAM":
                refusals.append(Refusal(number, f"COPY {word} PROGRAM (runs a program on the server)"))
                return
            if following == "<literal>":
                refusals.append(Refusal(number, f"COPY {word} a server file"))
                return
            if following == "STDIN":
                state.copy_starts = True
                return
