"""Property tests: no input makes the spine crash, and every rendering stays schema-valid."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from gate.checks import config_schemas
from gate.checks.base import RuleDoc
from gate.config import load_config
from gate.config.yamlpos import load_text
from gate.errors import InputError, InputErrors
from gate.model import Budget, CheckResult, Finding, Location, Measurement, Severity, Suppression, Target
from gate.policy import judge
from gate.report import ReportInput, render
from tests.support.helpers import validate_report

FUZZ = settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])

text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=80)
json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | text
json_values = st.recursive(
    json_scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4), max_leaves=12
)
config_keys = st.sampled_from(
    ["version", "preset", "checks", "env", "enabled", "timeout", "fail_on", "suppressions", "run", "project", "bogus"]
)
config_like = st.recursive(
    json_scalars | st.sampled_from(["launch", "demo", "2s", "high", True]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(config_keys, inner, max_size=4),
    max_leaves=15,
)


@FUZZ
@given(st.text(max_size=300))
def test_any_text_as_yaml_parses_or_is_a_positioned_input_error(source: str) -> None:
    try:
        load_text(source, Path("gate.yml"))
    except InputError as error:
        assert error.position is not None and str(error.position).startswith("gate.yml")


@FUZZ
@given(config_like)
def test_any_config_shape_loads_or_is_rejected_as_bad_input(data: object) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "gate.yml").write_text(yaml.safe_dump(data))
        try:
            load_config(root / "gate.yml", check_schemas=config_schemas())
        except (InputError, InputErrors) as error:
            assert "gate.yml" in error.render() or "preset" in error.render()


locations = st.builds(
    Location,
    path=st.none() | text.filter(bool),
    line=st.none() | st.integers(1, 10**6),
    end_line=st.none() | st.integers(1, 10**6),
    column=st.none() | st.integers(1, 500),
    commit=st.none() | st.text("0123456789abcdef", min_size=40, max_size=40),
    url=st.none() | text,
    route=st.none() | text,
    name=st.none() | text,
)
findings = st.builds(
    Finding,
    rule_id=st.just("fuzz.rule"),
    check=st.just("fuzz"),
    severity=st.sampled_from(list(Severity)),
    title=text,
    message=text,
    fix=text,
    location=locations,
    evidence=st.none() | text,
    details=st.dictionaries(text, json_values, max_size=3),
)
measurements = st.builds(
    Measurement,
    name=st.just("http.latency.p95"),
    subject=text,
    value=st.none() | st.floats(0, 1e6),
    unit=st.sampled_from(["ms", "ratio"]),
    check=st.just("fuzz"),
    samples=st.integers(0, 10_000),
    budget=st.none() | st.builds(Budget, limit=st.floats(0, 1e6), min_samples=st.integers(0, 500)),
)


@FUZZ
@given(st.lists(findings, max_size=6), st.lists(measurements, max_size=3), st.none() | text, st.booleans())
# Once found by the fuzzer: a blocking finding whose title is a newline split the verdict line.
@example([Finding("fuzz.rule", "fuzz", Severity.CRITICAL, "\n", "", "")], [], None, False)
def test_every_format_renders_any_verdict_validly(
    found: list[Finding], measured: list[Measurement], error: str | None, suppress: bool
) -> None:
    suppressions = [Suppression(reason="fuzz", rule="fuzz.*")] if suppress else []
    verdict = judge(
        [CheckResult("fuzz", tuple(found), tuple(measured), 0.5, error)],
        fail_on={},
        suppressions=suppressions,
        preset="launch",
        target=Target(root="/r"),
        started_at="2026-11-23T10:00:00Z",
        duration_s=0.5,
    )
    report = ReportInput(verdict, {"fuzz.rule": RuleDoc("fuzz.rule", "Fuzz", Severity.LOW, "why", "fix")}, "0.0")
    for fmt in ("json", "sarif", "junit"):
        validate_report(fmt, render(fmt, report))
    console = render("console", report)
    assert console.rstrip().split("\n")[-1].startswith(("GO", "NO-GO"))
    assert not any(ch in console for ch in "\x00\x1e\x85\u2028")
    assert json.loads(render("json", report))["exit_code"] == verdict.exit_code


@FUZZ
@given(st.text(max_size=400))
def test_any_env_file_is_read_without_crashing(content: str) -> None:
    from gate.checks.env.sources import read_dotenv

    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / ".env").write_text(content, errors="surrogateescape")
        definitions, bad = read_dotenv(Path(folder), ".env")
        assert all(d.source == ".env" for d in definitions) and all(b.line >= 1 for b in bad)
