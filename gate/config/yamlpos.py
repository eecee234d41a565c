"""YAML loading that remembers where every key and value sits, for errors that name the line.

PyYAML's safe loader forgets positions, silently keeps the last of duplicate keys and turns keys
like `on`/`yes` into booleans; this loader composes the node tree and builds the data itself.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from gate.errors import InputError, Position

JsonPath = tuple[str | int, ...]

# Config files are small; a bigger one is a mistake or an attack on the parser.
MAX_CONFIG_BYTES = 2 * 1024 * 1024


@dataclass
class Located:
    """Parsed data plus the position of each value (and of each mapping key) by JSON path."""

    data: Any
    path: Path
    values: dict[JsonPath, tuple[int, int]] = field(default_factory=dict)
    keys: dict[JsonPath, tuple[int, int]] = field(default_factory=dict)

    def position(self, where: JsonPath, *, key: bool = False) -> Position:
        """The closest recorded position at or above `where` (1-based)."""
        table = self.keys if key and where in self.keys else self.values
        probe = where
        while True:
            if probe in table:
                line, column = table[probe]
                return Position(self.path, line, column)
            if not probe:
                return Position(self.path)
            probe = probe[:-1]
            table = self.values


class _ScalarConstructor(yaml.constructor.SafeConstructor):
    pass


def _scalar(node: yaml.ScalarNode, path: Path) -> Any:
    try:
        value = _ScalarConstructor().construct_object(node, deep=True)
    except yaml.YAMLError:
        raise InputError(
            f"this value's YAML tag {node.tag} is not supported",
            Position(path, node.start_mark.line + 1, node.start_mark.column + 1),
            hint="write plain values: text, numbers, true/false, lists and mappings",
        ) from None
    if isinstance(value, datetime.datetime | datetime.date):
        # JSON Schema validates strings; dates are checked again by their format.
        return value.isoformat()
    return value


def _build(node: yaml.Node, where: JsonPath, out: Located) -> Any:
    out.values[where] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise InputError(
                    "a key must be plain text",
                    Position(out.path, key_node.start_mark.line + 1, key_node.start_mark.column + 1),
                )
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise InputError(
                    "YAML merge keys (<<) are not supported here",
                    Position(out.path, key_node.start_mark.line + 1, key_node.start_mark.column + 1),
                    hint="write the keys out in full",
                )
            key = str(key_node.value)
            child = (*where, key)
            if key in result:
                first_line = out.keys[child][0]
                raise InputError(
                    f"duplicate key '{key}' (first defined on line {first_line})",
                    Position(out.path, key_node.start_mark.line + 1, key_node.start_mark.column + 1),
                    hint="remove one of the two; YAML would silently keep only the last",
                )
            out.keys[child] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            result[key] = _build(value_node, child, out)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, (*where, index), out) for index, item in enumerate(node.value)]
    assert isinstance(node, yaml.ScalarNode)
    return _scalar(node, out.path)


def reader_error(error: yaml.reader.ReaderError, text: str, path: Path | str) -> InputError:
    """A character YAML forbids: the reader knows only its offset into the text, so count lines."""
    before = text[: error.position]
    code = error.character if isinstance(error.character, int) else ord(error.character)
    return InputError(
        f"this is not valid YAML: the control character U+{code:04X} is not allowed",
        Position(path, before.count("\n") + 1, error.position - before.rfind("\n")),
        hint="remove the control character or quote it as an escape",
    )


def load_text(text: str, path: Path) -> Located:
    out = Located(data=None, path=path)
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        position = Position(path, mark.line + 1, mark.column + 1) if mark else Position(path)
        raise InputError(
            f"this is not valid YAML: {error.problem}",
            position,
            hint="check the indentation and quoting around this line",
        ) from None
    except yaml.reader.ReaderError as error:
        raise reader_error(error, text, path) from None
    except yaml.YAMLError as error:
        raise InputError(f"this is not valid YAML: {error}", Position(path)) from None
    out.data = {} if node is None else _build(node, (), out)
    return out


def load_file(path: Path) -> Located:
    try:
        size = path.stat().st_size
        if size > MAX_CONFIG_BYTES:
            raise InputError(
                f"file is {size} bytes; config files are limited to {MAX_CONFIG_BYTES}",
                Position(path),
            )
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError("file not found", Position(path), hint="run `gate init` to write one") from None
    except IsADirectoryError:
        raise InputError("this is a directory, not a file", Position(path)) from None
    except OSError as error:
        raise InputError(f"cannot read file: {error.strerror}", Position(path)) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InputError(f"file is not UTF-8 (byte {error.start})", Position(path), hint="save it as UTF-8") from None
    return load_text(text, path)
