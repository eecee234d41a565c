"""What every manifest and lock-file reader produces: pinned packages with the line that pins them.

Readers never install or run anything from the project. A file that cannot be parsed is bad
input (exit 2) naming its line; a package that cannot be audited (no version, git source) is a
`Pinned` with a `skip` reason, so it is counted and named instead of silently passing.
"""

from __future__ import annotations

import bisect
import json
import json.decoder
import json.scanner
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from gate.config.yamlpos import reader_error
from gate.errors import InputError, Position
from gate.safeio import UnreadableFile, read_regular

# Lock files of big monorepos reach tens of megabytes; beyond this is not a lock file.
MAX_LOCK_BYTES = 64 * 1024 * 1024
MAX_YAML_NODES = 5_000_000
_TOML_PLACE = re.compile(r" \(at (?:line (\d+), column (\d+)|end of document)\)$")


@dataclass(frozen=True)
class Pinned:
    """One package at one version, where a manifest or lock file pins it."""

    ecosystem: str  # "PyPI" or "npm"
    name: str
    version: str | None
    path: str  # relative to the project root, `/` separators
    line: int | None
    manager: str  # pip, uv, poetry, pipenv, pylock, npm, pnpm, yarn, yarn-berry
    skip: str | None = None  # why it cannot be audited; None when it can
    local: bool = False  # the project's own code (workspace, path, editable): nothing to audit


def read_text(path: Path, shown: str) -> str:
    try:
        raw = read_regular(path, MAX_LOCK_BYTES)
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise InputError(f"file is not UTF-8 (byte {error.start})", Position(shown, line)) from None
    except UnreadableFile as error:
        raise InputError(f"cannot read file: {error.reason}", Position(shown)) from None
    except OSError as error:
        raise InputError(f"cannot read file: {error.strerror}", Position(shown)) from None


def load_toml(text: str, shown: str) -> dict[str, Any]:
    import tomllib

    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        # Before Python 3.14 the error carries its position only in the message's tail.
        message = str(error)
        place = _TOML_PLACE.search(message)
        if place and place[1]:
            line, column = int(place[1]), int(place[2])
        else:
            # "(at end of document)": the file was cut short, so point at its last character.
            line, column = text.count("\n") + 1, len(text) - text.rfind("\n")
        raise InputError(
            f"this is not valid TOML: {_TOML_PLACE.sub('', message)}",
            Position(shown, line, column),
            hint="the file was probably edited by hand or cut short; regenerate it with its tool",
        ) from None


class LinedDict(dict[str, Any]):
    """A JSON object that remembers the line of its opening brace (the line of its key)."""

    line: int = 0


def load_json_lines(text: str, shown: str) -> Any:
    """json.loads, except that every object knows its line: lock files name packages by line."""
    newlines = [match.start() for match in re.finditer("\n", text)]
    decoder = json.JSONDecoder()

    def parse_object(
        s_and_end: tuple[str, int],
        strict: bool,
        scan_once: Any,
        object_hook: Any,
        object_pairs_hook: Any,
        memo: Any = None,
    ) -> tuple[LinedDict, int]:
        _, start = s_and_end
        pairs, end = json.decoder.JSONObject(  # type: ignore[attr-defined]
            s_and_end, strict, scan_once, None, None, memo
        )
        obj = LinedDict(pairs)
        obj.line = bisect.bisect_left(newlines, start) + 1
        return obj, end

    decoder.parse_object = parse_object  # type: ignore[attr-defined]
    decoder.scan_once = json.scanner.py_make_scanner(decoder)  # type: ignore[attr-defined]
    try:
        return decoder.decode(text)
    except json.JSONDecodeError as error:
        raise InputError(
            f"this is not valid JSON: {error.msg}",
            Position(shown, error.lineno, error.colno),
            hint="the file was probably edited by hand or cut short; regenerate it with its tool",
        ) from None
    except RecursionError:
        raise InputError("JSON nested too deeply to be a lock file", Position(shown)) from None


@dataclass
class YamlDoc:
    """A YAML document as plain data with every scalar kept as text, plus key lines by path."""

    data: Any
    lines: dict[tuple[str, ...], int]


def load_yaml_docs(text: str, shown: str) -> list[YamlDoc]:
    """Every document of a (possibly multi-document) YAML file; scalars stay strings.

    Lock files are data, not YAML 1.1 literals: `version: 1.10` must stay "1.10", not 1.1.
    """
    try:
        nodes = list(yaml.compose_all(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)))
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        raise InputError(
            f"this is not valid YAML: {error.problem}",
            Position(shown, mark.line + 1, mark.column + 1) if mark else Position(shown),
            hint="the file was probably edited by hand or cut short; regenerate it with its tool",
        ) from None
    except yaml.reader.ReaderError as error:
        raise reader_error(error, text, shown) from None
    except yaml.YAMLError as error:
        raise InputError(f"this is not valid YAML: {error}", Position(shown)) from None
    budget = [MAX_YAML_NODES]
    building: set[int] = set()

    def build(node: yaml.Node, where: tuple[str, ...], lines: dict[tuple[str, ...], int]) -> Any:
        budget[0] -= 1
        if budget[0] < 0:
            raise InputError("YAML expands to too many values to be a lock file (aliases?)", Position(shown))
        if id(node) in building:
            raise InputError(
                "an alias refers to a value that contains it (a loop); a lock file has none",
                Position(shown, node.start_mark.line + 1, node.start_mark.column + 1),
            )
        if isinstance(node, yaml.MappingNode | yaml.SequenceNode):
            building.add(id(node))
            try:
                return collection(node, where, lines)
            finally:
                building.discard(id(node))
        return None if node.tag.endswith(":null") else str(node.value)

    def collection(node: yaml.Node, where: tuple[str, ...], lines: dict[tuple[str, ...], int]) -> Any:
        if isinstance(node, yaml.MappingNode):
            out: dict[str, Any] = {}
            for key_node, value_node in node.value:
                key = str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else ""
                if len(where) < 2:
                    lines[(*where, key)] = key_node.start_mark.line + 1
                out[key] = build(value_node, (*where, key), lines)
            return out
        return [build(item, where, lines) for item in node.value]

    docs = []
    for node in nodes:
        lines: dict[tuple[str, ...], int] = {}
        try:
            docs.append(YamlDoc(build(node, (), lines) if node is not None else None, lines))
        except RecursionError:
            # libyaml allows 1,000 levels and aliases can stack them; no lock file nests like that.
            raise InputError("YAML nests too deep to be a lock file (aliases?)", Position(shown)) from None
    return docs


def toml_table_lines(text: str, header: str) -> list[int]:
    """Line of each `[[header]]` entry's `name = ...` (or of the header), in file order.

    TOML parsers forget positions; lock files list one package per array-of-tables entry, so
    the n-th entry of the parsed array is the n-th header here.
    """
    lines: list[int] = []
    inside = False
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if stripped.startswith("["):
            inside = stripped.replace(" ", "") == f"[[{header}]]"
            if inside:
                lines.append(number)
            continue
        if inside and stripped.split("=", 1)[0].strip() == "name" and "=" in stripped:
            lines[-1] = number
            inside = False
    return lines
