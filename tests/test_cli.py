"""The `gate` command as a user meets it: help, init, explain, schema, demo, signals."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
import pytest
import yaml

from gate.config import preset_names
from tests.support.helpers import gate
from tests.support.projects import clean_project

REPO = Path(__file__).resolve().parents[1]
HEAVY = ("jsonschema", "httpx", "dns", "detect_secrets", "pip_audit", "github", "yaml", "dotenv")


def _python(*args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env, timeout=120, **kwargs)  # type: ignore[call-overload, no-any-return]


def test_help_imports_no_heavy_library() -> None:
    probe = (
        "import sys\nfrom gate.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        f"print('HEAVY:' + ','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    completed = _python("-c", probe)
    assert completed.returncode == 0
    assert "Exit codes: 0 every budget holds" in completed.stdout
    assert completed.stdout.strip().splitlines()[-1] == "HEAVY:"


def test_python_dash_m_gate_and_version() -> None:
    completed = _python("-m", "gate", "--version")
    assert completed.returncode == 0 and "launch-gate" in completed.stdout


def test_check_lists_the_registered_checks() -> None:
    outcome = gate("check", "--help")
    assert outcome.exit_code == 0 and "env" in outcome.stdout


def test_unknown_check_is_bad_input() -> None:
    outcome = gate("check", "nope")
    assert outcome.exit_code == 2 and "No such command 'nope'" in outcome.stderr


def test_unknown_option_is_bad_input_without_traceback() -> None:
    outcome = gate("run", "--frobnicate")
    assert outcome.exit_code == 2 and "Traceback" not in outcome.output


@pytest.mark.parametrize("preset", preset_names())
def test_init_writes_a_valid_commented_gate_yml(tmp_path: Path, preset: str) -> None:
    clean_project(tmp_path)
    (tmp_path / "gate.yml").unlink()
    outcome = gate("init", "--preset", preset, cwd=tmp_path)
    assert outcome.exit_code == 0
    text = (tmp_path / "gate.yml").read_text()
    assert f"preset: {preset}" in text and "# " in text and "suppressions" in text
    assert yaml.safe_load(text)["preset"] == preset
    assert gate("run", cwd=tmp_path).exit_code == 0


def test_init_refuses_to_overwrite(tmp_path: Path) -> None:
    (tmp_path / "gate.yml").write_text("preset: demo\n")
    outcome = gate("init", cwd=tmp_path)
    assert outcome.exit_code == 2 and "--force" in outcome.stderr
    assert (tmp_path / "gate.yml").read_text() == "preset: demo\n"
    assert gate("init", "--force", cwd=tmp_path).exit_code == 0


def test_init_with_unknown_preset_is_bad_input(tmp_path: Path) -> None:
    outcome = gate("init", "--preset", "scale", cwd=tmp_path)
    assert outcome.exit_code == 2 and not (tmp_path / "gate.yml").exists()


def test_explain_says_what_why_and_how() -> None:
    outcome = gate("explain", "env.public-secret")
    assert outcome.exit_code == 0
    assert "Why it matters:" in outcome.stdout and "How to fix:" in outcome.stdout
    assert "Rotate the secret" in outcome.stdout


def test_explain_lists_every_rule() -> None:
    outcome = gate("explain", "--list")
    assert outcome.exit_code == 0
    assert "env.public-secret" in outcome.stdout and "policy.suppression-expired" in outcome.stdout
    assert gate("explain").stdout == outcome.stdout


def test_explain_unknown_rule_with_no_close_match_points_at_the_list() -> None:
    outcome = gate("explain", "zzz")
    assert outcome.exit_code == 2 and "gate explain --list" in outcome.stderr


def test_explain_unknown_rule_suggests_the_closest() -> None:
    outcome = gate("explain", "env.public-secrets")
    assert outcome.exit_code == 2 and "did you mean 'env.public-secret'?" in outcome.stderr


def test_schema_is_a_valid_json_schema_that_accepts_every_preset() -> None:
    from gate.config import preset_path

    schema = json.loads(gate("schema").stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    for name in preset_names():
        jsonschema.Draft202012Validator(schema).validate(yaml.safe_load(preset_path(name).read_text()))


def test_run_without_gate_yml_uses_the_preset_and_says_so(tmp_path: Path) -> None:
    clean_project(tmp_path)
    (tmp_path / "gate.yml").unlink()
    outcome = gate("run", "--preset", "demo", cwd=tmp_path)
    assert outcome.exit_code == 0 and "no gate.yml found; using the 'demo' preset" in outcome.stderr


def test_clean_project_passes(tmp_path: Path) -> None:
    outcome = gate("run", cwd=clean_project(tmp_path))
    assert outcome.exit_code == 0
    assert outcome.stdout.strip().splitlines()[-1] == "GO (exit 0): every budget of the launch preset holds."


def test_demo_blocks_and_shows_the_planted_env_problems(tmp_path: Path) -> None:
    outcome = gate("demo", "--keep", str(tmp_path / "demo"))
    assert outcome.exit_code == 1
    for expected in (
        "[env.public-secret]",
        "at .env.production:4",
        "[env.local-address-in-production]",
        "[env.missing-required]",
        "at env.manifest.yml:14",
        "[env.undeclared-in-code]",
        "at src/server.ts:4",
        "NO-GO (exit 1)",
    ):
        assert expected in outcome.stdout
    assert "sk_live_51DemoLiveDemoLiveDemo99" not in outcome.output
    assert (tmp_path / "demo" / ".git").is_dir()


def test_demo_in_a_temp_dir_cleans_up() -> None:
    outcome = gate("demo", "--format", "json")
    assert outcome.exit_code == 1
    root = json.loads(outcome.stdout)["target"]["root"]
    assert not Path(root).exists()


def test_sigterm_mid_run_exits_3_and_leaves_no_passing_report(tmp_path: Path) -> None:
    clean_project(tmp_path)
    (tmp_path / "gate.yml").write_text("checks:\n  env:\n    code: [big]\n")
    big = tmp_path / "big"
    for index in range(400):
        folder = big / f"d{index}"
        folder.mkdir(parents=True)
        for file_index in range(20):
            (folder / f"f{file_index}.ts").write_text("const a = process.env.DATABASE_URL;\n" * 200)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(
        [sys.executable, "-m", "gate", "run", "--output", "json=r.json"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(1.0)
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 3, err
    assert "stopped by signal SIGTERM" in err and "nothing was passed" in err
    assert not (tmp_path / "r.json").exists()


def test_http_library_retry_warnings_reach_stderr_only_with_verbose(capsys: pytest.CaptureFixture[str]) -> None:
    import logging

    from gate.cli import _configure_logging

    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        for verbose, shown in ((0, False), (1, True)):
            _configure_logging(verbose)
            logging.getLogger("urllib3.connectionpool").warning("Retrying (Retry(total=2)) after connection broken")
            logging.getLogger("gate.scheduler").warning("a warning of the gate itself")
            err = capsys.readouterr().err
            assert ("Retrying" in err) is shown and "a warning of the gate itself" in err
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
        for library in ("urllib3", "github"):
            logging.getLogger(library).setLevel(logging.NOTSET)
