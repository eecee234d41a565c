"""OSV records: parsing them defensively, matching versions, and an index over a whole database.

The index is built once per process for a given directory or zip (keyed by the files' sizes and
modification times) and then answers each (ecosystem, package) lookup from a dict. Records are
read as published: dates may be strings or YAML timestamps, versions may not parse, records may
be withdrawn; none of that may crash the gate or hide a match.

Longer than most modules (~450 lines): the defensive record reader, the version matcher and the
index are one unit whose caches (versions parsed once per process) must agree; split, each part
would need the others' private caches.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import re
import threading
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from gate.checks.deps.severity import Rated, rate
from gate.errors import InputError, Position

logger = logging.getLogger(__name__)

PYPI = "PyPI"
NPM = "npm"
RECORD_SUFFIXES = (".json", ".yaml", ".yml")
# One advisory is a few kilobytes; a record this large is not an advisory.
MAX_RECORD_BYTES = 8 * 1024 * 1024
MAX_RECORDS = 2_000_000
# OSV's largest per-ecosystem export unpacks to a few gigabytes; past this it is a zip bomb.
MAX_ZIP_BYTES = 16 * 1024 * 1024 * 1024

VersionKey = Any  # packaging.version.Version or semver.Version: ordered within one ecosystem
# Distinct version strings whose parse is remembered: advisories of one package list the same
# releases again and again (a PyPA record names every affected release), so a cold audit parsed
# each of them once per advisory.
VERSION_CACHE = 1 << 16


@functools.lru_cache(maxsize=VERSION_CACHE)
def _pypi_key(text: str) -> VersionKey:
    from packaging.version import InvalidVersion, Version

    try:
        return Version(text)
    except InvalidVersion:
        return None


@functools.lru_cache(maxsize=VERSION_CACHE)
def _npm_key(text: str) -> VersionKey:
    import semver

    try:
        return semver.Version.parse(text.lstrip("v="))
    except (ValueError, TypeError):
        return None


VERSION_KEYS: dict[str, Callable[[str], VersionKey]] = {PYPI: _pypi_key, NPM: _npm_key}


def normalize_name(ecosystem: str, name: str) -> str:
    if ecosystem == PYPI:
        from packaging.utils import canonicalize_name

        return str(canonicalize_name(name))
    return name


@dataclass(frozen=True)
class Advisory:
    """One OSV record, as much of it as a finding needs."""

    id: str
    aliases: tuple[str, ...]
    summary: str
    severity_entries: tuple[Mapping[str, Any], ...] = ()
    database_specific: Mapping[str, Any] | None = None

    @property
    def ids(self) -> tuple[str, ...]:
        return (self.id, *self.aliases)

    def rating(self) -> Rated | None:
        return rate(self.severity_entries, self.database_specific)


@dataclass(frozen=True)
class _Event:
    kind: str  # introduced | fixed | last_affected
    key: VersionKey  # None for the "0" that opens a range at the very beginning
    raw: str


class Affected:
    """One `affected[]` entry of a record, compiled for one ecosystem's version order.

    Compiling (parsing every version the entry names) waits for the first lookup of its
    package: a run asks about a few hundred of the database's packages, not all of them.
    """

    def __init__(self, advisory: Advisory, ecosystem: str, entry: Mapping[str, Any]) -> None:
        self.advisory = advisory
        self._ecosystem = ecosystem
        self._entry: Mapping[str, Any] | None = entry
        self._ranges: list[list[_Event]] = []
        self._versions: set[str] = set()
        # A set: both version types hash what they compare (1.0 and 1.0.0 are one release).
        self._version_keys: set[VersionKey] = set()

    def _compile(self) -> None:
        entry, self._entry = self._entry, None
        if entry is None:
            return
        keyer = VERSION_KEYS[self._ecosystem]
        for rng in entry.get("ranges") or []:
            if isinstance(rng, Mapping) and rng.get("type") in ("ECOSYSTEM", "SEMVER"):
                events = _compile_events(rng.get("events"), keyer, self.advisory.id)
                if events:
                    self._ranges.append(events)
        versions = entry.get("versions")
        for version in versions if isinstance(versions, list) else []:
            self._versions.add(str(version))
            key = keyer(str(version))
            if key is not None:
                self._version_keys.add(key)

    @property
    def ranges(self) -> list[list[_Event]]:
        self._compile()
        return self._ranges

    def affects(self, version: str, key: VersionKey) -> bool:
        self._compile()
        if version in self._versions or (key is not None and key in self._version_keys):
            return True
        if key is None:
            return False
        for events in self.ranges:
            affected = False
            for event in events:
                if event.kind == "introduced":
                    if event.key is None or key >= event.key:
                        affected = True
                elif event.kind == "fixed":
                    if key >= event.key:
                        affected = False
                elif key > event.key:  # last_affected, fixed-after
                    affected = False
            if affected:
                return True
        return False

    def fixes(self) -> list[tuple[VersionKey, str]]:
        """Every fixed version this entry names (its order key and its text), lowest first."""
        found = {(e.key, e.raw) for events in self.ranges for e in events if e.kind in ("fixed", "fixed-after")}
        return sorted(found, key=lambda pair: pair[0])


_RELEASE_PREFIX = re.compile(r"^v?(\d+(?:\.\d+)*)")


def _approximate(kind: str, text: str, keyer: Callable[[str], VersionKey]) -> tuple[VersionKey, str]:
    """An order for a version that does not parse (`0.2.0-n653` in PYSEC-2021-371).

    Its release prefix stands in, on the side that keeps the match: a fix after `0.2.0` leaves
    0.2.0 itself affected ("fixed-after" closes like last_affected), an introduction stays put.
    """
    prefix = _RELEASE_PREFIX.match(text)
    key = keyer(prefix.group(1)) if prefix else None
    if key is None:
        return None, kind
    return key, "fixed-after" if kind == "fixed" else kind


def _compile_events(raw_events: Any, keyer: Callable[[str], VersionKey], record_id: str) -> list[_Event] | None:
    events: list[_Event] = []
    for raw in raw_events if isinstance(raw_events, list) else []:
        if not isinstance(raw, Mapping):
            continue
        for kind in ("introduced", "fixed", "last_affected"):
            if kind not in raw:
                continue
            text = str(raw[kind])
            key = None if (kind == "introduced" and text == "0") else keyer(text)
            if key is None and not (kind == "introduced" and text == "0"):
                key, kind = _approximate(kind, text, keyer)
                if key is None:
                    logger.debug("%s: version %r in a range does not parse; range skipped", record_id, text)
                    return None
            events.append(_Event(kind, key, text))
    # At one version, "introduced" opens before a "fixed" or "last_affected" there closes.
    order = {"introduced": 0, "last_affected": 1, "fixed": 1, "fixed-after": 1}
    events.sort(key=lambda e: (0, 0, 0) if e.key is None else (1, e.key, order[e.kind]))
    return events


def _present(value: Any) -> bool:
    """YAML read as text keeps `null` and `~` as words; they still mean nothing is there."""
    return value is not None and value not in ("", "null", "Null", "NULL", "~")


def compile_record(record: Any) -> Iterator[tuple[str, str, Affected]]:
    """(ecosystem, normalized name, compiled entry) for each affected package we can audit."""
    if not isinstance(record, Mapping) or not isinstance(record.get("id"), str):
        return
    if _present(record.get("withdrawn")):
        return
    aliases = record.get("aliases")
    summary = next(
        (v for v in (record.get("summary"), record.get("details")) if _present(v)), "no summary in the advisory"
    )
    severity = record.get("severity")
    advisory = Advisory(
        id=record["id"],
        aliases=tuple(str(a) for a in aliases) if isinstance(aliases, list) else (),
        summary=" ".join(str(summary).split())[:400],
        severity_entries=tuple(s for s in severity if isinstance(s, Mapping)) if isinstance(severity, list) else (),
        database_specific=record.get("database_specific")
        if isinstance(record.get("database_specific"), Mapping)
        else None,
    )
    for entry in record.get("affected") or []:
        package = entry.get("package") if isinstance(entry, Mapping) else None
        if not isinstance(package, Mapping):
            continue
        ecosystem, name = package.get("ecosystem"), package.get("name")
        if ecosystem not in VERSION_KEYS or not isinstance(name, str):
            continue
        compiled = Affected(advisory, ecosystem, entry)
        yield ecosystem, normalize_name(ecosystem, name), compiled


@dataclass(frozen=True)
class Match:
    advisory: Advisory
    ordered: tuple[tuple[VersionKey, str], ...]  # fixed versions above the installed one, lowest first

    @property
    def fixes(self) -> tuple[str, ...]:
        return tuple(raw for _, raw in self.ordered)


class OsvIndex:
    """Advisories by (ecosystem, normalized package name)."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.by_package: dict[tuple[str, str], list[Affected]] = {}
        self.records = 0
        self.advisories: dict[str, Advisory] = {}

    def add(self, record: Any) -> None:
        self.records += 1
        for ecosystem, name, compiled in compile_record(record):
            self.by_package.setdefault((ecosystem, name), []).append(compiled)
            for ident in compiled.advisory.ids:
                self.advisories.setdefault(ident, compiled.advisory)

    def query(self, ecosystem: str, name: str, version: str) -> list[Match]:
        entries = self.by_package.get((ecosystem, normalize_name(ecosystem, name)), [])
        if not entries:
            return []
        key = VERSION_KEYS[ecosystem](version)
        matches: dict[str, Match] = {}
        for entry in entries:
            if not entry.affects(version, key):
                continue
            # >=: a fix approximated from text like `0.2.0-n653` may equal the installed release.
            fixes = [pair for pair in entry.fixes() if key is None or pair[0] >= key]
            seen = matches.get(entry.advisory.id)
            merged = sorted(set(fixes) | set(seen.ordered if seen else ()), key=lambda pair: pair[0])
            matches[entry.advisory.id] = Match(entry.advisory, tuple(merged))
        return list(matches.values())


