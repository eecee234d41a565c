"""A small JavaScript/TypeScript tokeniser: enough to read route declarations without running code.

Comments are dropped; string and template literals become one STRING token (a template with
`${...}` keeps only its text before the first substitution, flagged as not exact); regex literals
are skipped after operators. It never raises on odd input: unknown characters become punctuation.
"""

from __future__ import annotations

from dataclasses import dataclass

_IDENT_START = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_$")
_IDENT = _IDENT_START | set("0123456789")
# After these a `/` starts a regex literal, not a division.
_REGEX_AFTER = set("(,=:[!&|?{};+-*%<>~^") | {"return", "typeof", "case", "do", "else", "in", "of", ""}


@dataclass(frozen=True)
class Token:
    kind: str  # "name", "string", "punct"
    text: str
    line: int
    exact: bool = True


def _skip_string(source: str, start: int, quote: str) -> int:
    index = start + 1
    while index < len(source):
        char = source[index]
        if char == "\\":
            index += 2
            continue
        if char == quote or (char == "\n" and quote != "`"):
            return index + 1
        index += 1
    return index


def _skip_regex(source: str, start: int) -> int:
    index, in_class = start + 1, False
    while index < len(source) and source[index] != "\n":
        char = source[index]
        if char == "\\":
            index += 2
            continue
        if char == "[":
            in_class = True
        elif char == "]":
            in_class = False
        elif char == "/" and not in_class:
            index += 1
            while index < len(source) and source[index] in _IDENT:
                index += 1
            return index
        index += 1
    return index


def tokenize(source: str) -> list[Token]:
    """One pass over the characters; long because each literal kind is one branch."""
    tokens: list[Token] = []
    index, line, length = 0, 1, len(source)
    while index < length:
        char = source[index]
        if char == "\n":
            line += 1
            index += 1
        elif char.isspace():
            index += 1
        elif source.startswith("//", index):
            end = source.find("\n", index)
            index = length if end < 0 else end
        elif source.startswith("/*", index):
            end = source.find("*/", index + 2)
            end = length if end < 0 else end + 2
            line += source.count("\n", index, end)
            index = end
        elif char in "'\"`":
            end = _skip_string(source, index, char)
            body = source[index + 1 : max(index + 1, end - 1)]
            exact = char != "`" or "${" not in body
            tokens.append(Token("string", body.split("${")[0] if not exact else body, line, exact))
            line += source.count("\n", index, end)
            index = end
        elif char == "/" and (not tokens or tokens[-1].text in _REGEX_AFTER):
            index = _skip_regex(source, index)
        elif char in _IDENT_START:
            end = index + 1
            while end < length and source[end] in _IDENT:
                end += 1
            tokens.append(Token("name", source[index:end], line))
            index = end
        else:
            tokens.append(Token("punct", char, line))
            index += 1
    return tokens
