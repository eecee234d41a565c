"""The registry of checks: one line per check, in the order reports list them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gate.checks.ai import AiCheck
from gate.checks.base import Check, RuleDoc
from gate.checks.deps import DepsCheck
from gate.checks.dns import DnsCheck
from gate.checks.env import EnvCheck
from gate.checks.http import HttpCheck
from gate.checks.migrations import MigrationsCheck
from gate.checks.restore import RestoreCheck
from gate.checks.secrets import SecretsCheck
from gate.policy import POLICY_RULES

REGISTRY: dict[str, type[Check]] = {
    EnvCheck.name: EnvCheck,
    DepsCheck.name: DepsCheck,
    DnsCheck.name: DnsCheck,
    SecretsCheck.name: SecretsCheck,
    HttpCheck.name: HttpCheck,
    AiCheck.name: AiCheck,
    MigrationsCheck.name: MigrationsCheck,
    RestoreCheck.name: RestoreCheck,
}


def rule_docs() -> dict[str, RuleDoc]:
    """Every rule any check can raise, for `gate explain`, SARIF and the console."""
    docs = {doc.id: doc for check in REGISTRY.values() for doc in check.rules}
    docs.update({doc.id: doc for doc in POLICY_RULES})
    return docs


def config_schemas() -> dict[str, Mapping[str, Any]]:
    """Each check's gate.yml section schema, handed to gate.config (which must not import the checks)."""
    return {name: check.config_schema for name, check in REGISTRY.items()}