def parse_record(raw: bytes, name: str, where: str) -> Any:
    """One record file; a file that is not JSON or YAML at all is bad input, named by line."""
    position = Position(where)
    try:
        if name.endswith(".json"):
            return json.loads(raw)
        return _yaml_text_tree(raw)
    except json.JSONDecodeError as error:
        position = Position(where, error.lineno, error.colno)
        message = error.msg
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        position = Position(where, mark.line + 1, mark.column + 1) if mark else position
        message = str(error.problem)
    except (yaml.YAMLError, UnicodeDecodeError, RecursionError) as error:
        message = str(error)
    raise InputError(
        f"this OSV record cannot be read: {message}",
        position,
        hint="fix or delete the file; the offline database must hold only OSV records (JSON or YAML)",
    )


def _yaml_text_tree(raw: bytes) -> Any:
    """A YAML document as dicts, lists and strings: every scalar as text, so timestamps stay
    strings and versions like 1.10 never become floats.

    What `yaml.load` with the base loader returns, built from libyaml's node tree by one small
    recursion instead of PyYAML's generic constructor (its generators and per-node dispatch cost
    a tenth of a cold audit). An alias is the object its anchor built, never a copy, so expansion
    stays bounded by the document's size; a recursive alias is refused.
    """
    loader = getattr(yaml, "CBaseLoader", yaml.BaseLoader)(raw)
    try:
        node = loader.get_single_node()
    finally:
        loader.dispose()
    return None if node is None else _text_tree(node, {}, set())


