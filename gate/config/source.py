"""Where the policy comes from: the working tree, or a commit (a pull request's base).

In a pull request the working tree is the author's: a gate.yml, suppression or secrets baseline
read from it would let the change judge itself. So by default such a run reads every policy
file as the base commit has it (`git cat-file blob BASE:path`, with the same size bound as on
disk), and what the pull request changes in them is shown but takes effect only once merged.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from gate.config.paths import nearest_git_folder
from gate.config.yamlpos import MAX_CONFIG_BYTES
from gate.errors import CheckFailure, InputError, Position

# detect-secrets baselines of big monorepos reach megabytes; past this it is not a baseline.
MAX_BASELINE_BYTES = 64 * 1024 * 1024
# git reads only; nothing the repository configures runs (hooks, fsmonitor).
_SAFE = ("-c", "core.hooksPath=/dev/null", "-c", "core.fsmonitor=false")
TRUST_HEAD_HINT = (
    "fetch the base commit (actions/checkout with fetch-depth: 0), or let the pull request's own "
    "policy judge it with --trust-head-policy (action input trust-head-policy: true)"
)


@dataclass(frozen=True)
class PolicySource:
    """`revision` None: files as they are on disk. Otherwise files as that commit has them,
    `toplevel` being the repository's root the commit's paths start from."""

    revision: str | None = None
    toplevel: Path | None = None

    @property
    def pinned(self) -> bool:
        return self.revision is not None

    def describe(self) -> str:
        return f"the base commit {self.revision[:10]}" if self.revision else "the working tree"

    def read(self, path: Path, limit: int = MAX_CONFIG_BYTES) -> bytes | None:
        """The file's bytes as the commit has it, or None when the commit has no such file.
        Only for a pinned source: the working tree is read by each file's own loader."""
        assert self.revision is not None and self.toplevel is not None
        relative = Path(os.path.relpath(os.path.realpath(path.parent), self.toplevel)) / path.name
        if relative.parts[:1] == ("..",):
            return None  # outside the repository: no commit holds it
        spec = f"{self.revision}:{relative.as_posix()}"
        kind = _git(self.toplevel, "cat-file", "-t", spec)
        if kind is None or kind.strip() != b"blob":
            return None
        size = int(_git(self.toplevel, "cat-file", "-s", spec) or 0)
        if size > limit:
            raise InputError(
                f"{relative.as_posix()} at {self.describe()} is {size} bytes, over the {limit} a policy file may have",
                Position(path),
            )
        return _git(self.toplevel, "cat-file", "blob", spec)


WORKING_TREE = PolicySource()


def _run(folder: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(["git", "-C", str(folder), *_SAFE, *args], capture_output=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise CheckFailure(f"git could not read the policy from the base commit: {error}") from error


def _git(folder: Path, *args: str) -> bytes | None:
    completed = _run(folder, *args)
    return completed.stdout if completed.returncode == 0 else None


def at_base(start: Path, base: str) -> PolicySource:
    """The policy as the pull request's base commit has it; the base must be in this clone.

    Outside any git work tree (a copied folder) there is no base to read from: the working
    tree's policy is used, and the caller says so.
    """
    found = _run(start, "rev-parse", "--show-toplevel")
    if found.returncode != 0:
        nearest = nearest_git_folder(start.resolve())
        if nearest is not None:
            # git refuses the repository (dubious ownership, a garbage HEAD): the base's policy
            # cannot be read, and falling back to the pull request's own would let it judge itself.
            said = found.stderr.decode("utf-8", "replace").strip().splitlines()
            raise CheckFailure(
                f"git refuses the repository at {nearest} ({said[0] if said else 'no message'}), "
                "so the pull request's base policy could not be read"
            )
        return PolicySource()
    toplevel = Path(os.fsdecode(found.stdout.strip()))
    if _git(toplevel, "cat-file", "-e", f"{base}^{{commit}}") is None:
        raise InputError(
            f"the pull request's base commit {base[:10]} is not in this clone, so the policy it "
            "would judge this change with (gate.yml, suppressions, baselines) cannot be read",
            hint=TRUST_HEAD_HINT,
        )
    return PolicySource(revision=base, toplevel=toplevel)
