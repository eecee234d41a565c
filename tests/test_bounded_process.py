"""gate.bounded_process: the one way the gate runs a program it does not control (the migrations
command, the backup command, pg_restore): deadline, output bound, the whole process group killed."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from gate.bounded_process import STDERR_KEPT, run_bounded
from gate.errors import CheckFailure


def _python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); its state in /proc says it is gone.
    stat = Path(f"/proc/{pid}/stat")
    return not stat.exists() or stat.read_text().split(") ", 1)[1][0] != "Z"


def test_output_and_exit_code_come_back_with_only_the_given_environment(tmp_path: Path) -> None:
    code = "import os, sys; print(os.environ.get('ONLY'), os.environ.get('HOME')); sys.exit(4)"
    done = run_bounded(_python(code), what="the probe", cwd=tmp_path, env={"ONLY": "yes"}, timeout=30, max_bytes=1000)
    assert (done.code, done.stdout) == (4, b"yes None\n")


def test_stdout_goes_to_a_file_when_asked_and_stderr_keeps_its_end(tmp_path: Path) -> None:
    code = "import sys; sys.stdout.write('x' * 300000); sys.stderr.write('e' * 200000 + '\\nlast words\\n')"
    out = tmp_path / "out"
    done = run_bounded(_python(code), what="p", cwd=tmp_path, env={}, timeout=30, max_bytes=400000, stdout_file=out)
    assert out.stat().st_size == 300000 and done.stdout == b""
    assert len(done.stderr) <= STDERR_KEPT + 65536 and done.last_words(1) == "last words"


def test_the_deadline_kills_the_whole_process_group(tmp_path: Path) -> None:
    # The child forks a grandchild that would outlive a plain kill of the child.
    pidfile = tmp_path / "grandchild"
    code = (
        "import os, subprocess, sys, time\n"
        f"p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'])\n"
        f"open({str(pidfile)!r}, 'w').write(str(p.pid))\n"
        "time.sleep(120)\n"
    )
    started = time.monotonic()
    with pytest.raises(CheckFailure, match=r"the sleeper did not finish within 1\.5s"):
        run_bounded(_python(code), what="the sleeper", cwd=tmp_path, env=dict(os.environ), timeout=1.5, max_bytes=10)
    assert time.monotonic() - started < 10
    grandchild = int(pidfile.read_text())
    for _ in range(50):
        if not _alive(grandchild):
            break
        time.sleep(0.1)
    assert not _alive(grandchild)


def test_output_past_the_bound_stops_the_program_and_names_the_bound(tmp_path: Path) -> None:
    code = "import sys\nwhile True: sys.stdout.write('y' * 65536)"
    with pytest.raises(CheckFailure, match=r"the flood wrote more than the test bound \(1 MB\); stopped"):
        run_bounded(
            _python(code),
            what="the flood",
            cwd=tmp_path,
            env={},
            timeout=30,
            max_bytes=1 << 20,
            bound="the test bound (1 MB)",
        )
    out = tmp_path / "flood"
    with pytest.raises(CheckFailure, match=r"wrote more than 1048576 bytes"):
        run_bounded(
            _python(code), what="the flood", cwd=tmp_path, env={}, timeout=30, max_bytes=1 << 20, stdout_file=out
        )
    assert out.stat().st_size <= 1 << 20


def test_a_program_that_cannot_start_is_a_check_failure_naming_it(tmp_path: Path) -> None:
    with pytest.raises(CheckFailure, match="the missing tool could not start"):
        run_bounded(["/nonexistent/tool"], what="the missing tool", cwd=tmp_path, env={}, timeout=5, max_bytes=10)
