"""`gate demo`: a small sample project with planted problems, built fresh in a temp dir.

Each part of the demo plants files for one check and returns its gate.yml fragment; a part that
needs a server (a preview app, a DNS zone) starts it on loopback inside the run's ExitStack.
A new check adds one part module and one line in PARTS.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

import gate.demo.migrations_part as migrations_part
import gate.demo.restore_part as restore_part
from gate.config import deep_merge
from gate.demo import deps_part, dns_part, env_part, http_part, secrets_part
from gate.demo.ai_part import plant as plant_ai

Part = Callable[[Path, contextlib.ExitStack], Mapping[str, Any]]
PARTS: tuple[Part, ...] = (env_part.plant, dns_part.plant, deps_part.plant, secrets_part.plant, http_part.plant)
PARTS += (plant_ai,)
PARTS += (migrations_part.plant,)
PARTS += (restore_part.plant,)

_GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "Demo Founder",
    "GIT_AUTHOR_EMAIL": "founder@example.com",
    "GIT_COMMITTER_NAME": "Demo Founder",
    "GIT_COMMITTER_EMAIL": "founder@example.com",
}


@dataclass(frozen=True)
class DemoProject:
    root: Path
    config: Path
    environ: Mapping[str, str] = field(default_factory=dict)


def git(root: Path, *args: str) -> None:
    """Run git in the demo repo with a fixed identity and no user config."""
    env = {**os.environ, **_GIT_IDENTITY, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True, env=env, timeout=60)


def commit_all(root: Path, message: str) -> None:
    git(root, "add", "-A")
    git(root, "commit", "-q", "--no-gpg-sign", "-m", message)


@contextlib.contextmanager
def demo_project(keep: Path | None = None) -> Iterator[DemoProject]:
    with contextlib.ExitStack() as stack:
        if keep is None:
            root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="gate-demo-")))
        else:
            if keep.exists():
                shutil.rmtree(keep)
            keep.mkdir(parents=True)
            root = keep.resolve()
        has_git = shutil.which("git") is not None
        if has_git:
            git(root, "init", "-q", "-b", "main")
        config: dict[str, Any] = {"version": 1, "preset": "demo"}
        for part in PARTS:
            config = deep_merge(config, part(root, stack))
        (root / "gate.yml").write_text(
            "# The demo's gate.yml, written by `gate demo`.\n" + yaml.safe_dump(config, sort_keys=False)
        )
        if has_git:
            commit_all(root, "Sample app")
        yield DemoProject(root=root, config=root / "gate.yml", environ={})
