"""The env check's tunable data, rules/env/rules.yml: public prefixes, secret shapes, hosts, code patterns."""

from __future__ import annotations

from typing import Any

import yaml

from gate.rules_data import rules_file


def load_rules() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(rules_file("env", "rules.yml").read_text())
    return data
