"""k6 and Locust export/import, and `--baseline` regression comparison against a real JSON report.

Locust runs for real, headless, against uvicorn on 127.0.0.1 (bounded by -t and a subprocess
timeout); the k6 script is checked with node's syntax check (k6 itself is not packaged for Debian).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from gate.errors import InputError
from gate.load.baseline import read_baseline, regressions
from gate.load.export import ExportLogin, ExportPlan, ExportRoute, k6_script, locustfile
from gate.load.generator import Closed, Cold, LoadResult
from gate.load.import_results import imported_measurements, read_k6_summary, read_locust_stats
from gate.load.measure import RouteBudget, route_measurements
from gate.load.monitor import ClientHealth
from gate.load.stats import Latencies
from gate.model import BudgetResult, CheckResult, Measurement, Target
from gate.policy import judge
from gate.report import ReportInput
from gate.report.json_report import render
from tests.support.helpers import judge_measurements, run_locust_headless
from tests.support.load_server import Served, serve

BUDGET = RouteBudget(p50_ms=500, p95_ms=1000, error_rate=0.5)
LOGIN = ExportLogin(
    path="/login", fields={"email": "GATE_TEST_EMAIL", "password": "GATE_TEST_PASSWORD"}, token_path="data.access_token"
)


def plan(url: str) -> ExportPlan:
    return ExportPlan(
        url=url,
        routes=[
            ExportRoute("GET /fast", "GET", "/fast", BUDGET),
            ExportRoute("GET /private", "GET", "/private", BUDGET, authenticated=True),
            ExportRoute("GET /flaky", "GET", "/flaky", RouteBudget(p95_ms=1000, error_rate=0.05)),
        ],
        concurrency=4,
        duration_s=3,
        login=LOGIN,
    )


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serve(tmp_path_factory.mktemp("srv")) as served:
        yield served


def judged(measurements: Sequence[Measurement]) -> dict[tuple[str, str], BudgetResult]:
    budgets = judge_measurements(measurements)
    return {(budget.subject, budget.id): budget for budget in budgets}


def test_exported_locustfile_runs_headless_logs_in_and_its_csv_is_judged_with_the_same_budgets(
    server: Served, tmp_path: Path
) -> None:
    script = tmp_path / "locustfile.py"
    script.write_text(locustfile(plan("http://example.invalid")))
    stats = run_locust_headless(
        script, server.url, {"GATE_TEST_EMAIL": "a@example.com", "GATE_TEST_PASSWORD": "pw", "GATE_URL": server.url}
    )
    routes = read_locust_stats(stats)
    assert set(routes) == {"GET /fast", "GET /private", "GET /flaky"}
    assert routes["GET /fast"].requests > 20 and routes["GET /fast"].failures == 0
    # The token from the login answer was carried: the private route never answered 401.
    assert routes["GET /private"].requests > 20 and routes["GET /private"].failures == 0
    assert routes["GET /flaky"].error_rate == pytest.approx(0.2, abs=0.05)
    outcome = judged(
        imported_measurements("GET /flaky", routes["GET /flaky"], RouteBudget(p95_ms=1000, error_rate=0.05))
        + imported_measurements("GET /fast", routes["GET /fast"], RouteBudget(p50_ms=1000))
    )
    assert outcome[("GET /flaky", "error-rate")].status == "fail"
    assert outcome[("GET /fast", "latency.p50")].status == "pass"
    assert "Locust rounds" in (outcome[("GET /fast", "latency.p50")].note or "")


def test_exported_k6_script_is_valid_javascript_with_thresholds_per_route(tmp_path: Path) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is needed to check the k6 script (apt-get install nodejs)")
    script = tmp_path / "gate.k6.mjs"
    text = k6_script(plan("https://preview.example.com"))
    script.write_text(text)
    completed = subprocess.run([node, "--check", str(script)], capture_output=True, text=True, timeout=30)
    assert completed.returncode == 0, completed.stderr
    assert '"http_req_duration{gate_route:GET /fast}": [\n      "p(50)<500",\n      "p(95)<1000"' in text
    assert '"http_req_failed{gate_route:GET /flaky}": [\n      "rate<0.05"' in text
    assert "export function route_2(data)" in text


def test_exported_scripts_embed_gate_yml_strings_as_literals_never_as_code(tmp_path: Path) -> None:
    hostile = ExportRoute("x'); require('child_process') //\n\"\"\"", "GET", "/a'\"\\", BUDGET)
    bad = ExportPlan(url="http://h", routes=[hostile], concurrency=1, duration_s=1)
    script = tmp_path / "k6.mjs"
    script.write_text(k6_script(bad))
    assert subprocess.run(["node", "--check", str(script)], capture_output=True, timeout=30).returncode == 0
    compile(locustfile(bad), "locustfile.py", "exec")


def _k6_summary(tmp_path: Path, nested: bool) -> Path:
    def metric(kind: str, values: dict[str, float]) -> dict[str, object]:
        return {"type": kind, "contains": "time", "values": values} if nested else values

    metrics = {
        "http_req_duration": metric("trend", {"med": 3.0, "p(95)": 9.0, "p(99)": 12.0, "count": 1400}),
        "http_req_duration{gate_route:GET /fast}": metric(
            "trend", {"med": 2.1, "p(95)": 8.5, "p(99)": 11.0, "avg": 3.0, "count": 1200}
        ),
        "http_reqs{gate_route:GET /fast}": metric("counter", {"count": 1200, "rate": 400.0}),
        "http_req_failed{gate_route:GET /fast}": metric(
            "rate", {"rate": 0.0, "passes": 0, "fails": 1200} if nested else {"value": 0.0, "passes": 0, "fails": 1200}
        ),
        "http_req_duration{gate_route:GET /flaky}": metric("trend", {"med": 2.0, "p(95)": 7.0, "count": 200}),
        "http_reqs{gate_route:GET /flaky}": metric("counter", {"count": 200, "rate": 60.0}),
        "http_req_failed{gate_route:GET /flaky}": metric("rate", {"rate": 0.2, "passes": 40, "fails": 160}),
        "http_req_duration{gate_route:login}": metric("trend", {"med": 30.0, "count": 1}),
    }
    path = tmp_path / "k6-summary.json"
    path.write_text(json.dumps({"root_group": {}, "metrics": metrics}))
    return path


@pytest.mark.parametrize("nested", [True, False], ids=["handleSummary", "summary-export"])
def test_k6_summary_is_read_per_route_and_judged(tmp_path: Path, nested: bool) -> None:
    routes = read_k6_summary(_k6_summary(tmp_path, nested))
    assert set(routes) == {"GET /fast", "GET /flaky"}
    fast = routes["GET /fast"]
    assert fast.percentiles_ms[0.5] == 2.1 and fast.percentiles_ms[0.99] == 11.0
    assert fast.requests == 1200 and fast.failures == 0
    assert routes["GET /flaky"].failures == 40
    outcome = judged(
        imported_measurements("GET /fast", fast, RouteBudget(p95_ms=10, p99_ms=10, error_rate=0.01))
        + imported_measurements("GET /flaky", routes["GET /flaky"], RouteBudget(p99_ms=10))
        + imported_measurements("GET /gone", routes.get("GET /gone"), RouteBudget(p95_ms=10))
    )
    assert outcome[("GET /fast", "latency.p95")].status == "pass"
    assert outcome[("GET /fast", "latency.p99")].status == "fail"
    assert outcome[("GET /fast", "error-rate")].status == "pass"
    assert outcome[("GET /flaky", "latency.p99")].status == "error"
    assert "did not report p99" in (outcome[("GET /flaky", "latency.p99")].note or "")
    assert outcome[("GET /gone", "latency.p95")].status == "error"


def test_imports_of_broken_files_are_bad_input_naming_the_file(tmp_path: Path) -> None:
    broken = tmp_path / "k6.json"
    broken.write_text("{\n  nope")
    with pytest.raises(InputError) as error:
        read_k6_summary(broken)
    assert error.value.position is not None and error.value.position.line == 2
    broken.write_text('{"metrics": {"http_req_duration": {}}}')
    with pytest.raises(InputError, match="no per-route metrics"):
        read_k6_summary(broken)
    csv = tmp_path / "stats.csv"
    csv.write_text("Type,Name\nGET,/x\n")
    with pytest.raises(InputError, match="missing columns"):
        read_locust_stats(csv)
    with pytest.raises(InputError, match="cannot read"):
        read_locust_stats(tmp_path / "absent.csv")


def _result(p95_ms: float, errors: int, requests: int = 1000) -> LoadResult:
    # 94 % of samples at 10 ms and the slowest 6 % at p95_ms: the p95 is exactly p95_ms.
    samples = [10.0] * (requests * 94 // 100) + [p95_ms] * (requests - requests * 94 // 100)
    health = ClientHealth(0.0, 0.0, 10, 0.1, 0.1, 1.0)
    return LoadResult(
        Closed(8).describe(),
        requests,
        {"status 500": errors} if errors else {},
        Latencies.of(samples),
        1.0,
        Cold(5.0, 200, None),
        health,
        None,
    )


def _report(tmp_path: Path, measurements: list[Measurement]) -> Path:
    verdict = judge(
        [CheckResult("http", (), tuple(measurements), 1.0)],
        fail_on={},
        suppressions=(),
        preset="launch",
        target=Target(root="."),
        started_at="2026-01-01T00:00:00Z",
        duration_s=1.0,
    )
    path = tmp_path / "base.json"
    path.write_text(render(ReportInput(verdict, {}, "test")))
    return path


def test_baseline_fails_a_route_whose_p95_or_error_rate_grew_past_the_allowed_ratio(tmp_path: Path) -> None:
    budget = RouteBudget(p95_ms=1000, error_rate=0.05)
    base = _report(
        tmp_path,
        route_measurements("GET /a", _result(100, 0), budget) + route_measurements("GET /b", _result(100, 10), budget),
    )
    baseline = read_baseline(base)
    now = (
        route_measurements("GET /a", _result(110, 4), budget)
        + route_measurements("GET /b", _result(200, 10), budget)
        + route_measurements("GET /new", _result(100, 0), budget)
    )
    outcome = judged(regressions(now, baseline, max_growth=1.2))
    assert outcome[("GET /a", "regression.latency.p95")].status == "pass"
    assert outcome[("GET /a", "regression.latency.p95")].measured == pytest.approx(1.1)
    # Zero errors in 1000 baseline requests counts as one: 4 now is 4x growth.
    assert outcome[("GET /a", "regression.error-rate")].status == "fail"
    assert outcome[("GET /b", "regression.latency.p95")].status == "fail"
    assert outcome[("GET /b", "regression.error-rate")].status == "pass"
    assert not any(subject == "GET /new" for subject, _ in outcome)


def test_a_baseline_that_is_not_a_gate_report_is_bad_input(tmp_path: Path) -> None:
    path = tmp_path / "other.json"
    path.write_text('{"schema": "something-else"}')
    with pytest.raises(InputError, match="not a launch-gate/report/v1 report"):
        read_baseline(path)
    path.write_text("[")
    with pytest.raises(InputError, match="not JSON"):
        read_baseline(path)
