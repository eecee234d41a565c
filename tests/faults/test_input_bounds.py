"""Hostile input files: YAML that grows without bound, FIFOs and devices, regexes that backtrack.

Each case runs the real `gate` in its own process and bounds its wall clock and its own peak RSS,
so a YAML expansion, an endless read or a backtracking regex shows up as a number, not a hang.
"""

from __future__ import annotations

import itertools
import json
import os
from pathlib import Path

import pytest

from tests.faults.common import PROCESS_MEMORY_BUDGET, closed_run, gate_process
from tests.faults.peers import refused_port
from tests.faults.table import row
from tests.support.helpers import write_files

ENV_ONLY = (
    "version: 1\nchecks:\n  env:\n    enabled: true\n  deps:\n    enabled: false\n  secrets:\n    enabled: false\n"
)
DEPS_ONLY = "version: 1\nchecks:\n  env:\n    enabled: false\n  secrets:\n    enabled: false\n"
MANIFEST = "environments: [production]\nvariables:\n  PORT:\n    type: port\n"


def billion_laughs(first_key: str = "a") -> str:
    """Nine anchors of nine aliases each: about 500 bytes that stand for 9^9 strings."""
    names = [first_key, *"bcdefghi"]
    lines = [f"{names[0]}: &{names[0]} [" + ", ".join(['"lol"'] * 9) + "]"]
    for previous, name in itertools.pairwise(names):
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{previous}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def _bad_config(tmp_path: Path, text: str, *causes: str) -> None:
    write_files(tmp_path, {"gate.yml": text, "env.manifest.yml": MANIFEST})
    closed_run(tmp_path, ["run"], ["gate.yml", *causes])


@row(
    "gate.yml is a YAML alias bomb (billion laughs, ~500 bytes)",
    "config",
    "exit 2 in well under a second: names the file and line; aliases may add at most 20,000 nodes",
)
def test_alias_bomb_in_gate_yml_is_refused_fast(tmp_path: Path) -> None:
    bomb = billion_laughs()
    assert len(bomb.encode()) < 600
    _bad_config(tmp_path, ENV_ONLY + bomb, "aliases expand this file")


@row(
    "env.manifest.yml is a YAML alias bomb",
    "env",
    "exit 2: names the manifest and line; nothing is expanded",
)
def test_alias_bomb_in_the_env_manifest_is_refused_fast(tmp_path: Path) -> None:
    write_files(tmp_path, {"gate.yml": ENV_ONLY, "env.manifest.yml": MANIFEST + billion_laughs("x")})
    closed_run(tmp_path, ["run"], ["env.manifest.yml:", "aliases expand this file"])


@row("gate.yml has an alias inside its own anchor (a loop)", "config", "exit 2: names the line of the loop")
def test_recursive_alias_is_refused(tmp_path: Path) -> None:
    _bad_config(tmp_path, ENV_ONLY + "loop: &loop [1, *loop]\n", "gate.yml:9:", "a loop")


@row(
    "gate.yml nests 60,000 levels deep",
    "config",
    "exit 2 (not a RecursionError): names the line where nesting passes 100 levels",
)
@pytest.mark.parametrize("style", ["flow", "block"])
def test_deep_nesting_is_refused(tmp_path: Path, style: str) -> None:
    depth = 60_000
    if style == "flow":
        deep = "deep: " + "[" * depth + "]" * depth + "\n"
    else:
        deep = "deep:\n" + "".join(" " * level + "- \n" for level in range(1, 2_000)) + "\n"
    _bad_config(tmp_path, ENV_ONLY + deep, "nesting deeper than 100 levels")


@row(
    "gate.yml holds a date that does not exist (2025-02-30)",
    "config",
    "exit 2 (not a ValueError): names file:line:column and says to fix or quote it",
)
def test_impossible_date_is_an_input_error(tmp_path: Path) -> None:
    text = ENV_ONLY + "suppressions:\n  - rule: env.invalid-value\n    reason: reviewed\n    expires: 2025-02-30\n"
    _bad_config(tmp_path, text, "gate.yml:12:14", "2025-02-30", "not a real one")


@row(
    "`--config /dev/zero` (a device) or a FIFO as `--config`",
    "config",
    "exit 2 at once: says it is a device or FIFO and is not opened; nothing is read",
)
@pytest.mark.parametrize("kind", ["device", "fifo"])
def test_device_or_fifo_as_config_is_never_opened(tmp_path: Path, kind: str) -> None:
    if kind == "device":
        config, cause = "/dev/zero", "character device"
    else:
        config, cause = str(tmp_path / "gate.yml"), "FIFO"
        os.mkfifo(config)
    closed_run(tmp_path, ["run", "--config", config], [cause, "not opened"])


