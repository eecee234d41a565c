"""JavaScript lock files: package-lock.json (v1-v3), pnpm-lock.yaml and yarn.lock (classic, berry).

Each is read as data, never through the package manager. Keys that name no registry release
(git, tarball URLs, workspaces, links) become skipped or local packages instead of crashing the
parser; a multi-document pnpm-lock.yaml is read document by document, never as its first one.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from gate.checks.deps.osv import NPM, VERSION_KEYS
from gate.checks.deps.pinned import LinedDict, Pinned, load_json_lines, load_yaml_docs, read_text
from gate.errors import InputError, Position

PACKAGE_LOCK_VERSIONS = (1, 2, 3)
PNPM_MAJOR_MAX = 9
YARN_BERRY_MAX = 8
_LOCAL_PREFIXES = ("file:", "link:", "workspace:", "portal:")
_REMOTE_PREFIXES = ("git+", "git:", "github:", "gitlab:", "bitbucket:", "http:", "https:", "exec:")


def _is_semver(version: str) -> bool:
    return VERSION_KEYS[NPM](version) is not None


_NAME = re.compile(r"^(@[^/@\s]+/)?[^/@\s]+$")


def _classify(name: str, version: str | None, shown: str, line: int | None, manager: str) -> Pinned:
    """A registry release when `version` is semver; otherwise local or skipped, with the reason."""
    if not _NAME.match(name):
        return Pinned(NPM, name, None, shown, line, manager, skip=f"{name[:80]!r} is not an npm package name")
    if version is None or version == "":
        return Pinned(NPM, name, None, shown, line, manager, skip="no version in the lock file")
    if version.startswith(_LOCAL_PREFIXES):
        return Pinned(NPM, name, None, shown, line, manager, local=True)
    if version.startswith(_REMOTE_PREFIXES) or "/" in version or not _is_semver(version):
        return Pinned(NPM, name, None, shown, line, manager, skip=f"not a registry release ({version[:80]})")
    return Pinned(NPM, name, version, shown, line, manager)


def _split_spec(spec: str) -> tuple[str, str]:
    """`name@rest` where name may be scoped (`@scope/name`): split at the first @ after the start."""
    at = spec.find("@", 1)
    if at <= 0:
        return spec, ""
    return spec[:at], spec[at + 1 :]


def read_package_lock(root: Path, path: Path) -> Iterator[Pinned]:
    shown = path.relative_to(root).as_posix()
    text = read_text(path, shown)
    data = load_json_lines(text, shown)
    if not isinstance(data, LinedDict) or "lockfileVersion" not in data:
        raise InputError("not a package-lock.json: no lockfileVersion", Position(shown, 1))
    version = data["lockfileVersion"]
    if version not in PACKAGE_LOCK_VERSIONS:
        line = next((n for n, raw in enumerate(text.splitlines(), 1) if '"lockfileVersion"' in raw), 1)
        raise InputError(
            f"lockfileVersion {version} is not one the gate reads ({', '.join(map(str, PACKAGE_LOCK_VERSIONS))})",
            Position(shown, line),
            hint="upgrade launch-gate, or regenerate the lock file with the npm version your team pins",
        )
    packages = data.get("packages")
    if isinstance(packages, dict) and version >= 2:
        yield from _lock_packages(packages, shown)
    else:
        yield from _lock_v1(data.get("dependencies") or {}, shown)


def _lock_packages(packages: dict[str, Any], shown: str) -> Iterator[Pinned]:
    for key, entry in packages.items():
        if not isinstance(entry, LinedDict):
            raise InputError(
                f"packages[{key[:80]!r}] is not an object", Position(shown, getattr(packages, "line", None))
            )
        if key == "":
            continue  # the project itself
        line = entry.line
        marker = key.rfind("node_modules/")
        if marker < 0 or entry.get("link"):
            # A workspace folder or a link to one: the project's own code.
            yield Pinned(NPM, str(entry.get("name") or key), None, shown, line, "npm", local=True)
            continue
        name = str(entry.get("name") or key[marker + len("node_modules/") :])
        resolved = str(entry.get("resolved") or "")
        if resolved.startswith(_LOCAL_PREFIXES):
            yield Pinned(NPM, name, None, shown, line, "npm", local=True)
        elif resolved.startswith(("git+", "git:", "github:")):
            yield Pinned(NPM, name, None, shown, line, "npm", skip="git source: not a registry release")
        else:
            yield _classify(name, entry.get("version"), shown, line, "npm")


def _lock_v1(dependencies: dict[str, Any], shown: str) -> Iterator[Pinned]:
    for name, entry in dependencies.items():
        if not isinstance(entry, LinedDict):
            raise InputError(
                f"dependencies[{name[:80]!r}] is not an object", Position(shown, getattr(dependencies, "line", None))
            )
        line = entry.line
        version = str(entry.get("version") or "")
        real = name
        if version.startswith("npm:"):  # "alias": {"version": "npm:real@1.2.3"}
            real, version = _split_spec(version[4:])
        yield _classify(real, version, shown, line, "npm")
        yield from _lock_v1(entry.get("dependencies") or {}, shown)


def _pnpm_key(key: str, major: int) -> tuple[str, str]:
    key = key.lstrip("/")
    if major >= 6:
        name, version = _split_spec(key.split("(", 1)[0])
        return name, version
    parts = key.split("/")
    if parts and "." in parts[0] and len(parts) >= 3:  # registry.example.com/name/1.0.0
        parts = parts[1:]
    if parts and parts[0].startswith("@") and len(parts) >= 3:
        return "/".join(parts[:2]), parts[2].split("_", 1)[0]
    if len(parts) >= 2:
        return parts[0], parts[1].split("_", 1)[0]
    return key, ""


def read_pnpm_lock(root: Path, path: Path) -> Iterator[Pinned]:
    shown = path.relative_to(root).as_posix()
    docs = load_yaml_docs(read_text(path, shown), shown)
    if not docs or all(doc.data is None for doc in docs):
        raise InputError("empty pnpm-lock.yaml", Position(shown, 1))
    for doc in docs:
        data = doc.data
        if data is None:
            continue
        if not isinstance(data, dict) or "lockfileVersion" not in data:
            raise InputError(
                "not a pnpm lock document: no lockfileVersion",
                Position(shown, doc.lines.get((next(iter(data), ""),), 1) if isinstance(data, dict) else 1),
            )
        raw_version = str(data["lockfileVersion"])
        try:
            major = int(float(raw_version))
        except ValueError:
            major = -1
        if major < 5 or major > PNPM_MAJOR_MAX:
            raise InputError(
                f"lockfileVersion {raw_version} is not one the gate reads (5.x to {PNPM_MAJOR_MAX}.x)",
                Position(shown, doc.lines.get(("lockfileVersion",))),
                hint="upgrade launch-gate, or regenerate the lock file with the pnpm version your team pins",
            )
        packages = data.get("packages") or {}
        if not isinstance(packages, dict):
            raise InputError("`packages` is not a mapping", Position(shown, doc.lines.get(("packages",))))
        for key, entry in packages.items():
            entry = entry if isinstance(entry, dict) else {}
            line = doc.lines.get(("packages", key))
            name, version = _pnpm_key(key, major)
            name = str(entry.get("name") or name)
            resolution: dict[str, Any] = entry["resolution"] if isinstance(entry.get("resolution"), dict) else {}
            if resolution.get("directory") or version.startswith(_LOCAL_PREFIXES):
                yield Pinned(NPM, name, None, shown, line, "pnpm", local=True)
            elif resolution.get("repo") or resolution.get("type") == "git":
                yield Pinned(NPM, name, None, shown, line, "pnpm", skip="git source: not a registry release")
            else:
                # The key says where the release came from (`pkg@https://...` is a tarball even
                # when the entry carries a `version`); the entry's version only fills a bare key.
                yield _classify(name, version or entry.get("version"), shown, line, "pnpm")


def read_yarn_lock(root: Path, path: Path) -> Iterator[Pinned]:
    shown = path.relative_to(root).as_posix()
    text = read_text(path, shown)
    if re.search(r"^__metadata:", text, re.MULTILINE):
        yield from _yarn_berry(text, shown)
    else:
        yield from _yarn_classic(text, shown)


def _yarn_key_specs(header: str) -> list[str]:
    """`"a@^1", a@^1.2:` -> ["a@^1", "a@^1.2"]; keys may or may not be quoted."""
    specs, current, quoted = [], "", False
    for char in header:
        if char == '"':
            quoted = not quoted
        elif char == "," and not quoted:
            specs.append(current.strip())
            current = ""
        else:
            current += char
    specs.append(current.strip())
    return [spec for spec in specs if spec]


def _yarn_name(spec: str) -> str:
    name, rest = _split_spec(spec)
    if rest.startswith("npm:"):  # an alias: "wrap-ansi-cjs@npm:wrap-ansi@^7.0.0"
        name, _ = _split_spec(rest[4:])
    return name


def _yarn_classic(text: str, shown: str) -> Iterator[Pinned]:
    entry: dict[str, Any] | None = None

    def flush(current: dict[str, Any] | None) -> Iterator[Pinned]:
        if current is None:
            return
        resolved = str(current.get("resolved", ""))
        if resolved.startswith(_LOCAL_PREFIXES) or current["range"].startswith(_LOCAL_PREFIXES):
            yield Pinned(NPM, current["name"], None, shown, current["line"], "yarn", local=True)
        elif (
            resolved.startswith(("git+", "git:", "github:"))
            or "codeload.github.com" in resolved
            or current["range"].startswith(_REMOTE_PREFIXES)
        ):
            yield Pinned(
                NPM,
                current["name"],
                None,
                shown,
                current["line"],
                "yarn",
                skip="git or URL source: not a registry release",
            )
        else:
            yield _classify(current["name"], current.get("version"), shown, current["line"], "yarn")

    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        if not raw[0].isspace():
            if not raw.rstrip().endswith(":"):
                raise InputError(
                    "expected a package header ending in ':'",
                    Position(shown, number),
                    hint="regenerate yarn.lock with `yarn install`",
                )
            yield from flush(entry)
            specs = _yarn_key_specs(raw.rstrip()[:-1])
            if not specs:
                raise InputError("package header names no package", Position(shown, number))
            first = specs[0]
            _name, rest = _split_spec(first)
            entry = {"name": _yarn_name(first), "range": rest, "line": number}
            continue
        if entry is None:
            raise InputError("indented line before any package header", Position(shown, number))
        if raw.startswith("  ") and not raw.startswith("   "):
            field, _, value = raw.strip().partition(" ")
            if field in ("version", "resolved"):
                entry[field] = value.strip().strip('"')
    yield from flush(entry)


def _yarn_berry(text: str, shown: str) -> Iterator[Pinned]:
    docs = load_yaml_docs(text, shown)
    data = docs[0].data if docs else None
    if not isinstance(data, dict) or not isinstance(data.get("__metadata"), dict):
        raise InputError("not a yarn lock file: no __metadata", Position(shown, 1))
    lines = docs[0].lines
    raw_version = str(data["__metadata"].get("version", ""))
    if not raw_version.isdigit() or int(raw_version) > YARN_BERRY_MAX:
        raise InputError(
            f"yarn lock file version {raw_version} is not one the gate reads (up to {YARN_BERRY_MAX})",
            Position(shown, lines.get(("__metadata",))),
            hint="upgrade launch-gate, or regenerate the lock file with the yarn version your team pins",
        )
    for key, entry in data.items():
        if key == "__metadata":
            continue
        line = lines.get((key,))
        if not isinstance(entry, dict):
            raise InputError(f"entry {key[:60]!r} is not a mapping", Position(shown, line))
        resolution = str(entry.get("resolution") or "")
        name, rest = _split_spec(resolution)
        if rest.startswith("patch:"):
            # "lodash@patch:lodash@npm%3A4.17.21#..." patches a registry release: audit the release.
            name, rest = _split_spec(urllib.parse.unquote(rest[len("patch:") :].split("#", 1)[0]))
        name = name or _yarn_name(_yarn_key_specs(key)[0])
        if rest.startswith("npm:"):
            yield _classify(name, rest[4:], shown, line, "yarn-berry")
        elif rest.startswith(_LOCAL_PREFIXES):
            yield Pinned(NPM, name, None, shown, line, "yarn-berry", local=True)
        else:
            yield Pinned(
                NPM,
                name,
                None,
                shown,
                line,
                "yarn-berry",
                skip=f"not a registry release ({rest[:80] or 'no resolution'})",
            )
