"""`gate watch report`: uptime, p50/p95, errors, slowest hour and deploys from a known history,
thresholds of the stage preset, and the Markdown, SVG, JSON and OpenMetrics renderings."""

from __future__ import annotations

import json
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from prometheus_client.openmetrics.parser import text_string_to_metric_families

from gate.watch.probes import ProbeResult
from gate.watch.store import open_store
from tests.support.helpers import gate
from tests.support.watch_app import Receiver, write_config

HOUR = 3600.0


def _history(root: Path, *, slow_ms: float = 900.0, failures: int = 3) -> float:
    """A day of minute probes of `health` (core): 20 ms, two hours at `slow_ms`, `failures` failures."""
    store = open_store("watch.sqlite", root)
    now = time.time()
    start = (now - 23 * HOUR) // HOUR * HOUR
    rows = []
    for minute in range(22 * 60):
        at = start + 60 * minute
        slow_hour = 5 * 60 <= minute < 7 * 60
        ok = minute >= failures
        rows.append(ProbeResult("health", at, ok, slow_ms if slow_hour else 20.0, "HTTP 200" if ok else "HTTP 502"))
        rows.append(ProbeResult("home", at, True, 10.0, "HTTP 200"))
    store.add_probes(rows, "test")
    store.add_deploy(start + 2 * HOUR, "v1")
    store.add_deploy(start + 9 * HOUR, "v2")
    store.add_deploy(now - 9 * 86400, "old")
    store.close()
    return start


def test_a_clean_day_within_the_launch_bar_exits_0_with_every_number(tmp_path: Path) -> None:
    write_config(tmp_path, 1)
    start = _history(tmp_path, slow_ms=30.0, failures=0)
    outcome = gate("watch", "report", "--out", "r.json", "--format", "json", cwd=tmp_path)
    assert outcome.exit_code == 0, outcome.output
    report = json.loads((tmp_path / "r.json").read_text())
    health = next(t for t in report["targets"] if t["target"] == "health")
    assert health["uptime"] == 1.0 and health["p50_ms"] == 20.0 and health["p95_ms"] == 30.0
    assert health["probes"] == 22 * 60 and health["failures"] == 0 and health["core"] is True
    assert health["slowest_hour"] == time.strftime("%Y-%m-%d %H:00 UTC", time.gmtime(start + 5 * HOUR))
    assert report["deploys"] == 2 and report["breaches"] == []
    assert len(report["hourly"]) == 22


def test_a_slow_core_route_and_low_uptime_breach_the_launch_bar(tmp_path: Path) -> None:
    write_config(tmp_path, 1)
    _history(tmp_path, slow_ms=900.0, failures=3)
    outcome = gate("watch", "report", "--svg", "chart.svg", cwd=tmp_path)
    assert outcome.exit_code == 1, outcome.output
    text = outcome.stdout
    assert "**Over the launch bar:**" in text
    assert "health: p95 900 ms is over the 500 ms budget" in text
    assert "health: uptime 99.773% is below 99.900%" in text
    assert "| health (core) | 99.773% | 20 ms | 900 ms | 3 |" in text
    assert "Deploys: 2" in text and "![p95 latency and uptime per hour](chart.svg)" in text
    chart = ET.parse(tmp_path / "chart.svg").getroot()
    assert chart.tag.endswith("svg")
    assert len(chart.findall("{http://www.w3.org/2000/svg}polyline")) == 2
    assert len(chart.findall("{http://www.w3.org/2000/svg}rect")) == 1 + 22


def test_the_prototype_preset_is_lenient_on_the_same_history(tmp_path: Path) -> None:
    write_config(tmp_path, 1)
    _history(tmp_path, slow_ms=900.0, failures=3)
    assert gate("watch", "report", "--preset", "prototype", cwd=tmp_path).exit_code == 0


def test_openmetrics_parses_with_prometheus_own_parser(tmp_path: Path) -> None:
    write_config(tmp_path, 1)
    _history(tmp_path)
    outcome = gate("watch", "report", "--format", "openmetrics", "--since", "7d", cwd=tmp_path)
    families = {f.name: f for f in text_string_to_metric_families(outcome.stdout)}
    uptime = {s.labels["target"]: s.value for s in families["launch_gate_watch_uptime_ratio"].samples}
    assert uptime["home"] == 1.0 and 0.997 < uptime["health"] < 0.998
    p95 = {s.labels["target"]: s.value for s in families["launch_gate_watch_latency_p95_seconds"].samples}
    assert p95["health"] == pytest.approx(0.9)
    assert families["launch_gate_watch_deploys"].samples[0].value == 2


@pytest.mark.loopback
def test_a_breach_is_sent_to_the_alert_channels_with_alert(tmp_path: Path) -> None:
    with Receiver() as hook:
        write_config(tmp_path, 1, alerts={"webhook": {"url_env": "GATE_HOOK_URL"}})
        _history(tmp_path)
        outcome = gate("watch", "report", "--alert", cwd=tmp_path, env={"GATE_HOOK_URL": hook.url})
    assert outcome.exit_code == 1
    (body,) = hook.bodies
    assert body["target"] == "launch report" and "p95 900 ms" in body["failed"]
    assert body["owner"] == "@oncall-alice"


def test_since_that_is_not_a_window_is_bad_input(tmp_path: Path) -> None:
    write_config(tmp_path, 1)
    outcome = gate("watch", "report", "--since", "yesterday", cwd=tmp_path)
    assert outcome.exit_code == 2 and "--since" in outcome.stderr
