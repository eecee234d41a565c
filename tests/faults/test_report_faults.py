"""Reports under a flood: a change that makes thousands of findings still reports within GitHub's limits."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gate.report.job_summary import STEP_SUMMARY_LIMIT
from tests.faults.common import MEMORY_BUDGET
from tests.faults.peers import measured
from tests.faults.table import row
from tests.support.helpers import gate, write_files

FINDINGS = 4000


@row(
    "A change makes thousands of findings (a vendored folder of keys)",
    "any",
    "exit 1: the job summary groups them by rule with a count and stays under GitHub's 1 MiB; "
    "at most 10 annotations per level and one line counting the rest",
)
@pytest.mark.usefixtures("fake_checks")
def test_thousands_of_findings_fit_the_job_summary_and_the_annotation_limits(tmp_path: Path) -> None:
    problems = "".join(f"      - vendor/keys/{'deep/' * 20}key_{index:05d}.pem\n" for index in range(FINDINGS))
    config = (
        "version: 1\nchecks:\n  env: {enabled: false}\n  deps: {enabled: false}\n  secrets: {enabled: false}\n"
        f"  planted:\n    enabled: true\n    problems:\n{problems}"
    )
    write_files(tmp_path, {"gate.yml": config})
    summary = tmp_path / "summary.md"
    with measured() as box:
        outcome = gate("run", "--github", cwd=tmp_path, env={"GITHUB_STEP_SUMMARY": str(summary)})
    assert outcome.exit_code == 1 and "Traceback" not in outcome.output
    assert box[0].peak_bytes < 4 * MEMORY_BUDGET and box[0].seconds < 60
    text = summary.read_text()
    assert 0 < len(text.encode()) <= STEP_SUMMARY_LIMIT
    assert f"| block | high | `fake.problem` | {FINDINGS} |" in text
    errors = [line for line in outcome.stdout.splitlines() if line.startswith("::error ")]
    assert len(errors) == 10
    assert f"{FINDINGS - 10} more finding(s)" in outcome.stdout


@row(
    "A name in gate.yml or the manifest carries a newline and `::` (a forged workflow command)",
    "any",
    "progress lines in CI logs are one line each: the name cannot start a command on stderr",
)
def test_a_forged_command_in_a_name_never_starts_a_line_of_progress(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gate import progress

    monkeypatch.setattr(progress, "PLAIN_INTERVAL_S", 0.0)
    forged = "production\n::error title=forged::from the manifest\n##[error]legacy"
    write_files(
        tmp_path,
        {
            "gate.yml": "version: 1\nchecks:\n  deps: {enabled: false}\n  secrets: {enabled: false}\n"
            "  env:\n    enabled: true\n    targets:\n      - environment: " + json.dumps(forged) + "\n"
            "        files: [.env]\n",
            "env.manifest.yml": "environments: [" + json.dumps(forged) + "]\nvariables:\n  PORT: {type: port}\n",
            ".env": "PORT=8080\n",
        },
    )
    outcome = gate("check", "env", "--format", "json", cwd=tmp_path, env={"CI": "true", "GITHUB_ACTIONS": "true"})
    assert "Traceback" not in outcome.output
    progress_lines = [line for line in outcome.stderr.splitlines() if "env: checking production" in line]
    assert progress_lines, outcome.stderr
    for line in outcome.stderr.splitlines():
        assert not line.lstrip().startswith(("::error title=forged", "##[error]")), line
