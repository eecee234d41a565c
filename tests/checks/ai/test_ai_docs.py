"""Every ai rule is documented: in docs/ai.md, and by `gate explain`."""

from __future__ import annotations

from pathlib import Path

from gate.checks.ai.rules import RULES
from tests.support.helpers import gate

DOCS = Path(__file__).resolve().parents[3] / "docs" / "ai.md"


def test_every_rule_is_in_the_docs_and_explained() -> None:
    text = DOCS.read_text()
    for doc in RULES:
        assert f"`{doc.id}`" in text, doc.id
        outcome = gate("explain", doc.id)
        assert outcome.exit_code == 0
        assert doc.title in outcome.output


def test_every_family_and_encoding_is_in_the_docs() -> None:
    from gate.checks.ai.attacks import load_encodings, load_families

    text = DOCS.read_text()
    encodings = load_encodings()
    for name in [*load_families(encodings=encodings), *encodings]:
        assert f"`{name}`" in text, name
