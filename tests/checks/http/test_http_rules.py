"""Every http rule is documented for users, every preset sets the http numbers, and the rule data
in rules/http/ loads and compiles."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from gate.checks.http import HttpCheck
from gate.checks.http.caching import EdgeRules
from gate.checks.http.crawl import BundleRules
from gate.checks.http.exposed import load_files
from gate.checks.http.headers import HeaderRules
from gate.config import preset_names, preset_path

DOCS = Path(__file__).resolve().parents[3] / "docs" / "http.md"


def test_every_rule_is_in_the_user_docs_with_its_why_and_fix() -> None:
    text = DOCS.read_text()
    for rule in HttpCheck.rules:
        assert f"`{rule.id}`" in text, rule.id
        assert len(rule.why) > 40 and len(rule.fix) > 20, rule.id


@pytest.mark.parametrize("preset", preset_names())
def test_every_preset_sets_the_http_thresholds(preset: str) -> None:
    section = yaml.safe_load(preset_path(preset).read_text())["checks"]["http"]
    assert {"fail_on", "tls", "headers", "edge", "wait"} <= set(section)
    assert section["tls"]["fail_days"] < section["tls"]["warn_days"]


def test_presets_get_stricter_from_prototype_to_launch() -> None:
    def load(name: str) -> dict[str, Any]:
        data: dict[str, Any] = yaml.safe_load(preset_path(name).read_text())["checks"]["http"]
        return data

    prototype, demo, launch = load("prototype"), load("demo"), load("launch")
    days = [p["tls"]["fail_days"] for p in (prototype, demo, launch)]
    assert days == sorted(days)
    assert launch["headers"]["csp_forbid_unsafe_inline"] and not demo["headers"]["csp_forbid_unsafe_inline"]


def test_rule_data_loads_and_each_exposed_entry_has_a_signature() -> None:
    HeaderRules.load()
    EdgeRules.load()
    BundleRules.load()
    files = load_files()
    assert {f.path for f in files} >= {"/.env", "/.git/config", "/.git/HEAD", "/.DS_Store"}
    assert all(f.match is not None or f.magic is not None for f in files)
    assert len({f.id for f in files}) == len(files)


def _http_preset(name: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(preset_path(name).read_text())
    return dict(data["checks"]["http"])


def _duration(text: str) -> str:
    """`300 ms`, `2 s`, `1 %` as the presets spell them: `300ms`, `2s`, `1%`."""
    return text.replace(" ", "")


def test_the_numbers_docs_load_md_gives_for_the_presets_are_the_presets_numbers() -> None:
    text = (DOCS.parent / "load.md").read_text()
    launch = _http_preset("launch")["budgets"]
    quoted = [line.split(":", 1)[1].strip() for line in text.splitlines() if "# launch preset," in line]
    assert quoted, "docs/load.md no longer quotes the launch preset"
    for fragment in quoted:
        for name, budget in yaml.safe_load(fragment).items():
            assert budget == launch[name], (name, budget, launch[name])


def test_the_budget_table_in_docs_http_md_is_the_presets_budgets() -> None:
    text = DOCS.read_text()
    table = text.split("### Budgets the presets set", 1)[1].split("\n\n", 2)[1]
    rows = {
        cells[0]: cells[1:]
        for line in table.splitlines()[2:]
        if (cells := [cell.strip() for cell in line.strip("|").split("|")])
    }
    presets = [_http_preset(name)["budgets"] for name in ("prototype", "demo", "launch")]
    for klass in ("read", "write", "auth", "heavy"):
        assert [_duration(cell) for cell in rows[f"`{klass}` p95"]] == [p[klass]["p95"] for p in presets]
    assert [_duration(c) for c in rows["error rate (every class)"]] == [p["read"]["error_rate"] for p in presets]
    assert [_duration(c) for c in rows["`cold_start` (every class)"]] == [p["read"]["cold_start"] for p in presets]
    streams = [[_duration(part) for part in cell.split("/")] for cell in rows["`stream` first event / max gap / stall"]]
    assert streams == [[p["stream"][key] for key in ("first_event", "max_gap", "stall")] for p in presets]
