"""The `deps` check: known-vulnerable dependencies in Python and JavaScript manifests and lock files.

Python packages are audited through pip-audit's Auditor and vulnerability services (ours over an
offline OSV database, or pip-audit's PyPI and OSV services); npm packages against OSV records of
the npm ecosystem, offline or through the OSV query API. Each finding names the advisory and its
aliases, the smallest fixed version and the upgrade command, at the line that pins the package.
"""

from __future__ import annotations

import fnmatch
import os
import tempfile
import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from gate import redact
from gate.checks.base import Check, CheckContext, CheckOption, Result, RuleDoc
from gate.checks.deps.osv import NPM, PYPI
from gate.checks.deps.pinned import Pinned
from gate.config.units import seconds
from gate.errors import CheckFailure, InputError, Position
from gate.model import Location, Measurement, Severity

if TYPE_CHECKING:
    from gate.checks.deps.services import Answer, Hit

_R = RuleDoc
RULES = (
    _R(
        "deps.vulnerable",
        "Dependency with a known vulnerability",
        Severity.HIGH,
        "A published advisory means attackers know how to exploit this version; scanners find such "
        "backends within days of an advisory going public.",
        "Upgrade to the fixed version the finding names (the command is in the message), re-lock, and deploy.",
    ),
    _R(
        "deps.vulnerable-no-fix",
        "Dependency with a known vulnerability and no fixed release",
        Severity.HIGH,
        "No release fixes this advisory yet, so upgrading cannot help; the risk stays until you "
        "remove the package, avoid the affected feature, or a fix ships.",
        "Replace or remove the package, or make sure the vulnerable code path is not reachable; "
        "then suppress the advisory in gate.yml with a reason and an expiry date to look again.",
    ),
    _R(
        "deps.unaudited",
        "Dependency could not be audited",
        Severity.MEDIUM,
        "A package whose version is unknown (not pinned, a git or URL source) or that the "
        "vulnerability service did not know was not checked at all; it is not clean.",
        "Pin it to an exact release in a lock file, or install it from a package index; if it is "
        "vendored on purpose, suppress it with a reason.",
    ),
    _R(
        "deps.no-lock-file",
        "package.json without a lock file",
        Severity.MEDIUM,
        "Without a lock file, what gets installed is whatever the ranges in package.json resolve to "
        "on the day of the deploy; nothing was audited, and nothing proves it is free of known "
        "vulnerabilities.",
        "Commit the lock file your package manager writes (package-lock.json, pnpm-lock.yaml or "
        "yarn.lock) and install with `npm ci`, `pnpm install --frozen-lockfile` or `yarn install --immutable`.",
    ),
)

PRUNED_DIRS = frozenset(
    {
        "node_modules",
        ".git",
        ".hg",
        ".svn",
        ".venv",
        "venv",
        "env",
        "__pycache__",
        ".tox",
        ".nox",
        "site-packages",
        ".mypy_cache",
        ".ruff_cache",
        ".pytest_cache",
        "bower_components",
        ".yarn",
        ".pnpm-store",
    }
)
MAX_WALKED = 200_000
PYTHON_LOCKS = ("uv.lock", "poetry.lock", "Pipfile.lock", "pylock.toml")
JS_LOCKS = frozenset({"package-lock.json", "npm-shrinkwrap.json", "pnpm-lock.yaml", "yarn.lock"})

Reader = Callable[[Path, Path], Iterator[Pinned]]


def _reader_for(name: str, parent: str) -> Reader | None:
    from gate.checks.deps import npm, python

    fixed: dict[str, Reader] = {
        "uv.lock": python.read_uv_lock,
        "poetry.lock": python.read_poetry_lock,
        "Pipfile.lock": python.read_pipfile_lock,
        "pylock.toml": python.read_pylock,
        "pyproject.toml": python.read_pyproject,
        "package-lock.json": npm.read_package_lock,
        "npm-shrinkwrap.json": npm.read_package_lock,
        "pnpm-lock.yaml": npm.read_pnpm_lock,
        "yarn.lock": npm.read_yarn_lock,
    }
    if name in fixed:
        return fixed[name]
    if fnmatch.fnmatchcase(name, "pylock.*.toml"):
        return python.read_pylock
    if name.endswith(".txt") and (name.startswith("requirements") or parent == "requirements"):
        return lambda root, path: python.read_requirements(root, path)
    return None


