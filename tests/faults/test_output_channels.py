"""Forged workflow commands: untrusted text must never be obeyed by the GitHub runner.

The runner reads stdout and stderr line by line (a lone CR ends a line too) and obeys
`::name ...::data` at a line's start (after trimming whitespace) and the legacy `##[name ...]data`
anywhere in a line; `::stop-commands::TOKEN` pauses both until `::TOKEN::`. `obeyed` models
that, and every run here, inside Actions (`GITHUB_ACTIONS=true`) with `--no-github`, must leave
the runner nothing to obey on either stream.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.faults.common import PROCESS_MEMORY_BUDGET, gate_process
from tests.faults.table import row
from tests.support.helpers import write_files
from tests.support.secrets_samples import AWS_KEY

_LINES = re.compile(r"\r\n|\r|\n")
_V2 = re.compile(r"::([^\s:]+)(?:\s[^:]*)?::(.*)")
_LEGACY = re.compile(r"##\[([^\s\]]+)(?:\s[^\]]*)?\](.*)")

FORGED_NAMES = [
    "x ##[add-mask]planted.py",
    "y ##[stop-commands]tok.py",
    "z\n::error::forged-by-a-file-name.py",
    "w\r::warning title=t::forged-after-a-cr.py",
]
SECRETS_ONLY = "version: 1\nchecks:\n  env:\n    enabled: false\n  deps:\n    enabled: false\n"
ACTIONS = {"GITHUB_ACTIONS": "true", "CI": "true"}


def _command(line: str) -> tuple[str, str] | None:
    trimmed = line.strip()
    found = _V2.match(trimmed) if trimmed.startswith("::") else None
    if found is None and "##[" in line:
        found = _LEGACY.match(line[line.index("##[") :])
    return (found.group(1).lower(), found.group(2)) if found else None


def obeyed(stream: str) -> list[str]:
    """The commands a runner would carry out from this stream, stop-commands handled as it does."""
    carried_out: list[str] = []
    paused_until: str | None = None
    for line in _LINES.split(stream):
        command = _command(line)
        if command is None:
            continue
        name, data = command
        if paused_until is not None:
            if name == paused_until:
                paused_until = None
            continue
        if name == "stop-commands":
            paused_until = data.strip().lower()
            continue
        carried_out.append(f"{name}::{data}")
    return carried_out


def test_the_runner_model_obeys_what_the_runner_obeys() -> None:
    assert obeyed("  ::add-mask::x\nok ##[error]y\nz\r::warning::w") == ["add-mask::x", "error::y", "warning::w"]
    assert obeyed("::stop-commands::t0k\n::error::no\n##[set-output]no\n::t0k::\n::notice::yes") == ["notice::yes"]


def _project(tmp_path: Path) -> Path:
    files: dict[str, str | bytes] = {"gate.yml": SECRETS_ONLY}
    for name in FORGED_NAMES:
        files[name] = f"aws_access_key_id = '{AWS_KEY}'\n"
    return write_files(tmp_path, files)


@row(
    "File names that forge workflow commands: `x ##[add-mask]…`, `y ##[stop-commands]tok`, a newline or CR "
    "followed by `::error::`",
    "secrets",
    "shown, never obeyed: line breaks appear as `\\x0a`, console output inside Actions is wrapped in "
    "stop-commands with a random token (also with `--no-github`), JSON escapes `##[` losslessly",
)
@pytest.mark.parametrize("fmt", ["console", "json", "sarif", "junit"])
def test_forged_file_names_are_never_obeyed(tmp_path: Path, fmt: str) -> None:
    root = _project(tmp_path)
    outcome, bounds = gate_process(root, "run", "--no-github", "--format", fmt, env=ACTIONS, timeout=120)
    assert outcome.exit_code == 1, outcome.output
    assert obeyed(outcome.stdout) == [] and obeyed(outcome.stderr) == [], outcome.output
    assert bounds.peak_bytes < PROCESS_MEMORY_BUDGET
    if fmt == "json":
        paths = {f["location"]["path"] for f in json.loads(outcome.stdout)["findings"]}
        assert set(FORGED_NAMES) <= paths  # escaped for the runner, unchanged for a JSON reader
    if fmt == "console":
        assert "z\\x0a::error::forged-by-a-file-name.py" in outcome.stdout
        assert "w\\x0d::warning title=t::forged-after-a-cr.py" in outcome.stdout


@row(
    "gate.yml strings with newlines and workflow commands, quoted in an error on stderr",
    "config",
    "exit 2: the line breaks are shown as `\\x0a` and the message is wrapped in stop-commands inside Actions",
)
@pytest.mark.parametrize("inside_actions", [True, False])
def test_error_messages_on_stderr_are_never_obeyed(tmp_path: Path, inside_actions: bool) -> None:
    key = '"bad\\n::error::forged-from-gate-yml ##[add-mask]x"'
    write_files(tmp_path, {"gate.yml": SECRETS_ONLY + f"  secrets:\n    {key}: 1\n"})
    outcome, _ = gate_process(tmp_path, "run", "--no-github", env=ACTIONS if inside_actions else {"CI": ""})
    assert outcome.exit_code == 2, outcome.output
    assert "bad\\x0a::error::forged-from-gate-yml" in outcome.stderr
    assert not any(line.lstrip().startswith("::error") for line in outcome.stderr.splitlines())
    if inside_actions:
        assert obeyed(outcome.stderr) == [], outcome.stderr
        assert outcome.stderr.startswith("::stop-commands::")
