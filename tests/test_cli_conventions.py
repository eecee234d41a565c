"""The flags and variables people know from gitleaks, pip-audit, zizmor and trivy, as `gate` spells them."""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import pytest

from gate import __version__
from gate.cli import use_color
from tests.support.helpers import gate, git
from tests.support.projects import clean_project

REPO = Path(__file__).resolve().parents[1]
# A Select Graphic Rendition sequence that sets a colour or weight (not a bare reset).
COLOUR = re.compile(rb"\x1b\[(?:[1-9]|[1-9]\d|3\d;|38;)[0-9;]*m")


def _with_medium_finding(root: Path) -> Path:
    clean_project(root)
    (root / "src" / "extra.ts").write_text("export const flag = process.env.UNDECLARED_FLAG;\n")
    return root


@pytest.mark.parametrize("flag", ["-V", "--version"])
def test_version_short_and_long(flag: str) -> None:
    outcome = gate(flag)
    assert outcome.exit_code == 0 and __version__ in outcome.stdout


def test_fail_on_overrides_every_checks_threshold(tmp_path: Path) -> None:
    root = _with_medium_finding(tmp_path)
    assert gate("run", cwd=root).exit_code == 1  # launch: env fails on medium
    assert gate("run", "--fail-on", "high", cwd=root).exit_code == 0
    assert gate("run", "--fail-on", "HIGH", cwd=root).exit_code == 0
    assert gate("check", "env", "--fail-on", "low", cwd=root).exit_code == 1
    wrong = gate("run", "--fail-on", "severe", cwd=root)
    assert wrong.exit_code == 2 and "critical" in wrong.stderr


def test_quiet_keeps_the_report_and_drops_notes(tmp_path: Path) -> None:
    clean_project(tmp_path)
    (tmp_path / "gate.yml").unlink()
    loud = gate("run", cwd=tmp_path)
    assert "no gate.yml found" in loud.stderr
    quiet = gate("run", "-q", "--format", "json", cwd=tmp_path)
    assert quiet.exit_code == 0 and quiet.stderr == ""
    assert json.loads(quiet.stdout)["verdict"] == "pass"
    both = gate("run", "--quiet", "-v", cwd=tmp_path)
    assert both.exit_code == 2 and "contradict" in both.stderr


def test_positional_path_is_the_scan_root_and_config_only_names_the_file(tmp_path: Path) -> None:
    project = _with_medium_finding(tmp_path / "project")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "x.yml").write_text("version: 1\npreset: launch\n")
    (elsewhere / "src").mkdir()
    (elsewhere / "src" / "other.ts").write_text("export const other = process.env.ONLY_ELSEWHERE;\n")
    (elsewhere / "env.manifest.yml").write_text((project / "env.manifest.yml").read_text())
    outcome = gate("run", str(project), "--config", str(elsewhere / "x.yml"), "--format", "json", cwd=tmp_path)
    report = json.loads(outcome.stdout)
    assert report["target"]["root"] == str(project.resolve())
    messages = " ".join(f["message"] for f in report["findings"])
    assert "UNDECLARED_FLAG" in messages and "ONLY_ELSEWHERE" not in messages
    missing = gate("check", "env", str(tmp_path / "nope"))
    assert missing.exit_code == 2 and "nope" in missing.stderr


def test_default_scan_root_is_the_git_top_level_not_the_configs_folder(tmp_path: Path) -> None:
    project = _with_medium_finding(tmp_path / "repo")
    git(project, "init", "-q")
    (project / "deep" / "er").mkdir(parents=True)
    config_dir = tmp_path / "configs"
    config_dir.mkdir()
    (config_dir / "gate.yml").write_text("version: 1\npreset: launch\n")
    outcome = gate("run", "--config", str(config_dir / "gate.yml"), "--format", "json", cwd=project / "deep" / "er")
    assert json.loads(outcome.stdout)["target"]["root"] == str(project.resolve())
    assert outcome.exit_code == 1
    # Without --config, the gate.yml at the top of the repository is found from a subfolder.
    nested = gate("run", "--format", "json", cwd=project / "deep")
    assert json.loads(nested.stdout)["target"]["root"] == str(project.resolve()) and nested.exit_code == 1


