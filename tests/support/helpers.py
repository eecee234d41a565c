"""Test helpers: run the real CLI in-process, build real projects and git repositories."""

from __future__ import annotations

import contextlib
import datetime
import itertools
import json
import os
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from xml.etree import ElementTree

import jsonschema
from click.testing import CliRunner

from gate.model import BudgetResult, Measurement
from tests.support import contracts

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test Author",
    "GIT_AUTHOR_EMAIL": "author@example.com",
    "GIT_COMMITTER_NAME": "Test Author",
    "GIT_COMMITTER_EMAIL": "author@example.com",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}


@dataclass(frozen=True)
class Outcome:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


REPORT_SCHEMA = Path(__file__).resolve().parents[2] / "gate" / "report" / "report.schema.json"


@cache
def _validator(schema_path: Path) -> jsonschema.protocols.Validator:
    schema = json.loads(schema_path.read_text())
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def validate_report(fmt: str, text: str) -> None:
    """Every SARIF and JSON report the suite produces is checked against its published schema."""
    if not text.strip():
        return
    if fmt == "sarif":
        _validator(contracts.ensure().sarif_schema).validate(json.loads(text))
    elif fmt == "json":
        _validator(REPORT_SCHEMA).validate(json.loads(text))
    elif fmt == "junit":
        ElementTree.fromstring(text)


def _formats(args: Sequence[str], cwd: Path) -> tuple[str, list[tuple[str, Path]]]:
    fmt = "console"
    files = []
    for flag, value in itertools.pairwise(args):
        if flag == "--format":
            fmt = value
        elif flag == "--output" and "=" in value:
            kind, _, path = value.partition("=")
            files.append((kind, cwd / path))
    return fmt, files


def gate(*args: str, cwd: Path | None = None, env: Mapping[str, str] | None = None) -> Outcome:
    """Run `gate ARGS` in-process the way the console script does, exit code included.

    Whatever SARIF, JSON or JUnit it prints or writes is validated on the way.
    """
    outcome = _invoke(args, cwd, env)
    fmt, files = _formats(args, cwd or Path.cwd())
    if outcome.exit_code in (0, 1, 3):
        validate_report(fmt, outcome.stdout)
        for kind, path in files:
            if path.exists():
                validate_report(kind, path.read_text())
    return outcome


def _invoke(args: Sequence[str], cwd: Path | None, env: Mapping[str, str] | None) -> Outcome:
    from gate.cli import main

    runner = CliRunner()
    old = Path.cwd()
    try:
        if cwd is not None:
            os.chdir(cwd)
        with runner.isolation(env=dict(env or {})) as (out, err, _):
            try:
                main(list(args))
            except SystemExit as exit_:
                code = exit_.code if isinstance(exit_.code, int) else 0
            else:
                code = 0
            return Outcome(code, out.getvalue().decode(), err.getvalue().decode())
    finally:
        os.chdir(old)


def write_files(root: Path, files: Mapping[str, str | bytes]) -> Path:
    for relative, content in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    return root


def git(root: Path, *args: str, input_text: str | None = None) -> str:
    completed = subprocess.run(
        ["git", "-C", str(root), *args],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, **GIT_ENV},
        input=input_text,
    )
    return completed.stdout


def git_repo(root: Path, commits: Sequence[Mapping[str, str | bytes | None]] = ()) -> Path:
    """A real repository; each commit writes (or, for None, deletes) the files given."""
    root.mkdir(parents=True, exist_ok=True)
    git(root, "init", "-q", "-b", "main")
    for index, files in enumerate(commits):
        for relative, content in files.items():
            if content is None:
                (root / relative).unlink()
            else:
                write_files(root, {relative: content})
        git(root, "add", "-A")
        git(root, "commit", "-q", "--no-gpg-sign", "--allow-empty", "-m", f"commit {index}")
    return root


def judge_measurements(measurements: Sequence[Measurement]) -> tuple[BudgetResult, ...]:
    """The policy's verdict on measurements alone, as the http check's budgets are judged."""
    from gate.model import CheckResult, Target
    from gate.policy import judge

    verdict = judge(
        [CheckResult("http", (), tuple(measurements), 0.0)],
        fail_on={},
        suppressions=(),
        preset="launch",
        target=Target(root="."),
        started_at="",
        duration_s=0.0,
        today=datetime.date(2026, 1, 1),
    )
    return verdict.budgets


def run_locust_headless(script: Path, host: str, env: Mapping[str, str]) -> Path:
    """Run a locustfile on Locust's own engine (4 users, 3 s) in the script's folder; returns its
    `gate_stats.csv`."""
    import sys

    users = ("-u", "4", "-r", "4", "-t", "3s", "--only-summary")
    report = ("--csv", str(script.parent / "gate"), "--host", host)
    completed = subprocess.run(
        [sys.executable, "-m", "locust", "-f", str(script), "--headless", *users, *report],
        capture_output=True,
        text=True,
        timeout=90,
        cwd=script.parent,
        env={**os.environ, **env},
    )
    stats = script.parent / "gate_stats.csv"
    assert stats.exists(), completed.stderr[-2000:]
    return stats


def check_demo_part(
    plant: Callable[[Path, contextlib.ExitStack], Mapping[str, object]], check: str, root: Path
) -> Outcome:
    """One part of `gate demo` planted alone in `root` and its check run on it (JSON report)."""
    with contextlib.ExitStack() as stack:
        fragment = plant(root, stack)
    (root / "gate.yml").write_text(json.dumps({"version": 1, "preset": "demo", **fragment}))
    return gate("check", check, "--format", "json", cwd=root)
