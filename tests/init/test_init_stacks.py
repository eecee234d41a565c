"""`gate init` on a sample project per stack, then `gate run`: a real verdict with no hand edits.

Each stack's gate.yml and env.manifest.yml are golden files in tests/data/init/ (rewrite them
with GATE_REGEN_GOLDEN=1 after a reviewed change); the run goes through the real deps check,
whose OSV queries a loopback proxy answers.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from gate.checks import config_schemas
from gate.config import load_config
from tests.github.test_github_files import _tool
from tests.support.helpers import gate
from tests.support.init_samples import LEAKED_KEY, SAMPLES, sample_project
from tests.support.osv_proxy import osv_behind_proxy

GOLDEN = Path(__file__).resolve().parents[1] / "data" / "init"
WRITTEN = ("gate.yml", "env.manifest.yml")


def _golden(name: str, text: str) -> str:
    path = GOLDEN / name
    if os.environ.get("GATE_REGEN_GOLDEN") == "1":
        path.write_text(text)
    return path.read_text()


def _init(root: Path, *args: str) -> str:
    outcome = gate("init", "--quiet", *args, cwd=root)
    assert outcome.exit_code == 0, outcome.output
    return outcome.stdout


@pytest.mark.parametrize("stack", sorted(SAMPLES))
def test_init_writes_the_expected_gate_yml_and_manifest(tmp_path: Path, stack: str) -> None:
    root = sample_project(tmp_path / stack, stack)
    _init(root)
    for name in WRITTEN:
        assert (root / name).read_text() == _golden(f"{stack}.{name}", (root / name).read_text()), name
    config = load_config(root / "gate.yml", check_schemas=config_schemas(), scan_root=root)
    assert config.section("env")["manifest"] == "env.manifest.yml"


@pytest.mark.parametrize("stack", sorted(SAMPLES))
def test_gate_run_after_init_gives_a_real_verdict(tmp_path: Path, stack: str) -> None:
    root = sample_project(tmp_path / stack, stack)
    _init(root)
    with osv_behind_proxy(tmp_path, []) as environ:
        outcome = gate("run", "--format", "json", cwd=root, env=environ)
    assert outcome.exit_code in (0, 1), outcome.output
    report = json.loads(outcome.stdout)
    assert {c["name"]: c["status"] for c in report["checks"]}.keys() >= {"env", "deps", "secrets"}
    audited = [b for b in report["budgets"] if b["id"] == "deps.audited"]
    assert audited and audited[0]["measured"] > 0, audited
    rules = {f["rule_id"] for f in report["findings"]}
    # Nothing gate init wrote is itself a finding; the manifest's only one says no .env holds values yet.
    on_written = {
        f["rule_id"] for f in report["findings"] if str(f["location"]["path"]).startswith((*WRITTEN, ".github/"))
    }
    assert on_written <= {"env.no-sources"}, rules


def test_a_committed_key_is_found_but_never_copied(tmp_path: Path) -> None:
    root = sample_project(tmp_path / "nextjs", "nextjs")
    shown = _init(root, "--dry-run")
    written = _init(root)
    texts = [shown, written, *((root / name).read_text() for name in WRITTEN)]
    texts += [p.read_text() for p in (root / ".github" / "workflows").iterdir()]
    assert not [t for t in texts if LEAKED_KEY in t or LEAKED_KEY[:12] in t]
    manifest = (root / "env.manifest.yml").read_text()
    assert "OPENAI_API_KEY: {type: non-empty, secret: true}" in manifest
    assert "secret-looking value (not copied)" in manifest


@pytest.mark.parametrize("stack", sorted(SAMPLES))
def test_the_written_workflows_pass_actionlint_and_zizmor(tmp_path: Path, stack: str) -> None:
    root = sample_project(tmp_path / stack, stack)
    _init(root)
    workflows = sorted(str(p) for p in (root / ".github" / "workflows").glob("*.yml"))
    assert len(workflows) == 2
    lint = subprocess.run([_tool("actionlint"), "-no-color", *workflows], capture_output=True, text=True, timeout=120)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    audit = subprocess.run(
        [_tool("zizmor"), "--offline", "--no-progress", "--format", "plain", *workflows],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert audit.returncode == 0, audit.stdout + audit.stderr


def test_the_readme_shows_the_real_output_of_gate_init(tmp_path: Path) -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    shown = readme.split("$ gate init\n", 1)[1].split("\n$ gate run", 1)[0]
    root = sample_project(tmp_path / "shop", "nextjs")
    assert _init(root).rstrip("\n") == shown