def test_a_directory_outside_git_is_its_own_root(tmp_path: Path) -> None:
    clean_project(tmp_path)
    outcome = gate("run", "--format", "json", cwd=tmp_path)
    assert json.loads(outcome.stdout)["target"]["root"] == str(tmp_path.resolve())


@pytest.mark.parametrize(
    ("flag", "environ", "tty", "expected"),
    [
        (None, {}, True, True),
        (None, {}, False, False),
        (None, {"NO_COLOR": "1"}, True, False),
        (None, {"NO_COLOR": ""}, True, True),  # no-color.org: set and not empty
        (None, {"TERM": "dumb"}, True, False),
        (True, {"NO_COLOR": "1"}, False, True),
        (False, {}, True, False),
    ],
)
def test_colour_follows_flag_then_no_color_and_term_dumb_then_the_terminal(
    flag: bool | None, environ: dict[str, str], tty: bool, expected: bool
) -> None:
    assert use_color(flag, tty, environ) is expected


def _on_a_terminal(args: list[str], cwd: Path, **extra: str) -> tuple[int, bytes]:
    """Run `gate` with stdout and stderr on a real pseudo-terminal; what the terminal showed."""
    leader, follower = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "CI", "TERM", "FORCE_COLOR")}
    env |= {"PYTHONPATH": str(REPO), "TERM": "xterm-256color", **extra}
    with subprocess.Popen(
        [sys.executable, "-m", "gate", *args], cwd=cwd, stdout=follower, stderr=follower, env=env
    ) as process:
        os.close(follower)
        shown = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:
                break
            if not chunk:
                break
            shown += chunk
        code = process.wait(timeout=120)
    os.close(leader)
    return code, shown


def test_a_real_terminal_gets_colour_unless_no_color_or_term_dumb(tmp_path: Path) -> None:
    root = _with_medium_finding(tmp_path)
    code, shown = _on_a_terminal(["run"], root)
    assert code == 1 and COLOUR.search(shown)
    for extra in ({"NO_COLOR": "1"}, {"TERM": "dumb"}):
        code, shown = _on_a_terminal(["run"], root, **extra)
        assert code == 1 and not COLOUR.search(shown), extra
        assert b"NO-GO" in shown
    code, shown = _on_a_terminal(["run", "--no-color"], root)
    assert code == 1 and not COLOUR.search(shown)
    # TERM=dumb cannot move the cursor: no live progress region either.
    assert b"\x1b[" not in _on_a_terminal(["run"], root, TERM="dumb")[1]


def test_verbose_logs_info_and_debug_on_stderr_only(tmp_path: Path) -> None:
    clean_project(tmp_path)
    quiet = gate("run", "--format", "json", cwd=tmp_path)
    assert "INFO " not in quiet.stderr
    info = gate("run", "-v", "--format", "json", cwd=tmp_path)
    assert "INFO gate.config:" in info.stderr and "DEBUG " not in info.stderr
    json.loads(info.stdout)
    debug = gate("run", "-vv", "--format", "json", cwd=tmp_path)
    assert "DEBUG " in debug.stderr
    json.loads(debug.stdout)


def test_bad_input_on_a_terminal_leaves_the_cursor_visible(tmp_path: Path) -> None:
    (tmp_path / "gate.yml").write_text("version: 1\nchecks:\n  env:\n    timout: 2m\n")
    code, shown = _on_a_terminal(["run"], tmp_path)
    assert code == 2 and b"timout" in shown
    hidden, visible = shown.count(b"\x1b[?25l"), shown.count(b"\x1b[?25h")
    assert hidden == visible
