"""The values the env check judges, one target per environment: the files, platform export and
process environment gate.yml names, or else the `.env` files found for the manifest's environments."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gate.checks.base import CheckContext
from gate.checks.env.manifest import Manifest
from gate.checks.env.sources import BadLine, Definition, read_dotenv, read_platform_export, read_process


@dataclass
class Target:
    environment: str
    definitions: list[Definition] = field(default_factory=list)
    bad_lines: list[BadLine] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)


def gather_targets(ctx: CheckContext, manifest: Manifest, names: set[str]) -> list[Target]:
    """`names` are the variables read from the process environment: only those, never all of it."""
    configured = ctx.config.get("targets")
    targets: list[Target] = []
    if configured is None:
        configured = discover(ctx.root, manifest)
    for entry in configured:
        target = Target(entry["environment"])
        for relative in entry.get("files", []):
            found, bad = read_dotenv(ctx.root, relative)
            target.definitions += found
            target.bad_lines += bad
            target.sources.append(relative)
        if "platform_export" in entry:
            found, bad = read_platform_export(ctx.root, entry["platform_export"])
            target.definitions += found
            target.bad_lines += bad
            target.sources.append(entry["platform_export"])
        if entry.get("process"):
            target.definitions += read_process(ctx.environ, names)
            target.sources.append("the process environment")
        targets.append(target)
    process_env = ctx.config.get("process_environment")
    if process_env:
        targets.append(Target(process_env, list(read_process(ctx.environ, names)), [], ["the process environment"]))
    return targets


def discover(root: Path, manifest: Manifest) -> list[dict[str, Any]]:
    """`.env` is development; `.env.NAME` and `.env.NAME.local` belong to environment NAME."""
    found: list[dict[str, Any]] = []
    for environment in manifest.environments:
        names = [f".env.{environment}", f".env.{environment}.local"]
        if environment == "development":
            names = [".env", ".env.local", *names]
        files = [name for name in names if (root / name).is_file() and not (root / name).is_symlink()]
        if files:
            found.append({"environment": environment, "files": files})
    return found
