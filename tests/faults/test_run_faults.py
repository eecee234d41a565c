"""Faults of the run itself: a check that crashes, SIGTERM mid-run, a disk that is full."""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gate.checks import REGISTRY
from tests.faults.common import MEASURED_GATE, PROCESS_MEMORY_BUDGET, REPO, fails_closed
from tests.faults.peers import Bounds, TcpPeer, measured, silent
from tests.faults.table import row
from tests.support.helpers import Outcome, gate, write_files

ENV_FILES = {
    "env.manifest.yml": "environments: [production]\nvariables:\n  PORT:\n    type: port\n",
    ".env.production": "PORT=3000\n",
}
NPM_LOCK = json.dumps(
    {"name": "app", "lockfileVersion": 3, "packages": {"node_modules/left-pad": {"version": "1.3.0"}}}
)


def _gate_process(cwd: Path, *args: str, **kwargs: object) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "gate", *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        **kwargs,  # type: ignore[arg-type]
    )


@row(
    "A check raises an unexpected exception",
    "any",
    "exit 3: the check is marked ERROR with the exception's type; the others still report",
)
def test_a_check_that_raises_fails_closed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def crash(self: object, ctx: object) -> object:
        raise RuntimeError("planted crash in the env check")

    monkeypatch.setattr(REGISTRY["env"], "run", crash)
    write_files(
        tmp_path,
        {**ENV_FILES, "gate.yml": "version: 1\nchecks:\n  env:\n    enabled: true\n  deps:\n    enabled: true\n"},
    )
    with measured() as box:
        outcome = gate("run", "--format", "json", cwd=tmp_path)
    fails_closed(outcome, box[0], ["RuntimeError"])
    report = json.loads(outcome.stdout)
    assert report["verdict"] != "pass" and report["exit_code"] == 3
    statuses = {c["name"]: c["status"] for c in report["checks"]}
    assert statuses["env"] == "error" and statuses["deps"] != "error"


@row(
    "The gate is killed with SIGTERM mid-run",
    "any",
    "exit 3: says it was stopped by SIGTERM; no report file is left behind",
)
def test_sigterm_mid_run_exits_3_and_leaves_no_report(tmp_path: Path) -> None:
    with TcpPeer(silent) as osv:
        write_files(
            tmp_path,
            {
                "package-lock.json": NPM_LOCK,
                "gate.yml": "version: 1\nchecks:\n  env:\n    enabled: false\n  deps:\n"
                f"    osv_url: {osv.url}/v1/query\n    request_timeout: 60s\n",
            },
        )
        (tmp_path / "out").mkdir()
        started = time.monotonic()
        process = _gate_process(tmp_path, "run", "--output", "json=out/report.json", "--output", "sarif=out/r.sarif")
        # Stop it once it is really mid-run: waiting on the OSV service.
        while osv.connections == 0 and process.poll() is None and time.monotonic() - started < 30:
            time.sleep(0.05)
        assert osv.connections, process.communicate()
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=30)
    outcome = Outcome(process.returncode, stdout, stderr)
    fails_closed(outcome, Bounds(time.monotonic() - started, 0), ["SIGTERM"], seconds=40)
    assert "GO (exit 0)" not in stdout and '"pass"' not in stdout
    assert list((tmp_path / "out").iterdir()) == []


@row(
    "The disk fills up while a report is written",
    "any",
    "exit 3: names the report that could not be written; no partial file is left",
)
def test_disk_full_while_writing_a_sarif_report_fails_closed(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            **ENV_FILES,
            "gate.yml": "version: 1\nchecks:\n  env:\n    enabled: true\n  deps:\n    enabled: false\n",
        },
    )
    (tmp_path / "out").mkdir()

    def limit_writes() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (256, 256))

    peak_file = tmp_path / "peak-kb"
    started = time.monotonic()
    # Pipes, not files, for its output: the size limit would cut a file as it cuts the report.
    process = subprocess.Popen(
        [sys.executable, "-c", MEASURED_GATE, "run", "--output", "sarif=out/r.sarif"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO), "GATE_TEST_PEAK_FILE": str(peak_file)},
        preexec_fn=limit_writes,
    )
    stdout, stderr = process.communicate(timeout=60)
    outcome = Outcome(process.returncode, stdout, stderr)
    # The run itself passes; only the report fails, and that alone must block. The peak is the gate
    # process's own (the rusage of children would count every earlier child of the test process).
    peak = int(peak_file.read_text()) * 1024
    fails_closed(outcome, Bounds(time.monotonic() - started, peak), ["could not write a report", "r.sarif"], seconds=40)
    assert list((tmp_path / "out").iterdir()) == []
    assert peak < PROCESS_MEMORY_BUDGET