def _text_tree(node: yaml.Node, built: dict[int, Any], open_nodes: set[int]) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return node.value
    key = id(node)
    if key in built:
        return built[key]
    if key in open_nodes:
        raise yaml.constructor.ConstructorError(None, None, "found a recursive alias", node.start_mark)
    open_nodes.add(key)
    value: Any
    if isinstance(node, yaml.SequenceNode):
        value = [_text_tree(item, built, open_nodes) for item in node.value]
    else:
        value = {}
        for key_node, value_node in node.value:
            name = _text_tree(key_node, built, open_nodes)
            if not isinstance(name, str):
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping", node.start_mark, "found an unhashable key", key_node.start_mark
                )
            value[name] = _text_tree(value_node, built, open_nodes)
    open_nodes.discard(key)
    built[key] = value
    return value


def _dir_files(root: Path) -> list[tuple[str, Path, int, int]]:
    found: list[tuple[str, Path, int, int]] = []
    for dirpath, dirnames, filenames in os.walk(root):  # os.walk does not follow symlinked dirs
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for filename in sorted(filenames):
            if not filename.endswith(RECORD_SUFFIXES):
                continue
            path = Path(dirpath) / filename
            if path.is_symlink():
                continue
            stat = path.stat()
            found.append((str(path.relative_to(root)), path, stat.st_size, stat.st_mtime_ns))
    return found


