"""Every restore rule is documented in docs/restore.md and explained by `gate explain`."""

from __future__ import annotations

from pathlib import Path

import pytest

from gate.checks.restore.rules import RULES
from tests.support.helpers import gate

DOCS = Path(__file__).resolve().parents[3] / "docs" / "restore.md"


@pytest.mark.parametrize("rule", [doc.id for doc in RULES])
def test_every_rule_is_in_the_docs_and_explained(rule: str) -> None:
    assert f"`{rule}`" in DOCS.read_text()
    outcome = gate("explain", rule)
    assert outcome.exit_code == 0 and "Why it matters:" in outcome.stdout and "How to fix:" in outcome.stdout
