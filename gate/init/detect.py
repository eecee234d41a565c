"""What a project is, from its files alone: stack, package manager, build folders, host, domain, locks.

Nothing in the project is run and nothing leaves the machine. The walk is bounded (file count,
bytes per file), follows no symlink, and treats every name and content as data.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

MAX_FILES = 20_000
MAX_READ_BYTES = 1024 * 1024
SKIP_DIRS = frozenset(
    {
        ".git",
        "node_modules",
        ".venv",
        "venv",
        "__pycache__",
        ".next",
        ".nuxt",
        ".output",
        ".svelte-kit",
        ".vercel",
        ".netlify",
        ".expo",
        "dist",
        "build",
        "out",
        "web-build",
        "coverage",
        ".mypy_cache",
        ".pytest_cache",
        ".tox",
        "site-packages",
    }
)
LOCK_FILES = {
    "package-lock.json": "npm",
    "npm-shrinkwrap.json": "npm",
    "pnpm-lock.yaml": "pnpm",
    "yarn.lock": "yarn",
    "bun.lockb": "bun",
    "bun.lock": "bun",
    "poetry.lock": "poetry",
    "uv.lock": "uv",
    "Pipfile.lock": "pipenv",
    "pdm.lock": "pdm",
    "requirements.txt": "pip",
}
# (dependency, framework), first match per manifest wins; later entries are the API beside a front end.
JS_FRAMEWORKS = (
    ("next", "nextjs"),
    ("expo", "expo"),
    ("nuxt", "nuxt"),
    ("@sveltejs/kit", "sveltekit"),
    ("vite", "vite"),
    ("express", "express"),
    ("fastify", "fastify"),
)
PY_FRAMEWORKS = (("django", "django"), ("fastapi", "fastapi"), ("flask", "flask"))
BACKENDS = (("@supabase/supabase-js", "supabase"), ("firebase", "firebase"), ("firebase-admin", "firebase"))
BUILD_FOLDERS = {
    "nextjs": [".next", "out"],
    "vite": ["dist"],
    "expo": ["dist", "web-build"],
    "nuxt": [".output", ".nuxt"],
    "sveltekit": [".svelte-kit", "build"],
    "django": ["staticfiles"],
}
HOST_FILES = {
    "vercel.json": "vercel",
    "netlify.toml": "netlify",
    "render.yaml": "render",
    "render.yml": "render",
    "fly.toml": "fly",
    "railway.json": "railway",
    "railway.toml": "railway",
}
_DOMAIN = re.compile(r"^(?=.{4,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
# The platforms' own host names are not the project's domain.
PLATFORM_SUFFIXES = (".vercel.app", ".netlify.app", ".onrender.com", ".fly.dev", ".up.railway.app", ".railway.app")


@dataclass(frozen=True)
class Guess:
    """One detected fact: its value, the file that says so, and how sure the guess is."""

    value: Any
    source: str
    confidence: str  # "certain" (stated in a file), "likely" (a convention), "guess" (a heuristic)


class ProjectFiles:
    """The project's regular files, listed once within the caps; reading is bounded and never follows a link."""

    def __init__(self, root: Path, *, max_files: int = MAX_FILES, max_bytes: int = MAX_READ_BYTES) -> None:
        self.root = root.resolve()
        self.max_bytes = max_bytes
        self.files: list[str] = []
        self.truncated = False
        self.skipped_large: list[str] = []
        self._walk(max_files)
        self._set = frozenset(self.files)

    def _walk(self, max_files: int) -> None:
        for folder, dirs, names in os.walk(self.root, followlinks=False):
            dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not Path(folder, d).is_symlink())
            for name in sorted(names):
                path = Path(folder, name)
                if path.is_symlink() or not path.is_file():
                    continue
                if len(self.files) >= max_files:
                    self.truncated = True
                    return
                self.files.append(path.relative_to(self.root).as_posix())

    def has(self, relative: str) -> bool:
        return relative in self._set

    def matching(self, pattern: str) -> Iterator[str]:
        compiled = re.compile(pattern)
        return (name for name in self.files if compiled.search(name))

    def read(self, relative: str) -> str | None:
        """The file's text, or None when it is missing, a link, or over the size cap (noted)."""
        if relative not in self._set:
            return None  # only files the walk listed: never through a link, never outside the tree
        path = self.root / relative
        try:
            if path.is_symlink() or not path.is_file():
                return None
            if path.stat().st_size > self.max_bytes:
                self.skipped_large.append(relative)
                return None
            return path.read_bytes().decode("utf-8", "replace")
        except OSError:
            return None


def _json(files: ProjectFiles, relative: str) -> Mapping[str, Any]:
    text = files.read(relative)
    try:
        data = json.loads(text) if text else {}
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _toml(files: ProjectFiles, relative: str) -> Mapping[str, Any]:
    text = files.read(relative)
    try:
        return tomllib.loads(text) if text else {}
    except tomllib.TOMLDecodeError:
        return {}


def _yaml(files: ProjectFiles, relative: str) -> Any:
    text = files.read(relative)
    try:
        return yaml.safe_load(text) if text else None
    except yaml.YAMLError:
        return None


def _manifests(files: ProjectFiles, name: str) -> list[str]:
    return [f for f in files.files if f == name or f.endswith("/" + name)]


def js_dependencies(files: ProjectFiles, manifest: str) -> set[str]:
    data = _json(files, manifest)
    names: set[str] = set()
    for key in ("dependencies", "devDependencies"):
        section = data.get(key)
        if isinstance(section, dict):
            names |= {str(n) for n in section}
    return names


