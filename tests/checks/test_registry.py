"""Every registered check is wired everywhere a user meets it, so none is forgotten."""

from __future__ import annotations

import re

import pytest
import yaml

from gate.checks import REGISTRY, rule_docs
from gate.config import preset_names, preset_path
from gate.policy import POLICY_RULES

RULE_ID = re.compile(r"^[a-z0-9-]+(\.[a-z0-9-]+)+$")


@pytest.mark.parametrize("name", list(REGISTRY))
def test_check_has_a_section_in_every_preset(name: str) -> None:
    for preset in preset_names():
        section = yaml.safe_load(preset_path(preset).read_text())["checks"].get(name)
        assert section is not None, f"rules/presets/{preset}.yml has no checks.{name}"
        assert {"enabled", "fail_on", "timeout"} <= set(section), f"{preset}: checks.{name}"


@pytest.mark.parametrize("name", list(REGISTRY))
def test_check_documents_its_rules(name: str) -> None:
    check = REGISTRY[name]
    assert check.name == name and check.summary
    assert check.rules, f"{name} documents no rule"
    for doc in check.rules:
        assert RULE_ID.match(doc.id) and doc.id.startswith(f"{name}."), doc.id
        assert len(doc.title) <= 80 and doc.why and doc.fix


def test_rule_ids_are_unique() -> None:
    ids = [doc.id for check in REGISTRY.values() for doc in check.rules] + [doc.id for doc in POLICY_RULES]
    assert len(ids) == len(set(ids)) == len(rule_docs())


@pytest.mark.parametrize("name", list(REGISTRY))
def test_check_options_map_to_schema_keys(name: str) -> None:
    check = REGISTRY[name]
    properties = check.config_schema.get("properties", {})
    for option in check.options:
        assert option.key.split(".")[0] in properties, f"{option.flag} sets unknown key {option.key}"
