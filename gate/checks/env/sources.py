"""Where variable values come from: `.env` files, the process environment, platform exports.

The files belong to the project under scan, so their flaws are findings, not input errors; only
a file gate.yml names that does not exist is an input error.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from gate.errors import InputError
from gate.safeio import check_regular, read_regular

MAX_ENV_FILE_BYTES = 1024 * 1024
PROCESS_SOURCE = "(process environment)"


@dataclass(frozen=True)
class Definition:
    name: str
    value: str
    source: str
    line: int | None


@dataclass(frozen=True)
class BadLine:
    source: str
    line: int
    reason: str


def require_file(root: Path, relative: str) -> Path:
    """The file gate.yml names, inside the project, of a sane size; else an input error."""
    path = root / relative
    shown = relative.replace("\\", "/")
    if not path.resolve().is_relative_to(root.resolve()):
        raise InputError(f"env file {shown} is outside the project (or a symlink out of it); it is not read")
    if not path.exists():
        raise InputError(
            f"env file {shown} named in gate.yml does not exist in {root}",
            hint="fix the path under checks.env.targets, or remove it",
        )
    try:
        check_regular(path, MAX_ENV_FILE_BYTES)
    except OSError as error:
        raise InputError(f"env file {shown} cannot be read: {error}", hint="name a regular file") from None
    return path


def _read_text(root: Path, relative: str) -> tuple[str, str]:
    path = require_file(root, relative)
    shown = relative.replace("\\", "/")
    try:
        raw = read_regular(path, MAX_ENV_FILE_BYTES)
    except OSError as error:
        raise InputError(f"env file {shown} cannot be read: {error}", hint="name a regular file") from None
    return raw.decode("utf-8", "replace"), shown


def read_dotenv(root: Path, relative: str) -> tuple[list[Definition], list[BadLine]]:
    from dotenv.parser import parse_stream

    text, shown = _read_text(root, relative)
    definitions: list[Definition] = []
    bad: list[BadLine] = []
    for binding in parse_stream(io.StringIO(text)):
        if binding.error:
            # The original text may hold a secret: only the line number leaves this function.
            bad.append(BadLine(shown, binding.original.line, "this line is not KEY=VALUE"))
        elif binding.key is not None:
            if binding.value is None:
                bad.append(BadLine(shown, binding.original.line, f"{binding.key} has no '=' and no value"))
            else:
                definitions.append(Definition(binding.key, binding.value, shown, binding.original.line))
    return definitions, bad


def _line_of(text: str, needle: str) -> int | None:
    offset = text.find(needle)
    return None if offset < 0 else text.count("\n", 0, offset) + 1


def read_platform_export(root: Path, relative: str) -> tuple[list[Definition], list[BadLine]]:
    """A hosting platform's export: a JSON object, a JSON list of {key, value}, or KEY=VALUE lines."""
    text, shown = _read_text(root, relative)
    try:
        data = json.loads(text)
    except ValueError:
        return read_dotenv(root, relative)
    pairs: list[tuple[str, object]] = []
    if isinstance(data, dict):
        pairs = list(data.items())
    elif isinstance(data, list):
        for item in data:
            if isinstance(item, dict) and isinstance(item.get("key"), str):
                pairs.append((item["key"], item.get("value")))
    else:
        return [], [BadLine(shown, 1, "a platform export must be a JSON object or a list of {key, value}")]
    definitions = []
    bad = []
    for key, value in pairs:
        line = _line_of(text, json.dumps(key))
        if isinstance(value, str):
            definitions.append(Definition(key, value, shown, line))
        elif isinstance(value, int | float | bool):
            definitions.append(Definition(key, json.dumps(value), shown, line))
        else:
            bad.append(BadLine(shown, line or 1, f"{key} has no text value (encrypted or missing in the export)"))
    return definitions, bad


def read_process(environ: Mapping[str, str], names: set[str]) -> Iterator[Definition]:
    """Only the variables the manifest or code mention: the runner's own are none of our business."""
    for name in sorted(names):
        if name in environ:
            yield Definition(name, environ[name], PROCESS_SOURCE, None)