def discover(root: Path, exclude: list[str]) -> tuple[list[Path], list[Path]]:
    """Manifests and lock files under root, skipping installed trees and symlinks; and each
    package.json that no lock file in its folder or above covers."""
    found: list[Path] = []
    unlocked: list[Path] = []
    locked_dirs: set[Path] = set()
    walked = 0
    for dirpath, dirnames, filenames in os.walk(root):  # top-down: parents before children
        walked += len(filenames) + len(dirnames)
        if walked > MAX_WALKED:
            raise InputError(
                f"more than {MAX_WALKED} entries under the project root; list the lock files instead",
                hint="set checks.deps.files in gate.yml",
            )
        here = Path(dirpath)
        dirnames[:] = sorted(
            d for d in dirnames if d not in PRUNED_DIRS and not d.startswith(".") and not (here / d).is_symlink()
        )
        names = {n for n in filenames if not (here / n).is_symlink()}
        relative_dir = here.relative_to(root).as_posix()
        if any(fnmatch.fnmatchcase(relative_dir, pattern) for pattern in exclude):
            continue
        if names & JS_LOCKS:
            locked_dirs.add(here)
        elif "package.json" in names and not any(parent in locked_dirs for parent in here.parents):
            unlocked.append(here / "package.json")
        for name in sorted(names):
            path = here / name
            relative = path.relative_to(root).as_posix()
            if _reader_for(name, here.name) is None or any(fnmatch.fnmatchcase(relative, p) for p in exclude):
                continue
            if name == "pyproject.toml" and (
                names & set(PYTHON_LOCKS) or any(n.startswith("requirements") and n.endswith(".txt") for n in names)
            ):
                continue  # the lock beside it says what is installed; its ranges say nothing more
            found.append(path)
    return found, unlocked


def _explicit(root: Path, files: list[str]) -> list[Path]:
    paths = []
    for relative in files:
        path = (root / relative).resolve()  # follows symlinks, so a link out of the tree is caught too
        if not path.is_relative_to(root):
            raise InputError(
                f"checks.deps.files: {relative} is outside the project", hint="list files inside the project root"
            )
        if not path.is_file():
            raise InputError(f"checks.deps.files: {relative} does not exist or is not a file", Position(relative))
        if _reader_for(path.name, path.parent.name) is None:
            raise InputError(
                f"checks.deps.files: {relative} is not a manifest or lock file the gate reads",
                hint="requirements*.txt, pyproject.toml, pylock.toml, uv.lock, poetry.lock, Pipfile.lock, "
                "package-lock.json, npm-shrinkwrap.json, pnpm-lock.yaml, yarn.lock",
            )
        paths.append(path)
    return paths


def upgrade_command(pinned: Pinned, fix: str) -> str:
    name = pinned.name
    commands = {
        "pip": f'pip install "{name}=={fix}"  (and pin {name}=={fix} in {pinned.path})',
        "uv": f'uv lock --upgrade-package "{name}=={fix}"',
        "poetry": f"poetry update {name}  (raise its constraint in pyproject.toml if it stops below {fix})",
        "pipenv": f'pipenv install "{name}>={fix}"',
        "pylock": f're-lock pylock.toml with "{name}>={fix}"',
        "npm": f"npm install {name}@{fix}",
        "pnpm": f"pnpm update --recursive {name}@{fix}",
        "yarn": f"yarn upgrade {name}@{fix}",
        "yarn-berry": f"yarn up {name}@{fix}",
    }
    return commands[pinned.manager]


