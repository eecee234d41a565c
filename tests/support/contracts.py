"""The contracts the tests hold the gate to, each taken from its publisher's package at test setup.

- SARIF 2.1.0: Microsoft's SARIF multitool (npm `@microsoft/sarif-multitool`), whose `validate`
  also applies GitHub's code-scanning upload rules, and the SARIF 2.1.0 JSON schema that tool
  validates with (an embedded resource of its binary, read out byte for byte).
- GitHub's REST API and webhook payloads: GitHub's OpenAPI description as published in
  `@octokit/openapi` (`generated/api.github.com.json`).
- GitHub workflow and action metadata: the SchemaStore schemas check-jsonschema vendors (a test
  dependency, so nothing to download).
- RFC 7208's SPF test suite: `test/rfc7208-tests.yml` of pyspf's source distribution on PyPI.

Downloads land in a cache (`$LAUNCH_GATE_TEST_CACHE`, else `~/.cache/launch-gate-tests`), one
folder per pinned version, written under a temporary name and renamed when complete, so a second
run needs no network and an interrupted one leaves nothing half-made. `python -m tests.support.contracts`
fills the cache ahead of the suite (scripts/test does); the fixtures fill it on first use too.
"""

from __future__ import annotations

import importlib.resources
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

SARIF_MULTITOOL = "5.7.0"
OCTOKIT_OPENAPI = "23.0.2"
PYSPF = "2.0.14"
SARIF_SCHEMA_TITLE = b'"title": "Static Analysis Results Format (SARIF) Version 2.1.0 JSON Schema"'
# Rule kinds of the multitool's `validate`: SARIF's own rules, and GitHub Advanced Security's (what
# an upload to code scanning requires: locations, a driver name, relative URIs, size limits, ...).
SARIF_RULE_KINDS = "Sarif;Gh"


@dataclass(frozen=True)
class Contracts:
    sarif_multitool: Path
    sarif_schema: Path
    github_rest: Path
    workflow_schema: Path
    action_schema: Path
    spf_suite: Path


def cache_dir() -> Path:
    configured = os.environ.get("LAUNCH_GATE_TEST_CACHE")
    return Path(configured) if configured else Path.home() / ".cache" / "launch-gate-tests"


def _filled(target: Path, fill: Callable[[Path], None], say: Callable[[str], None]) -> Path:
    """`target`, made by `fill` in a sibling temp dir that is renamed into place only when complete."""
    if target.is_dir():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    say(f"test contracts: fetching {target.name} into {target.parent}")
    work = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        fill(work)
        work.rename(target)
    except OSError:
        if not target.is_dir():  # another run won the rename: theirs is as good as ours
            raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target


def _run(command: list[str], cwd: Path) -> None:
    completed = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=600, check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({completed.returncode}):\n{completed.stderr[-4000:]}")


def _npm_packages(work: Path) -> None:
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is not installed: .ci/setup.d/30-test-contracts.sh installs nodejs and npm")
    (work / "package.json").write_text('{"private": true}\n')
    # Scripts stay off: the multitool's only one sets the executable bit, done below instead.
    _run(
        [
            npm, "install", "--ignore-scripts", "--no-audit", "--no-fund", "--no-save", "--no-package-lock",
            f"@microsoft/sarif-multitool@{SARIF_MULTITOOL}", f"@octokit/openapi@{OCTOKIT_OPENAPI}",
        ],
        work,
    )  # fmt: skip
    binary = _multitool_binary(work)
    binary.chmod(binary.stat().st_mode | 0o100)
    (work / "sarif-schema-2.1.0.json").write_bytes(_embedded_sarif_schema(binary))


def _multitool_binary(npm_root: Path) -> Path:
    """The platform package npm chose (the same lookup as the package's own index.js)."""
    folder = npm_root / "node_modules" / "@microsoft" / f"sarif-multitool-{sys.platform}"
    for name in ("Sarif.Multitool", "Sarif.Multitool.exe"):
        if (folder / name).is_file():
            return folder / name
    raise RuntimeError(f"@microsoft/sarif-multitool {SARIF_MULTITOOL} has no build for this platform ({folder})")