def py_dependencies(files: ProjectFiles, folder: str) -> set[str]:
    """Distribution names from requirements*.txt, pyproject.toml and Pipfile in one folder."""
    prefix = f"{folder}/" if folder else ""
    names: set[str] = set()
    for relative in files.files:
        base = relative[len(prefix) :] if relative.startswith(prefix) else None
        if base is None or "/" in base:
            continue
        if base.startswith("requirements") and base.endswith(".txt"):
            for line in (files.read(relative) or "").splitlines():
                match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", line)
                if match:
                    names.add(match.group(1).lower())
    pyproject = _toml(files, prefix + "pyproject.toml")
    project = pyproject.get("project", {})
    for spec in project.get("dependencies", []) if isinstance(project, dict) else []:
        match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", str(spec))
        if match:
            names.add(match.group(1).lower())
    poetry = pyproject.get("tool", {}).get("poetry", {}) if isinstance(pyproject.get("tool"), dict) else {}
    if isinstance(poetry, dict) and isinstance(poetry.get("dependencies"), dict):
        names |= {str(n).lower() for n in poetry["dependencies"]}
    pipfile = _toml(files, prefix + "Pipfile")
    if isinstance(pipfile.get("packages"), dict):
        names |= {str(n).lower() for n in pipfile["packages"]}
    return names


@dataclass
class Stack:
    frameworks: list[Guess] = field(default_factory=list)
    backends: list[Guess] = field(default_factory=list)
    package_managers: list[Guess] = field(default_factory=list)
    lock_files: list[str] = field(default_factory=list)
    build_folders: list[Guess] = field(default_factory=list)

    def names(self) -> list[str]:
        return [str(g.value) for g in self.frameworks]


def detect_stack(files: ProjectFiles) -> Stack:
    stack = Stack()
    for manifest in _manifests(files, "package.json"):
        deps = js_dependencies(files, manifest)
        for dependency, framework in JS_FRAMEWORKS:
            if dependency in deps:
                stack.frameworks.append(Guess(framework, manifest, "certain"))
        for dependency, backend in BACKENDS:
            if dependency in deps and backend not in [str(b.value) for b in stack.backends]:
                stack.backends.append(Guess(backend, manifest, "certain"))
    python_folders = sorted(
        {
            str(Path(f).parent) if "/" in f else ""
            for f in files.files
            if Path(f).name in ("pyproject.toml", "Pipfile", "manage.py")
            or re.match(r"requirements.*\.txt$", Path(f).name)
        }
    )
    for folder in python_folders:
        deps = py_dependencies(files, folder)
        if files.has(f"{folder}/manage.py" if folder else "manage.py"):
            deps.add("django")
        for dependency, framework in PY_FRAMEWORKS:
            if dependency in deps:
                where = f"{folder}/" if folder else ""
                source = next(
                    (
                        where + n
                        for n in ("requirements.txt", "pyproject.toml", "Pipfile", "manage.py")
                        if files.has(where + n)
                    ),
                    where or ".",
                )
                stack.frameworks.append(Guess(framework, source, "certain"))
    for relative in files.files:
        manager = LOCK_FILES.get(Path(relative).name)
        if manager is None:
            continue
        stack.lock_files.append(relative)
        if manager not in [str(g.value) for g in stack.package_managers]:
            stack.package_managers.append(Guess(manager, relative, "certain"))
    seen: set[str] = set()
    for stated in stack.frameworks:
        for folder in BUILD_FOLDERS.get(str(stated.value), []):
            base = str(Path(stated.source).parent)
            path = folder if base in (".", "") else f"{base}/{folder}"
            if path not in seen:
                seen.add(path)
                stack.build_folders.append(Guess(path, stated.source, "likely"))
    return stack


@dataclass(frozen=True)
class Hosting:
    platform: Guess | None
    domains: list[Guess]


def _domain(value: Any) -> str | None:
    text = str(value).strip().lower().removeprefix("https://").removeprefix("http://").split("/")[0]
    if _DOMAIN.match(text) and not text.endswith(PLATFORM_SUFFIXES):
        return text
    return None


def _render_domains(data: Any) -> Iterable[Any]:
    services = data.get("services", []) if isinstance(data, dict) else []
    for service in services if isinstance(services, list) else []:
        if isinstance(service, dict) and isinstance(service.get("domains"), list):
            yield from service["domains"]


def detect_hosting(files: ProjectFiles) -> Hosting:
    platform: Guess | None = None
    for name, host in HOST_FILES.items():
        if files.has(name):
            platform = Guess(host, name, "certain")
            break
    if platform is None and files.has(".vercel/project.json"):
        platform = Guess("vercel", ".vercel/project.json", "certain")
    domains: list[Guess] = []
    candidates: list[tuple[Any, str]] = []
    for cname in ("CNAME", "public/CNAME", "static/CNAME"):
        first = (files.read(cname) or "").strip().splitlines()
        if first:
            candidates.append((first[0], cname))
    if platform is not None and platform.value == "render":
        candidates += [(d, platform.source) for d in _render_domains(_yaml(files, platform.source))]
    if files.has("vercel.json"):
        for redirect in _json(files, "vercel.json").get("redirects", []) or []:
            if isinstance(redirect, dict):
                candidates.append((redirect.get("destination", ""), "vercel.json"))
    if files.has("netlify.toml"):
        for redirect in _toml(files, "netlify.toml").get("redirects", []) or []:
            if isinstance(redirect, dict):
                candidates.append((redirect.get("to", ""), "netlify.toml"))
    for value, source in candidates:
        domain = _domain(value)
        if domain and domain not in [g.value for g in domains]:
            confidence = "certain" if "CNAME" in source or source.startswith("render") else "guess"
            domains.append(Guess(domain, source, confidence))
    return Hosting(platform, domains)