class DepsCheck(Check):
    name = "deps"
    summary = "Known-vulnerable dependencies (pip-audit, offline OSV data, npm/pnpm/yarn lock files)."
    rules = RULES
    options = (
        CheckOption(
            "--osv-db",
            "osv_db",
            "Audit offline against this directory or zip of OSV records (repeatable).",
            multiple=True,
            metavar="PATH",
        ),
        CheckOption("--service", "service", "Online service for Python packages: osv or pypi.", metavar="NAME"),
        CheckOption(
            "--file",
            "files",
            "Audit this manifest or lock file (repeatable; skips discovery).",
            multiple=True,
            metavar="FILE",
        ),
    )
    config_schema: ClassVar[Mapping[str, Any]] = {
        "properties": {
            "osv_db": {
                "anyOf": [
                    {"type": "string", "minLength": 1},
                    {"type": "array", "minItems": 1, "items": {"type": "string", "minLength": 1}},
                ],
                "description": "Directory or zip of OSV records (offline, air-gapped CI), relative to the project.",
            },
            "service": {
                "enum": ["osv", "pypi"],
                "description": "Online vulnerability service for Python packages (npm always uses OSV).",
            },
            "osv_url": {
                "type": "string",
                "pattern": "^https?://",
                "description": "OSV query API endpoint (default https://api.osv.dev/v1/query).",
            },
            "pypi_url": {
                "type": "string",
                "pattern": "^https?://",
                "description": "Base of a PyPI JSON API mirror (default https://pypi.org/pypi/).",
            },
            "request_timeout": {"$ref": "#/$defs/duration", "description": "Deadline of one request to the service."},
            "files": {
                "$ref": "#/$defs/repo-paths",
                "description": "Manifests and lock files to audit (default: found under the project root).",
            },
            "exclude": {"$ref": "#/$defs/globs", "description": "Paths (globs) discovery skips, e.g. examples/**."},
            "unknown_severity": {
                "$ref": "#/$defs/severity",
                "description": "Severity of an advisory that carries no CVSS vector or database rating.",
            },
        }
    }

    def run(self, ctx: CheckContext) -> Iterator[Result]:
        config = ctx.config
        root = ctx.root.resolve()
        if config.get("files"):
            files, unlocked = _explicit(root, list(config["files"])), list[Path]()
        else:
            files, unlocked = discover(root, list(config.get("exclude", [])))
        for manifest in unlocked:
            yield self.finding(
                "deps.no-lock-file",
                f"{manifest.relative_to(root).as_posix()} has no package-lock.json, pnpm-lock.yaml or yarn.lock "
                "beside it or above it, so its dependencies could not be audited.",
                location=Location(path=manifest.relative_to(root).as_posix()),
            )
        pins: list[Pinned] = []
        seen: set[tuple[str, int | None, str]] = set()
        for path in files:
            ctx.progress.update(f"reading {path.relative_to(root).as_posix()}")
            reader = _reader_for(path.name, path.parent.name)
            assert reader is not None
            for pinned in reader(root, path):
                if (pinned.path, pinned.line, pinned.name) not in seen:  # a file included by another
                    seen.add((pinned.path, pinned.line, pinned.name))
                    pins.append(pinned)
        answers = self._audit(ctx, root, pins)
        unknown = Severity.parse(config.get("unknown_severity", "high"))
        audited = skipped = 0
        reported: set[tuple[str, str, str, str | None, str]] = set()
        for pinned in pins:
            if pinned.local:
                continue
            answer = answers.get((pinned.ecosystem, pinned.name, pinned.version or ""))
            reason = pinned.skip or (answer.skipped if answer else None)
            if reason is not None or answer is None:
                skipped += 1
                if (pinned.path, pinned.ecosystem, pinned.name, pinned.version, "") not in reported:
                    reported.add((pinned.path, pinned.ecosystem, pinned.name, pinned.version, ""))
                    yield self._unaudited(pinned, reason or "no answer")
                continue
            audited += 1
            for hit in answer.hits:
                # One finding per advisory, package version and file: a lock file may list the
                # same release twice (nested node_modules, a yarn patch over its base).
                once = (pinned.path, pinned.ecosystem, pinned.name, pinned.version, hit.id)
                if once not in reported:
                    reported.add(once)
                    yield self._vulnerable(pinned, hit, unknown)
        local = sum(p.local for p in pins)
        yield Measurement(
            name="deps.audited",
            subject="dependencies",
            value=float(audited),
            unit="packages",
            check=self.name,
            note=(
                f"{audited} audited, {skipped} could not be audited, {local} local (the project's own code) "
                f"in {len(files)} file(s)"
                if files
                else "no manifest or lock file found: nothing to audit"
            ),
        )

    def _audit(self, ctx: CheckContext, root: Path, pins: list[Pinned]) -> dict[tuple[str, str, str], Answer]:
        from gate.checks.deps import services
        from gate.checks.deps.osv import load_index, merge_indexes

        config = ctx.config
        wanted: dict[str, dict[tuple[str, str], None]] = {PYPI: {}, NPM: {}}
        for pinned in pins:
            if not pinned.local and pinned.skip is None and pinned.version is not None:
                wanted[pinned.ecosystem][(pinned.name, pinned.version)] = None
        osv_url = config.get("osv_url", services.DEFAULT_OSV_URL)
        for url in (osv_url, config.get("pypi_url")):
            # A mirror URL may carry credentials; errors quote the URL, so the redactor must know them.
            password = urllib.parse.urlsplit(url).password if url else None
            if password:
                redact.register(password)
        timeout = seconds(config.get("request_timeout", "15s"))
        npm: dict[tuple[str, str], Answer] = {}
        with tempfile.TemporaryDirectory(prefix="gate-pip-audit-cache-") as cache:
            if config.get("osv_db"):
                ctx.progress.update("loading the offline OSV database")
                given = config["osv_db"] if isinstance(config["osv_db"], list) else [config["osv_db"]]
                index = merge_indexes([load_index(Path(p) if Path(p).is_absolute() else root / p) for p in given])
                python = services.PythonService(
                    services.offline_service(index), f"offline OSV ({', '.join(given)})", index=index
                )
                npm = services.audit_offline(NPM, list(wanted[NPM]), index)
            else:
                python = services.online_python_service(
                    config.get("service", "osv"),
                    osv_url=osv_url,
                    pypi_url=config.get("pypi_url"),
                    timeout=timeout,
                    cache_dir=Path(cache),
                )
                if wanted[NPM]:
                    ctx.progress.update(f"asking OSV about {len(wanted[NPM])} npm packages")
                    npm = services.audit_npm_online(list(wanted[NPM]), url=osv_url, timeout=timeout)
            ctx.progress.update(f"auditing {len(wanted[PYPI])} Python packages with pip-audit")
            py = services.audit_python(list(wanted[PYPI]), python) if wanted[PYPI] else {}
        if py and all(answer.skipped for answer in py.values()):
            (name, version), first = next(iter(py.items()))
            raise CheckFailure(
                f"{python.name} could not audit any of the {len(py)} Python packages it was asked about "
                f"({name} {version}: {first.skipped}); a run that audited nothing is not a pass"
            )
        answers = {(PYPI, name, version): answer for (name, version), answer in py.items()}
        answers.update({(NPM, name, version): answer for (name, version), answer in npm.items()})
        return answers

    def _location(self, pinned: Pinned, ids: str = "") -> Location:
        label = f"{pinned.name} {pinned.version or ''} {ids}".replace("  ", " ").strip()
        return Location(path=pinned.path, line=pinned.line, name=label)

    def _unaudited(self, pinned: Pinned, reason: str) -> Result:
        shown = f"{pinned.name} {pinned.version}" if pinned.version else pinned.name
        return self.finding(
            "deps.unaudited",
            f"{shown} ({pinned.ecosystem}) could not be audited: {reason}.",
            location=self._location(pinned),
            subject=f"{pinned.ecosystem}:{pinned.name}",
        )

    def _vulnerable(self, pinned: Pinned, hit: Hit, unknown: Severity) -> Result:
        ids = " ".join((hit.id, *hit.aliases))
        aliases = f" ({', '.join(hit.aliases)})" if hit.aliases else ""
        if hit.rating is not None:
            severity, rated = hit.rating.severity, f"severity {hit.rating.severity} ({hit.rating.source})"
        else:
            severity, rated = unknown, f"severity {unknown} (the advisory rates none; checks.deps.unknown_severity)"
        summary = hit.summary.rstrip(".")
        rated = rated[0].upper() + rated[1:]
        head = f"{pinned.name} {pinned.version} is affected by {hit.id}{aliases}: {summary}. {rated}."
        details = {
            "package": pinned.name,
            "version": pinned.version,
            "ecosystem": pinned.ecosystem,
            "advisory": hit.id,
            "aliases": " ".join(hit.aliases),
            "fixed_in": hit.fixes[0] if hit.fixes else "",
        }
        if hit.fixes:
            rule, message = "deps.vulnerable", f"{head} Fixed in {hit.fixes[0]}."
            fix = f"Upgrade {pinned.name} to {hit.fixes[0]} or later: {upgrade_command(pinned, hit.fixes[0])}"
        else:
            rule, message, fix = "deps.vulnerable-no-fix", f"{head} No fixed version is published.", None
        return self.finding(
            rule,
            message,
            severity=severity,
            subject=f"{pinned.ecosystem}:{pinned.name}:{pinned.version}:{hit.id}",
            location=self._location(pinned, ids),
            details=details,
            **({"fix": fix} if fix else {}),
        )
