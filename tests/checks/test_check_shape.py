"""Every registered check, by construction: docs page, README row, a section in every preset, a rule
doc for every rule id its code can emit, and every rule id in its docs.

It iterates the registry, so a check merged later is held to the same bar without editing this file.
Rule ids are found in the code, not listed here: a string literal shaped `<check>.<rule>` passed as
the rule (first argument, or `rule_id=`) to any call except a rule doc's own constructor.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

import gate
from gate.checks import REGISTRY
from gate.checks.base import RuleDoc
from gate.policy import POLICY_RULES

REPO = Path(__file__).resolve().parents[2]
PACKAGE = Path(gate.__file__).resolve().parent
PRESETS = sorted((REPO / "rules" / "presets").glob("*.yml"))
CHECKS = sorted(REGISTRY)


def _rule_doc_names(tree: ast.Module) -> set[str]:
    """`RuleDoc` and the module's aliases of it (`_R = RuleDoc`): calls that define a rule, not emit one."""
    names = {RuleDoc.__name__}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Name) and node.value.id in names:
            names |= {target.id for target in node.targets if isinstance(target, ast.Name)}
    return names


def _callee(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""


def _rule_arguments(call: ast.Call) -> Iterator[ast.expr]:
    yield from call.args[:1]
    yield from (keyword.value for keyword in call.keywords if keyword.arg == "rule_id")


def emitted_rule_ids() -> dict[str, dict[str, str]]:
    """Check name -> {rule id: where in gate/ the code passes it to a call}."""
    shape = re.compile(rf"({'|'.join(map(re.escape, CHECKS))})\.[a-z0-9][a-z0-9.-]*[a-z0-9]")
    found: dict[str, dict[str, str]] = {name: {} for name in CHECKS}
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        definers = _rule_doc_names(tree)
        for call in (node for node in ast.walk(tree) if isinstance(node, ast.Call)):
            if _callee(call) in definers:
                continue
            for argument in _rule_arguments(call):
                if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
                    match = shape.fullmatch(argument.value)
                    if match:
                        where = f"{path.relative_to(REPO)}:{call.lineno}"
                        found[match.group(1)].setdefault(argument.value, where)
    return found


EMITTED = emitted_rule_ids()


def _docs_page(name: str) -> Path:
    return REPO / "docs" / f"{name}.md"


@pytest.mark.parametrize("name", CHECKS)
def test_every_check_has_a_docs_page_and_a_readme_row(name: str) -> None:
    assert _docs_page(name).is_file(), f"docs/{name}.md is missing: every check has its page"
    rows = [line for line in (REPO / "README.md").read_text().splitlines() if line.startswith(f"| `{name}` |")]
    assert rows, f"README's check table has no row for `{name}`"
    assert f"(docs/{name}.md)" in rows[0], f"README's row for `{name}` does not link docs/{name}.md"


@pytest.mark.parametrize("name", CHECKS)
@pytest.mark.parametrize("preset", PRESETS, ids=lambda path: path.stem)
def test_every_preset_has_a_section_for_every_check(name: str, preset: Path) -> None:
    checks = (yaml.safe_load(preset.read_text()) or {}).get("checks") or {}
    assert name in checks, f"{preset.relative_to(REPO)} has no checks.{name} section (enabled: false if it needs input)"


@pytest.mark.parametrize("name", CHECKS)
def test_every_rule_id_the_code_emits_has_a_rule_doc(name: str) -> None:
    documented = {doc.id for doc in REGISTRY[name].rules}
    undocumented = {rule: where for rule, where in EMITTED[name].items() if rule not in documented}
    assert not undocumented, f"rule ids emitted without a RuleDoc in {name}'s rules: {undocumented}"


@pytest.mark.parametrize("name", CHECKS)
def test_every_rule_doc_is_the_checks_own_and_unique(name: str) -> None:
    ids = [doc.id for doc in REGISTRY[name].rules]
    assert ids, f"{name} documents no rule"
    assert len(ids) == len(set(ids)), f"{name} documents a rule twice"
    assert all(rule.startswith(f"{name}.") for rule in ids), f"{name} documents another check's rule"


@pytest.mark.parametrize("name", CHECKS)
def test_every_rule_id_appears_in_the_checks_docs_page(name: str) -> None:
    page = _docs_page(name).read_text() if _docs_page(name).is_file() else ""
    missing = [doc.id for doc in REGISTRY[name].rules if doc.id not in page]
    assert not missing, f"docs/{name}.md never names: {missing}"


def test_the_policys_rules_appear_in_the_docs() -> None:
    docs = "".join(path.read_text() for path in (REPO / "docs").rglob("*.md"))
    assert [doc.id for doc in POLICY_RULES if doc.id not in docs] == []


def test_the_scan_finds_rule_ids_the_way_checks_emit_them() -> None:
    # One per way a check makes findings today: RuleBook/Check.finding, a builder passed around, an issue helper.
    assert "env.missing-required" in EMITTED["env"]
    assert "http.exposed.file" in EMITTED["http"]
    assert "dns.takeover.dangling" in EMITTED["dns"]
    assert not any(rule.endswith((".yml", ".md")) for found in EMITTED.values() for rule in found)
