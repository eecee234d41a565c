"""YAML loading that remembers where every key and value sits, for errors that name the line.

PyYAML's safe loader forgets positions, silently keeps the last of duplicate keys and turns keys
like `on`/`yes` into booleans; this loader composes the node tree and builds the data itself.

A stranger may write the file (gate.yml in a pull request, a manifest in the scanned repo), so
every way YAML has to grow work beyond the file's size is bounded: nesting depth (PyYAML
composes recursively), aliases that point at their own ancestors, and alias expansion (a few
hundred bytes of anchors can stand for billions of nodes).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from gate.errors import InputError, Position
from gate.safeio import UnreadableFile, read_regular

JsonPath = tuple[str | int, ...]

# Config files are small; a bigger one is a mistake or an attack on the parser.
MAX_CONFIG_BYTES = 2 * 1024 * 1024
# Far deeper than any real config, far below Python's recursion limit.
MAX_DEPTH = 100
MAX_ALIASES = 1_000
# Nodes an alias may add beyond those written out: enough to reuse a block, not to multiply one.
MAX_ALIAS_EXPANSION = 20_000


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


def _at(path: Path, mark: Any) -> Position:
    return Position(path, mark.line + 1, mark.column + 1) if mark else Position(path)


class _BoundedLoader(yaml.SafeLoader):
    """Composes at most MAX_DEPTH levels and MAX_ALIASES aliases, counting the nodes it makes."""

    def __init__(self, stream: str, path: Path) -> None:
        super().__init__(stream)
        self.source = path
        self.depth = 0
        self.aliases = 0
        self.nodes = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        if isinstance(event, yaml.AliasEvent):
            self.aliases += 1
            if self.aliases > MAX_ALIASES:
                raise InputError(
                    f"more than {MAX_ALIASES} aliases (*name); this file is not read",
                    _at(self.source, event.start_mark),
                    hint="write the values out instead of referring to anchors",
                )
            return super().compose_node(parent, index)
        self.depth += 1
        self.nodes += 1
        if self.depth > MAX_DEPTH:
            raise InputError(
                f"nesting deeper than {MAX_DEPTH} levels; this file is not read",
                _at(self.source, event.start_mark),
                hint="flatten the structure; no setting of the gate nests this deep",
            )
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def _scalar(node: yaml.ScalarNode, path: Path) -> Any:
    try:
        value = _ScalarConstructor().construct_object(node, deep=True)
    except yaml.YAMLError:
        raise InputError(
            f"this value's YAML tag {node.tag} is not supported",
            _at(path, node.start_mark),
            hint="write plain values: text, numbers, true/false, lists and mappings",
        ) from None
    except (ValueError, OverflowError) as error:
        # YAML resolves 2025-02-30 to a date and a 5,000-digit number to an int; neither exists.
        if node.tag == "tag:yaml.org,2002:timestamp":
            raise InputError(
                f"'{node.value}' looks like a date but is not a real one ({error})",
                _at(path, node.start_mark),
                hint="fix the date (YYYY-MM-DD), or quote it if it is meant as text",
            ) from None
        raise InputError(
            f"this value cannot be read: {error}", _at(path, node.start_mark), hint="quote it if it is meant as text"
        ) from None
    if isinstance(value, datetime.datetime | datetime.date):
        # JSON Schema validates strings; dates are checked again by their format.
        return value.isoformat()
    return value


@dataclass
class _Budget:
    """Nodes `_build` may still make, and the collections it is inside (to catch an alias loop)."""

    nodes: int
    open: set[int] = field(default_factory=set)


def _build(node: yaml.Node, where: JsonPath, out: Located, budget: _Budget) -> Any:
    budget.nodes -= 1
    if budget.nodes < 0:
        raise InputError(
            f"aliases expand this file to more than {MAX_ALIAS_EXPANSION} nodes beyond what is written; it is not read",
            _at(out.path, node.start_mark),
            hint="write the values out instead of nesting anchors inside anchors",
        )
    if id(node) in budget.open:
        raise InputError(
            "an alias refers to a value that contains it (a loop); it is not read",
            _at(out.path, node.start_mark),
            hint="an alias can only refer to a value outside itself",
        )
    if len(where) > MAX_DEPTH:
        raise InputError(
            f"aliases nest this value deeper than {MAX_DEPTH} levels; it is not read",
            _at(out.path, node.start_mark),
            hint="flatten the structure",
        )
    out.values[where] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.ScalarNode):
        return _scalar(node, out.path)
    budget.open.add(id(node))
    try:
        return _collection(node, where, out, budget)
    finally:
        budget.open.discard(id(node))


def _collection(node: yaml.Node, where: JsonPath, out: Located, budget: _Budget) -> Any:
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
            result[key] = _build(value_node, child, out, budget)
        return result
    assert isinstance(node, yaml.SequenceNode)
    return [_build(item, (*where, index), out, budget) for index, item in enumerate(node.value)]


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
        # The reader checks every character as it is made, so making it is inside the try.
        loader = _BoundedLoader(text, path)
        try:
            node = loader.get_single_node()
            nodes = loader.nodes
        finally:
            loader.dispose()
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
    out.data = {} if node is None else _build(node, (), out, _Budget(nodes + MAX_ALIAS_EXPANSION))
    return out


def load_file(path: Path) -> Located:
    try:
        raw = read_regular(path, MAX_CONFIG_BYTES)
    except UnreadableFile as error:
        raise InputError(error.reason, Position(path), hint="name a regular YAML file") from None
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
