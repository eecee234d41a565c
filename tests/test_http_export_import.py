"""`gate export k6|locust` writes gate.yml's http routes, login and budgets for an outside engine;
`gate import` judges its summary with the same budgets. Locust runs for real, headless, on loopback."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from helpers import gate, run_locust_headless
from load_server import Served, serve

SECTION = {
    "url": "http://example.invalid/",
    "login": {
        "path": "/login",
        "fields": {"email": "GATE_EMAIL", "password": "GATE_PASSWORD"},
        "success": {"token": "data.access_token"},
    },
    "load": {"concurrency": 4, "duration": "3s"},
    "routes": [
        {"path": "/fast", "budget": {"p50": "1s", "error_rate": "5%", "min_samples": 1}},
        {"path": "/me", "auth": True, "budget": {"p50": "1s", "error_rate": "5%", "min_samples": 1}},
        {"path": "/flaky", "budget": {"p50": "1s", "error_rate": "5%", "min_samples": 1}},
        {"path": "/items", "method": "POST"},
    ],
}


@pytest.fixture(scope="module", name="server")
def server_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serve(tmp_path_factory.mktemp("interop"), app="flows_app:app") as served:
        yield served


def write_config(root: Path) -> Path:
    path = root / "gate.yml"
    path.write_text(yaml.safe_dump({"version": 1, "preset": "demo", "checks": {"http": SECTION}}))
    return path


def test_exported_locustfile_runs_and_gate_import_judges_its_stats(server: Served, tmp_path: Path) -> None:
    config = write_config(tmp_path)
    script = tmp_path / "gate_locust.py"
    exported = gate("export", "locust", "--config", str(config), "--out", str(script))
    assert exported.exit_code == 0, exported.output
    text = script.read_text()
    assert "GATE_PASSWORD" in text and "correct horse" not in text and "POST /items" not in text
    stats = run_locust_headless(
        script, server.url, {"GATE_EMAIL": "user@example.com", "GATE_PASSWORD": "correct horse"}
    )
    outcome = gate("import", "locust", str(stats), "--config", str(config), "--format", "json")
    report = json.loads(outcome.stdout)
    by_route = {(b["subject"], b["id"]): b for b in report["budgets"]}
    assert by_route[("GET /flaky", "error-rate")]["status"] == "fail"
    assert by_route[("GET /fast", "error-rate")]["status"] == "pass"
    # The login token was carried by the exported script: the authenticated route never failed.
    assert by_route[("GET /me", "error-rate")]["measured"] == 0
    assert by_route[("GET /me", "latency.p50")]["status"] == "pass"
    assert outcome.exit_code == 1
    console = gate("import", "locust", str(stats), "--config", str(config), "--no-color").stdout
    (line,) = [line for line in console.splitlines() if "error-rate" in line and "GET /flaky" in line]
    # The bar overflows the limit mark: 20 % errors against a 5 % budget.
    assert "│" in line and line.index("█") < line.index("│") < line.rindex("█")


def test_exported_k6_script_passes_node_syntax_check(tmp_path: Path) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is needed to check the k6 script (.ci/setup.d/40-load-tools.sh)")
    config = write_config(tmp_path)
    outcome = gate("export", "k6", "--config", str(config), "--url", "https://preview.example.com/")
    assert outcome.exit_code == 0, outcome.output
    script = tmp_path / "script.mjs"
    script.write_text(outcome.stdout)
    checked = subprocess.run([node, "--check", str(script)], capture_output=True, text=True, timeout=30)
    assert checked.returncode == 0, checked.stderr
    assert '"https://preview.example.com"' in outcome.stdout and "gate_route:GET /me" in outcome.stdout


def test_import_of_a_missing_summary_is_bad_input(tmp_path: Path) -> None:
    outcome = gate("import", "k6", str(tmp_path / "nope.json"), "--config", str(write_config(tmp_path)))
    assert outcome.exit_code == 2 and "nope.json" in outcome.output