def _load_dir(root: Path, files: list[tuple[str, Path, int, int]]) -> OsvIndex:
    index = OsvIndex(str(root))
    for relative, path, size, _ in files:
        if size > MAX_RECORD_BYTES:
            raise InputError(f"{size} bytes is too large for one OSV record", Position(path))
        index.add(parse_record(path.read_bytes(), relative, str(path)))
    return index


def _load_zip(path: Path) -> OsvIndex:
    index = OsvIndex(str(path))
    try:
        with zipfile.ZipFile(path) as archive:
            members = [m for m in archive.infolist() if not m.is_dir() and m.filename.endswith(RECORD_SUFFIXES)]
            if len(members) > MAX_RECORDS or sum(m.file_size for m in members) > MAX_ZIP_BYTES:
                raise InputError(
                    f"{len(members)} records unpacking to {sum(m.file_size for m in members)} bytes is more than "
                    f"the gate reads ({MAX_RECORDS} records, {MAX_ZIP_BYTES} bytes)",
                    Position(path),
                )
            for member in members:
                if member.file_size > MAX_RECORD_BYTES:
                    raise InputError(
                        f"{member.filename} is {member.file_size} bytes, too large for one OSV record", Position(path)
                    )
                with archive.open(member) as stream:
                    raw = stream.read(MAX_RECORD_BYTES + 1)
                index.add(parse_record(raw, member.filename, f"{path}!{member.filename}"))
    except (zipfile.BadZipFile, zipfile.LargeZipFile) as error:
        raise InputError(f"not a readable zip of OSV records: {error}", Position(path)) from None
    return index


_CACHE: dict[str, tuple[Any, OsvIndex]] = {}
_CACHE_LOCK = threading.Lock()


def load_index(path: Path) -> OsvIndex:
    """The index over a directory or zip of OSV records, built once per process per content."""
    resolved = path.resolve()
    if not resolved.exists():
        raise InputError(
            "the offline OSV database does not exist",
            Position(path),
            hint="point checks.deps.osv_db (or --osv-db) at a directory or zip of OSV records",
        )
    with _CACHE_LOCK:
        if resolved.is_dir():
            files = _dir_files(resolved)
            if not files:
                raise InputError("this directory holds no OSV records (*.json, *.yaml)", Position(path))
            signature: Any = tuple((rel, size, mtime) for rel, _, size, mtime in files)
        else:
            stat = resolved.stat()
            signature = (stat.st_size, stat.st_mtime_ns)
        cached = _CACHE.get(str(resolved))
        if cached is not None and cached[0] == signature:
            return cached[1]
        index = _load_dir(resolved, files) if resolved.is_dir() else _load_zip(resolved)
        _CACHE[str(resolved)] = (signature, index)
        return index


def merge_indexes(indexes: list[OsvIndex]) -> OsvIndex:
    """One index over several databases (a PyPI and an npm export, say); the cached ones stay intact."""
    if len(indexes) == 1:
        return indexes[0]
    merged = OsvIndex(" + ".join(index.source for index in indexes))
    for index in indexes:
        merged.records += index.records
        for key, entries in index.by_package.items():
            merged.by_package[key] = merged.by_package.get(key, []) + entries
        for ident, advisory in index.advisories.items():
            merged.advisories.setdefault(ident, advisory)
    return merged


def index_of_records(records: Iterable[Any], source: str) -> OsvIndex:
    index = OsvIndex(source)
    for record in records:
        index.add(record)
    return index
