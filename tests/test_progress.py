"""Progress on stderr: a plain line every ~10 s in logs, a live line on a terminal, nothing under --quiet."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from gate import progress
from gate.checks.secrets import gitscan
from tests.support.helpers import gate, git_repo


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_plain_lines_come_at_most_once_per_interval_with_every_checks_counts() -> None:
    clock, written = Clock(), []
    display = progress.PlainDisplay(written.append, interval=10, clock=clock, timer=False)
    display("secrets", "history: commits scanned", 10, 400)
    clock.now += 4
    display("http", "requests to GET /me", 30, 300)
    assert written == []
    clock.now += 6
    display("secrets", "history: commits scanned", 120, 400)
    assert written == ["[10s] secrets: history: commits scanned 120/400 · http: requests to GET /me 30/300"]
    clock.now += 3
    display("http", "seconds waited for https://preview.example.com/", 12, None)
    assert len(written) == 1
    clock.now += 7
    display.flush_if_due()
    assert written[-1].endswith("http: seconds waited for https://preview.example.com/ 12")
    display.close()


def test_the_timer_speaks_when_no_check_does() -> None:
    written: list[str] = []
    display = progress.PlainDisplay(written.append, interval=0.05)
    display("deps", "auditing 3 Python packages with pip-audit", None, None)
    try:
        for _ in range(100):
            if written:
                break
            __import__("time").sleep(0.02)
    finally:
        display.close()
    assert written and "deps: auditing 3 Python packages" in written[0]


def test_progress_text_is_scrubbed_of_secrets() -> None:
    from gate.redact import register

    register("hunter2-very-secret-token-value")
    written: list[str] = []
    display = progress.PlainDisplay(written.append, interval=0, timer=False)
    display("http", "waiting for https://u:hunter2-very-secret-token-value@x/", None, None)
    assert written and "hunter2-very-secret-token-value" not in written[0]


def test_quiet_is_silent_and_a_dumb_or_ci_terminal_gets_plain_lines() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    quiet = progress.open_display(Tty(), {}, quiet=True)
    quiet("x", "y", 1, 2)
    quiet.close()
    for environ in ({"TERM": "dumb"}, {"CI": "true"}):
        display = progress.open_display(Tty(), environ, quiet=False)
        assert isinstance(display, progress.PlainDisplay)
        display.close()
    live = progress.open_display(Tty(), {"TERM": "xterm"}, quiet=False)
    assert isinstance(live, progress.LiveDisplay)
    live("secrets", "history: commits scanned", 3, 9)
    live.close()


@pytest.fixture
def history(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    commits: list[dict[str, str | bytes | None]] = [
        {f"mod{index % 5}.py": "".join(f"v_{index}_{line} = f({line})\n" for line in range(200))} for index in range(40)
    ]
    # Chunks small enough that the scan reports several times on a small history.
    monkeypatch.setattr(gitscan, "CHUNK", 4096)
    monkeypatch.setattr(progress, "PLAIN_INTERVAL_S", 0.0)
    return git_repo(tmp_path / "r", commits)


def test_a_history_scan_in_ci_counts_commits_on_stderr_and_keeps_json_clean(history: Path) -> None:
    outcome = gate("check", "secrets", "--history", "--format", "json", cwd=history, env={"CI": "true"})
    assert outcome.exit_code == 0, outcome.stderr
    json.loads(outcome.stdout)
    counts = [line for line in outcome.stderr.splitlines() if "history: commits scanned" in line]
    assert counts and all("/40" in line for line in counts)
    quiet = gate("check", "secrets", "--history", "-q", "--format", "json", cwd=history, env={"CI": "true"})
    assert quiet.stderr == "" and json.loads(quiet.stdout)["verdict"] == "pass"


def test_the_preview_wait_counts_seconds_in_ci(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setattr(progress, "PLAIN_INTERVAL_S", 0.0)
    (tmp_path / "gate.yml").write_text(
        "version: 1\npreset: prototype\nchecks:\n  http:\n    enabled: true\n"
        f"    url: http://127.0.0.1:{port}/\n    wait: {{timeout: 1s, interval: 200ms}}\n"
    )
    outcome = gate("check", "http", "--format", "sarif", cwd=tmp_path, env={"CI": "true"})
    assert outcome.exit_code == 1
    json.loads(outcome.stdout)
    waits = [line for line in outcome.stderr.splitlines() if f"seconds waited for http://127.0.0.1:{port}/" in line]
    assert waits and waits[-1].rstrip().endswith("/1")


def test_a_name_from_gate_yml_cannot_start_a_workflow_command_in_a_progress_line() -> None:
    written: list[str] = []
    display = progress.PlainDisplay(written.append, interval=0, timer=False)
    display("http", "load on GET /x\n::add-mask::\r\n##[error]forged\u2028::warning::x", 1, 2)
    [line] = written
    assert "\n" not in line and "\r" not in line and "\u2028" not in line
    assert not any(part.lstrip().startswith(("::", "##[")) for part in line.splitlines())


def test_in_actions_a_legacy_command_inside_a_progress_line_is_not_obeyed(monkeypatch: pytest.MonkeyPatch) -> None:
    """The runner obeys `##[cmd]` anywhere in a line, so CI progress lines are guarded too."""
    monkeypatch.setattr(progress, "PLAIN_INTERVAL_S", 0.0)
    stream = io.StringIO()
    display = progress.open_display(stream, {"CI": "true", "GITHUB_ACTIONS": "true"}, quiet=False)
    assert isinstance(display, progress.PlainDisplay)
    display("http", "load on GET /x ##[add-mask]forged", 1, 2)
    display.close()
    lines = stream.getvalue().splitlines()
    forged = [index for index, line in enumerate(lines) if "##[add-mask]" in line]
    assert forged
    for index in forged:
        opened = [line for line in lines[:index] if line.startswith("::stop-commands::")]
        assert opened, lines
        token = opened[-1].split("::")[2]
        assert f"::{token}::" in lines[index + 1 :]
