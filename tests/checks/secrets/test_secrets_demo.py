"""`gate demo` shows the three secrets stories: deleted but in history, shipped in a bundle, reviewed."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.helpers import gate


def test_demo_shows_history_bundle_and_suppressed_secrets(tmp_path: Path) -> None:
    outcome = gate("demo", "--keep", str(tmp_path / "demo"), "--format", "json")
    assert outcome.exit_code == 1
    findings = [f for f in json.loads(outcome.stdout)["findings"] if f["check"] == "secrets"]
    deleted = [f for f in findings if f["details"].get("at_head") == "False"]
    assert [(f["rule_id"], f["location"]["path"]) for f in deleted] == [
        ("secrets.stripe-secret-key", "src/payments.py")
    ]
    assert "deleting it did not un-leak it" in deleted[0]["message"]
    bundle = [f for f in findings if f["location"]["path"] == "dist/assets/index-4f2a9c.js"]
    assert [(f["rule_id"], f["details"]["original_source"]) for f in bundle] == [
        ("secrets.sendgrid-api-key", "src/lib/mail.ts")
    ]
    suppressed = [f for f in findings if f["suppressed"]]
    assert [(f["location"]["path"], f["blocking"]) for f in suppressed] == [("tests/test_signing.py", False)]
    assert suppressed[0]["suppression"]["reason"].startswith("inline `gate: allow`: revoked key")
    console = gate("demo")
    assert "SUPPRESSED (1)" in console.stdout and "Rotate" in console.stdout