def _embedded_sarif_schema(binary: Path) -> bytes:
    """The schema the multitool validates with: a .NET resource in its single-file binary, whose
    text starts right after a 4-byte little-endian length. Checked to be exactly one JSON document
    of that length with the schema's title, so a changed layout fails here instead of validating
    against something else."""
    data = binary.read_bytes()
    title = data.find(SARIF_SCHEMA_TITLE)
    start = data.rfind(b"{", 0, title)
    if title < 0 or start < 4:
        raise RuntimeError(f"{binary} carries no SARIF 2.1.0 schema")
    length = int.from_bytes(data[start - 4 : start], "little")
    text = data[start : start + length]
    schema = json.loads(text)
    if not (isinstance(schema, dict) and schema.get("properties", {}).get("version", {}).get("enum") == ["2.1.0"]):
        raise RuntimeError(f"the schema read out of {binary} is not SARIF 2.1.0's")
    return text


def _pyspf_suite(work: Path) -> None:
    _run(
        [
            sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
            "--no-binary", ":all:", "--no-deps", "--dest", str(work), f"pyspf=={PYSPF}",
        ],
        work,
    )  # fmt: skip
    member = f"pyspf-{PYSPF}/test/rfc7208-tests.yml"
    with tarfile.open(work / f"pyspf-{PYSPF}.tar.gz") as sdist:
        extracted = sdist.extractfile(member)
        if extracted is None:
            raise RuntimeError(f"pyspf {PYSPF}'s sdist has no {member}")
        (work / "rfc7208-tests.yml").write_bytes(extracted.read())
    (work / f"pyspf-{PYSPF}.tar.gz").unlink()


def _vendored_schema(name: str) -> Path:
    schema = importlib.resources.files("check_jsonschema.builtin_schemas.vendor") / name
    return Path(str(schema))


@cache
def ensure(say: Callable[[str], None] = lambda _: None) -> Contracts:
    root = cache_dir()
    npm = _filled(root / f"npm-sarif-multitool-{SARIF_MULTITOOL}-octokit-openapi-{OCTOKIT_OPENAPI}", _npm_packages, say)
    spf = _filled(root / f"pyspf-{PYSPF}", _pyspf_suite, say)
    return Contracts(
        sarif_multitool=_multitool_binary(npm),
        sarif_schema=npm / "sarif-schema-2.1.0.json",
        github_rest=npm / "node_modules" / "@octokit" / "openapi" / "generated" / "api.github.com.json",
        workflow_schema=_vendored_schema("github-workflows.json"),
        action_schema=_vendored_schema("github-actions.json"),
        spf_suite=spf / "rfc7208-tests.yml",
    )


def multitool_problems(log: Path) -> list[str]:
    """Every error and warning the SARIF multitool's `validate` reports for the log at `log`.

    It does not report JSON-schema violations (a result level of "fatal" passes it), so logs are
    held to `Contracts.sarif_schema` separately."""
    out = log.with_name(log.name + ".validation.sarif")
    command = [str(ensure().sarif_multitool), "validate", str(log), "--output", str(out)]
    command += ["--rule-kind", SARIF_RULE_KINDS, "--log", "ForceOverwrite"]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"the SARIF multitool failed ({completed.returncode}): {completed.stdout}{completed.stderr}")
    results: list[dict[str, Any]] = json.loads(out.read_text())["runs"][0].get("results", [])
    out.unlink()
    return [
        f"{r['ruleId']} {r.get('level', 'warning')}: {r['message'].get('arguments', r['message'])}"
        for r in results
        if r.get("level", "warning") in ("error", "warning")
    ]


if __name__ == "__main__":
    found = ensure(say=print)
    print(f"test contracts ready in {cache_dir()}")
    for name, path in vars(found).items():
        if not path.is_file():
            raise SystemExit(f"{name}: {path} is missing")
