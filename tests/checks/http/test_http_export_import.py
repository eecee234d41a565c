"""`gate export k6|locust` writes gate.yml's http routes, login and budgets for an outside engine;
`gate import` judges its summary with the same budgets. Locust runs for real, headless, on loopback."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.support.helpers import gate, run_locust_headless
from tests.support.load_server import Served, serve

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
        # Declared expected: a 404 here is the success, in the exports as in the gate's own load.
        {"path": "/gone", "expect": [404], "budget": {"p50": "1s", "error_rate": "5%", "min_samples": 1}},
    ],
}


@pytest.fixture(scope="module", name="server")
def server_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serve(tmp_path_factory.mktemp("interop"), app="tests.support.flows_app:app") as served:
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


def _header_command(script: str, label: str, comment: str) -> list[str]:
    (line,) = [line for line in script.splitlines() if line.startswith(f"{comment} {label}:")]
    return shlex.split(line.split(":", 1)[1])


def test_the_locustfile_headers_commands_work_as_printed(server: Served, tmp_path: Path) -> None:
    ci = tmp_path / "ci"
    ci.mkdir()
    write_config(ci).rename(ci / "launch.yml")
    exported = gate(
        "export", "locust", "--config", "ci/launch.yml", "--preset", "demo", "--duration", "3s",
        "--out", "gate_locust.py", cwd=tmp_path,
    )  # fmt: skip
    assert exported.exit_code == 0, exported.output
    script = (tmp_path / "gate_locust.py").read_text()
    run = _header_command(script, "Run", "#")
    assert run[:3] == ["locust", "-f", "gate_locust.py"] and "3s" in run
    env = {**os.environ, "GATE_URL": server.url, "GATE_EMAIL": "user@example.com", "GATE_PASSWORD": "correct horse"}
    completed = subprocess.run(
        [sys.executable, "-m", *run, "--only-summary"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert (tmp_path / "gate_stats.csv").exists(), completed.stderr[-2000:]
    judge = _header_command(script, "Judge", "#")
    assert judge == ["gate", "import", "locust", "gate_stats.csv", "--config", "ci/launch.yml", "--preset", "demo"]
    outcome = gate(*judge[1:], "--format", "json", cwd=tmp_path)
    by_route = {(b["subject"], b["id"]): b for b in json.loads(outcome.stdout)["budgets"]}
    # 404 was declared the success of /gone: no errors there, in Locust's count as in the gate's.
    assert by_route[("GET /gone", "error-rate")]["measured"] == 0
    assert by_route[("GET /gone", "error-rate")]["status"] == "pass"
    assert by_route[("GET /flaky", "error-rate")]["status"] == "fail" and outcome.exit_code == 1


def test_the_k6_scripts_header_judges_the_summary_it_writes(tmp_path: Path) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is needed to check the k6 script (.ci/setup.d/40-load-tools.sh)")
    config = write_config(tmp_path)
    outcome = gate("export", "k6", "--config", "gate.yml", "--out", "load.js", cwd=tmp_path)
    assert outcome.exit_code == 0, outcome.output
    script = (tmp_path / "load.js").read_text()
    assert _header_command(script, "Run", "//") == ["k6", "run", "load.js"]
    judge = _header_command(script, "Judge", "//")
    assert judge == ["gate", "import", "k6", "k6-summary.json", "--config", "gate.yml"]
    # k6's own end-of-run text is kept beside the file gate import reads.
    assert "textSummary(data" in script and "stdout:" in script
    assert '"expect": [\n      404\n    ]' in script and "http.expectedStatuses(...route.expect)" in script
    # The summary k6 would write, per route, as the exported thresholds ask for it.
    metrics: dict[str, object] = {}
    for route in ("GET /fast", "GET /me", "GET /flaky", "GET /gone"):
        tag = f"{{gate_route:{route}}}"
        metrics[f"http_req_duration{tag}"] = {"type": "trend", "values": {"med": 12.0, "p(95)": 30.0, "count": 1000}}
        metrics[f"http_reqs{tag}"] = {"type": "counter", "values": {"count": 1000}}
        metrics[f"http_req_failed{tag}"] = {"type": "rate", "values": {"rate": 0.2 if route == "GET /flaky" else 0}}
    (tmp_path / "k6-summary.json").write_text(json.dumps({"metrics": metrics}))
    judged = gate(*judge[1:], "--format", "json", cwd=tmp_path)
    by_route = {(b["subject"], b["id"]): b for b in json.loads(judged.stdout)["budgets"]}
    assert by_route[("GET /gone", "error-rate")]["status"] == "pass"
    assert by_route[("GET /flaky", "error-rate")]["status"] == "fail" and judged.exit_code == 1
    checked = subprocess.run([node, "--check", str(tmp_path / "load.js")], capture_output=True, text=True, timeout=30)
    assert checked.returncode == 0, checked.stderr
    assert config.exists()
