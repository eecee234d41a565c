"""Python manifests and lock files, read into pinned dependencies without installing anything.

requirements files are parsed by pip-requirements-parser (the parser pip-audit uses) and
`pylock.toml` by pip-audit's own `PyLockSource`; uv.lock, poetry.lock and Pipfile.lock have
no pip-audit source, so they are read here with tomllib and json. pyproject.toml is only read
where no lock file sits beside it, and only its exact pins can be audited: resolving ranges
would mean running a resolver on the project, which the gate never does.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from gate.checks.deps.osv import PYPI
from gate.checks.deps.pinned import LinedDict, Pinned, load_json_lines, load_toml, read_text, toml_table_lines
from gate.errors import InputError, Position

UV_LOCK_VERSIONS = (1,)
POETRY_LOCK_MAJOR = 2
PIPFILE_SPEC_MAX = 6
PYLOCK_MAJOR = 1
_EXACT = re.compile(r"^===?\s*([^*\s,;]+)$")


def _future(shown: str, line: int | None, what: str, found: Any, supported: str, tool: str) -> InputError:
    return InputError(
        f"{what} {found} is newer than the gate can read (it reads {supported})",
        Position(shown, line),
        hint=f"upgrade launch-gate, or regenerate the file with the {tool} version your team pins",
    )


def _safe_include(root: Path, base: Path, target: str, shown: str, line: int) -> Path:
    path = (base.parent / target).resolve()
    if not path.is_relative_to(root.resolve()):
        raise InputError(
            f"-r {target} points outside the project",
            Position(shown, line),
            hint="keep included requirements files inside the repository",
        )
    if not path.is_file():
        raise InputError(f"-r {target}: no such file", Position(shown, line))
    return path


def read_requirements(root: Path, path: Path, seen: set[Path] | None = None) -> Iterator[Pinned]:
    """A requirements file and the files it includes with -r, each line where it is pinned."""
    from pip_requirements_parser import RequirementsFile

    seen = set() if seen is None else seen
    resolved = path.resolve()
    if resolved in seen:
        return
    seen.add(resolved)
    shown = resolved.relative_to(root.resolve()).as_posix()
    read_text(resolved, shown)  # size and encoding limits before the parser sees it
    parsed = RequirementsFile.from_file(str(resolved), include_nested=False)
    if parsed.invalid_lines:
        bad = parsed.invalid_lines[0]
        raise InputError(
            f"not a valid requirement: {bad.error_message.splitlines()[0]}",
            Position(shown, bad.line_number),
            hint="write it as NAME==VERSION (PEP 508)",
        )
    for option in parsed.options:
        for target in option.options.get("requirements", []):
            included = _safe_include(root, resolved, target, shown, option.requirement_line.line_number)
            yield from read_requirements(root, included, seen)
    for req in parsed.requirements:
        line = req.requirement_line.line_number
        name = req.name or req.requirement_line.line.strip()
        scheme = req.link.scheme if req.link is not None else ""
        if req.is_vcs_url or scheme not in ("", "file"):
            # `-e git+https://…#egg=x` is editable but not the project's own code: someone else's
            # repository at whatever commit it holds today, which no advisory database can match.
            kind = "VCS" if req.is_vcs_url else "URL"
            reason = f"{kind} requirement ({scheme}): code from outside any package index, so it is not audited"
            yield Pinned(PYPI, name, None, shown, line, "pip", skip=reason)
            continue
        if req.is_editable or (req.req is None and not req.is_url):
            yield Pinned(PYPI, name, None, shown, line, "pip", local=True)
            continue
        if req.is_url or req.link is not None:
            yield Pinned(PYPI, name, None, shown, line, "pip", skip="URL requirement: no release version to look up")
            continue
        exact = _EXACT.match(str(req.specifier))
        if exact is None:
            reason = f"not pinned ({req.specifier or 'any version'}); pin it with == or audit the lock it compiles to"
            yield Pinned(PYPI, name, None, shown, line, "pip", skip=reason)
        else:
            yield Pinned(PYPI, name, exact.group(1), shown, line, "pip")


def read_pyproject(root: Path, path: Path) -> Iterator[Pinned]:
    from packaging.requirements import InvalidRequirement, Requirement

    shown = path.relative_to(root).as_posix()
    text = read_text(path, shown)
    data = load_toml(text, shown)
    project: dict[str, Any] = data["project"] if isinstance(data.get("project"), dict) else {}
    specs: list[str] = list(project.get("dependencies") or [])
    groups = [*(project.get("optional-dependencies") or {}).values(), *(data.get("dependency-groups") or {}).values()]
    for group in groups:
        if isinstance(group, list):
            specs.extend(spec for spec in group if isinstance(spec, str))
    lines = text.splitlines()
    for spec in specs:
        line = next((n for n, raw in enumerate(lines, 1) if spec in raw), None)
        try:
            req = Requirement(str(spec))
        except InvalidRequirement as error:
            raise InputError(f"not a valid PEP 508 requirement: {error}", Position(shown, line)) from None
        if req.url:
            yield Pinned(
                PYPI, req.name, None, shown, line, "pip", skip="URL requirement: no release version to look up"
            )
            continue
        exact = _EXACT.match(str(req.specifier))
        if exact is None:
            reason = (
                f"not pinned ({req.specifier or 'any version'}) and no lock file beside pyproject.toml; "
                "commit a uv.lock, poetry.lock or pylock.toml"
            )
            yield Pinned(PYPI, req.name, None, shown, line, "pip", skip=reason)
        else:
            yield Pinned(PYPI, req.name, exact.group(1), shown, line, "pip")


def read_uv_lock(root: Path, path: Path) -> Iterator[Pinned]:
    shown = path.relative_to(root).as_posix()
    text = read_text(path, shown)
    data = load_toml(text, shown)
    version = data.get("version")
    if version not in UV_LOCK_VERSIONS:
        raise _future(shown, 1, "uv.lock version", version, "version = 1", "uv")
    yield from _toml_packages(data.get("package", []), text, "package", shown, "uv")


def read_poetry_lock(root: Path, path: Path) -> Iterator[Pinned]:
    shown = path.relative_to(root).as_posix()
    text = read_text(path, shown)
    data = load_toml(text, shown)
    lock_version = str((data.get("metadata") or {}).get("lock-version", "1.0"))
    try:
        major = int(lock_version.split(".")[0])
    except ValueError:
        major = -1
    if major < 1 or major > POETRY_LOCK_MAJOR:
        line = next((n for n, raw in enumerate(text.splitlines(), 1) if raw.startswith("lock-version")), None)
        raise _future(shown, line, "poetry.lock lock-version", lock_version, f"1.x and {POETRY_LOCK_MAJOR}.x", "Poetry")
    yield from _toml_packages(data.get("package", []), text, "package", shown, "poetry")


def _toml_packages(packages: Any, text: str, header: str, shown: str, manager: str) -> Iterator[Pinned]:
    if not isinstance(packages, list):
        raise InputError(f"`{header}` is not a list of tables", Position(shown))
    lines = toml_table_lines(text, header)
    for position, package in enumerate(packages):
        line = lines[position] if position < len(lines) else None
        name, version = package.get("name"), package.get("version")
        if not isinstance(name, str):
            raise InputError(f"a [[{header}]] entry has no name", Position(shown, line))
        source = package.get("source") or {}
        kind = source.get("type") if manager == "poetry" else next(iter(source), "registry")
        if kind in ("editable", "virtual", "directory", "path", "file") and not (
            manager == "poetry" and kind == "file" and str(source.get("url", "")).startswith("http")
        ):
            yield Pinned(PYPI, name, version, shown, line, manager, local=True)
        elif kind in ("git", "url"):
            yield Pinned(
                PYPI, name, version, shown, line, manager, skip=f"{kind} source: not a release on a package index"
            )
        elif not isinstance(version, str):
            yield Pinned(PYPI, name, None, shown, line, manager, skip="no version in the lock file")
        else:
            yield Pinned(PYPI, name, version, shown, line, manager)


def read_pipfile_lock(root: Path, path: Path) -> Iterator[Pinned]:
    shown = path.relative_to(root).as_posix()
    data = load_json_lines(read_text(path, shown), shown)
    if not isinstance(data, dict) or not isinstance(data.get("_meta"), dict):
        raise InputError("not a Pipfile.lock: no _meta section", Position(shown, 1))
    spec = data["_meta"].get("pipfile-spec")
    if not isinstance(spec, int) or spec > PIPFILE_SPEC_MAX:
        raise _future(shown, data["_meta"].line, "pipfile-spec", spec, f"up to {PIPFILE_SPEC_MAX}", "pipenv")
    for section in ("default", "develop"):
        for name, entry in (data.get(section) or {}).items():
            line = entry.line if isinstance(entry, LinedDict) else None
            if not isinstance(entry, dict):
                raise InputError(f"{section}.{name} is not an object", Position(shown, line))
            if "path" in entry or entry.get("editable"):
                yield Pinned(PYPI, name, None, shown, line, "pipenv", local=True)
                continue
            exact = _EXACT.match(str(entry.get("version", "")))
            if "git" in entry or "file" in entry:
                yield Pinned(
                    PYPI, name, None, shown, line, "pipenv", skip="VCS or URL source: not a release on a package index"
                )
            elif exact is None:
                yield Pinned(PYPI, name, None, shown, line, "pipenv", skip="no ==version in the lock file")
            else:
                yield Pinned(PYPI, name, exact.group(1), shown, line, "pipenv")


def read_pylock(root: Path, path: Path) -> Iterator[Pinned]:
    """pylock.toml (PEP 751) through pip-audit's own PyLockSource."""
    from packaging.version import InvalidVersion
    from pip_audit._dependency_source import PyLockSource
    from pip_audit._dependency_source.interface import DependencySourceError

    shown = path.relative_to(root).as_posix()
    text = read_text(path, shown)
    data = load_toml(text, shown)  # positioned syntax errors before pip-audit's unpositioned ones
    lock_version = str(data.get("lock-version", ""))
    if lock_version.split(".")[0].isdigit() and int(lock_version.split(".")[0]) > PYLOCK_MAJOR:
        raise _future(shown, 1, "pylock lock-version", lock_version, "1.x", "locking tool")
    lines = toml_table_lines(text, "packages")
    try:
        deps = list(PyLockSource([path]).collect())
    except (DependencySourceError, InvalidVersion) as error:
        raise InputError(f"pip-audit cannot read this lock file: {error}", Position(shown)) from None
    raw_packages: list[Any] = data["packages"] if isinstance(data.get("packages"), list) else []
    for position, dep in enumerate(deps):
        line = lines[position] if position < len(lines) else None
        raw = (
            raw_packages[position] if position < len(raw_packages) and isinstance(raw_packages[position], dict) else {}
        )
        if "directory" in raw:
            yield Pinned(PYPI, dep.name, None, shown, line, "pylock", local=True)
        elif dep.is_skipped() or "vcs" in raw:
            reason = "VCS source: not a release on a package index" if "vcs" in raw else str(dep.skip_reason)
            yield Pinned(PYPI, dep.name, None, shown, line, "pylock", skip=reason)
        else:
            yield Pinned(PYPI, dep.name, str(dep.version), shown, line, "pylock")
