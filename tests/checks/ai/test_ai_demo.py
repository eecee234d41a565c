"""`gate demo` includes an AI assistant that leaks its planted canary; the run still blocks."""

from __future__ import annotations

import json

import pytest

from gate.demo.ai_part import CANARY
from tests.support.helpers import gate


@pytest.mark.slow
@pytest.mark.loopback
def test_demo_shows_the_leaking_assistant_and_blocks() -> None:
    outcome = gate("demo", "--format", "json")
    report = json.loads(outcome.stdout)
    ai = [f for f in report["findings"] if f["check"] == "ai"]
    assert {f["rule_id"] for f in ai} == {"ai.canary.system-prompt"}
    assert ai[0]["blocking"] is True
    assert ai[0]["location"]["route"] == "support assistant"
    assert next(c for c in report["checks"] if c["name"] == "ai")["status"] == "fail"
    assert outcome.exit_code == 1
    assert CANARY not in outcome.output