@row(
    "requirements.txt is a FIFO",
    "deps",
    "exit 2 at once: names the file and says a FIFO is not opened (no hang until the deadline)",
)
def test_fifo_requirements_is_never_opened(tmp_path: Path) -> None:
    # A service nobody answers on: the FIFO must fail the run before any query would be sent.
    osv = f"http://127.0.0.1:{refused_port()}/v1/query"
    write_files(tmp_path, {"gate.yml": DEPS_ONLY + f"  deps:\n    osv_url: {osv}\n"})
    os.mkfifo(tmp_path / "requirements.txt")
    closed_run(tmp_path, ["run"], ["requirements.txt", "FIFO", "not opened"])


@row(
    "A source file the env check searches is a FIFO",
    "env",
    "never opened; listed as `env.unreadable-source` (its variables are unknown); the run finishes at once",
)
def test_fifo_source_file_is_never_opened(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            "gate.yml": ENV_ONLY,
            "env.manifest.yml": MANIFEST,
            ".env.production": "PORT=3000\n",
            "app/main.py": "import os\nSECRET = os.environ['UNDECLARED_IN_MANIFEST']\n",
        },
    )
    os.mkfifo(tmp_path / "app" / "src.py")
    outcome, bounds = gate_process(tmp_path, "run", "--format", "json", timeout=60)
    assert outcome.exit_code in (0, 1) and "Traceback" not in outcome.output, outcome.output
    findings = {(f["rule_id"], f["location"]["path"]) for f in json.loads(outcome.stdout)["findings"]}
    assert ("env.unreadable-source", "app/src.py") in findings
    # The readable file is still searched: its undeclared variable is reported.
    assert ("env.undeclared-in-code", "app/main.py") in findings
    assert bounds.seconds < 15 and bounds.peak_bytes < PROCESS_MEMORY_BUDGET


@row(
    "A manifest `regex` pattern that backtracks catastrophically: `(a\\|aa)+$` against 64 a's and `!`",
    "env",
    "runs on RE2 (linear time): the value is judged at once (exit 1, does not match)",
)
def test_backtracking_manifest_pattern_finishes_at_once(tmp_path: Path) -> None:
    manifest = 'environments: [production]\nvariables:\n  TOKEN:\n    type: regex\n    pattern: "(a|aa)+$"\n'
    write_files(
        tmp_path, {"gate.yml": ENV_ONLY, "env.manifest.yml": manifest, ".env.production": f"TOKEN={'a' * 64}!\n"}
    )
    closed_run(tmp_path, ["run"], ["does not match the pattern (a|aa)+$"], codes=(1,))


@row(
    "A manifest pattern RE2 cannot run (backreference, lookaround)",
    "env",
    "exit 2: names manifest:line:column, RE2's reason and how to rewrite it",
)
@pytest.mark.parametrize(("pattern", "reason"), [(r"(a)\\1", "invalid escape sequence"), ("(?=a)a", "perl operator")])
def test_pattern_re2_cannot_compile_is_an_input_error(tmp_path: Path, pattern: str, reason: str) -> None:
    manifest = f'environments: [production]\nvariables:\n  TOKEN:\n    type: regex\n    pattern: "{pattern}"\n'
    write_files(tmp_path, {"gate.yml": ENV_ONLY, "env.manifest.yml": manifest, ".env.production": "TOKEN=a\n"})
    outcome = closed_run(tmp_path, ["run"], ["env.manifest.yml:5:14", reason, "RE2"])
    assert "re2.cc" not in outcome.stderr


@row(
    "gate.yml names an absolute build folder (`sources.build: ['/etc']`)",
    "secrets",
    "exit 2 (not a ValueError) at gate.yml's line, from the command line too: it points outside the project",
)
def test_absolute_build_folder_is_an_input_error(tmp_path: Path) -> None:
    config = "version: 1\nchecks:\n  env:\n    enabled: false\n  deps:\n    enabled: false\n"
    write_files(tmp_path, {"gate.yml": config + "  secrets:\n    sources:\n      build: ['/etc']\n"})
    closed_run(tmp_path, ["run"], ["gate.yml:9:15", "'/etc', which points outside the project"])
    bare = tmp_path / "bare"
    write_files(bare, {"gate.yml": config})
    closed_run(bare, ["check", "secrets", "--build", "/etc"], ["command-line option", "outside the project"])


@row(
    "The gate.yml found in the project is a FIFO",
    "config",
    "exit 2 at once: it is refused, not skipped in favour of the preset's defaults",
)
def test_discovered_fifo_config_is_refused_not_skipped(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "gate.yml")
    closed_run(tmp_path, ["run"], ["gate.yml", "FIFO", "not opened"])
