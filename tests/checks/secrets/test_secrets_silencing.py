"""Reviewed silencing stays visible, fingerprints follow the secret, and no secret reaches any output."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from gate.checks.secrets.scanner import scan_text
from gate.model import Finding, Severity
from tests.support import secrets_samples as s
from tests.support.contracts import Contracts
from tests.support.helpers import gate, git, git_repo, write_files

PEM_BEGIN = "-----BEGIN RSA PRIVATE KEY-----"  # gate: allow test data
CONFIG = (
    "version: 1\npreset: launch\nchecks:\n  env:\n    enabled: false\n"
    "  secrets:\n    sources:\n      history: false\n      diff: null\n"
)


def findings_of(root: Path, *args: str) -> tuple[int, list[dict[str, Any]]]:
    outcome = gate("check", "secrets", "--format", "json", *args, cwd=root)
    assert outcome.exit_code in (0, 1), outcome.output
    return outcome.exit_code, json.loads(outcome.stdout)["findings"]


def test_inline_gate_allow_is_honoured_and_listed_with_its_reason(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {"gate.yml": CONFIG, "tests/fixtures.py": f"KEY = '{s.STRIPE_LIVE}'  # gate: allow stripe docs test key\n"},
    )
    code, findings = findings_of(tmp_path)
    assert code == 0
    assert [(f["rule_id"], f["suppressed"], f["blocking"]) for f in findings] == [
        ("secrets.stripe-secret-key", True, False)
    ]
    assert findings[0]["suppression"]["reason"] == "inline `gate: allow`: stripe docs test key"
    assert findings[0]["suppression"]["source"] == "tests/fixtures.py:1"
    console = gate("check", "secrets", cwd=tmp_path)
    assert "SUPPRESSED (1)" in console.stdout and "stripe docs test key" in console.stdout
    assert "[tests/fixtures.py:1]" in console.stdout
    sarif = json.loads(gate("check", "secrets", "--format", "sarif", cwd=tmp_path).stdout)
    (result,) = [r for run in sarif["runs"] for r in run["results"]]
    assert result["suppressions"][0]["kind"] == "inSource"


def test_detect_secrets_pragmas_are_honoured_on_the_line_and_the_line_before(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            "gate.yml": CONFIG,
            "a.py": f"KEY = '{s.AWS_KEY}'  # pragma: allowlist secret\n",
            "b.py": f"# pragma: allowlist nextline secret\nKEY = '{s.SENDGRID}'\n",
            "c.py": f"KEY = '{s.NPM}'\n",
        },
    )
    code, findings = findings_of(tmp_path)
    assert code == 1
    state = sorted((f["location"]["path"], f["suppressed"]) for f in findings)
    assert state == [("a.py", True), ("b.py", True), ("c.py", False)]
    assert all("pragma" in f["suppression"]["reason"] for f in findings if f["suppressed"])


def test_a_detect_secrets_baseline_is_accepted_as_reviewed(tmp_path: Path) -> None:
    repo = git_repo(
        tmp_path / "r",
        [{"gate.yml": CONFIG, "old.py": f"KEY = '{s.AWS_KEY}'\n", "audited.py": f"TOKEN = '{s.GITHUB_APP}'\n"}],
    )
    # The real detect-secrets CLI writes the baseline, as a team migrating to the gate would have it.
    baseline = subprocess.run(
        [sys.executable, "-m", "detect_secrets", "scan"], cwd=repo, capture_output=True, text=True, check=True
    ).stdout
    data = json.loads(baseline)
    for entry in data["results"]["audited.py"]:
        entry["is_secret"] = True  # audited as a real secret: the baseline must not hide it
    (repo / ".secrets.baseline").write_text(json.dumps(data))
    write_files(repo, {"new.py": f"KEY = '{s.SHOPIFY}'\n"})
    _, findings = findings_of(repo)
    state = sorted((f["location"]["path"], f["suppressed"], (f["suppression"] or {}).get("source")) for f in findings)
    assert state == [("audited.py", False, None), ("new.py", False, None), ("old.py", True, ".secrets.baseline")]


def test_a_broken_baseline_is_bad_input_naming_the_file(tmp_path: Path) -> None:
    write_files(tmp_path, {"gate.yml": CONFIG, ".secrets.baseline": '{"results": [\n'})
    outcome = gate("check", "secrets", cwd=tmp_path)
    assert outcome.exit_code == 2
    assert ".secrets.baseline:2" in outcome.stderr and "detect-secrets scan" in outcome.stderr


def test_one_fingerprint_covers_every_copy_and_survives_a_rebase(tmp_path: Path) -> None:
    repo = git_repo(
        tmp_path / "r", [{"gate.yml": CONFIG, "a.py": f"K = '{s.VAULT}'\n", "b/c.ts": f"const k = '{s.VAULT}';\n"}]
    )
    _, findings = findings_of(repo)
    prints = {f["fingerprint"] for f in findings}
    assert len(findings) == 2 and len(prints) == 1
    (repo / "gate.yml").write_text(
        CONFIG
        + f"suppressions:\n  - fingerprint: {prints.pop()}\n    reason: revoked vault dev token, kept for a test\n"
    )
    write_files(repo, {"a.py": "import os\n\n\n" + (repo / "a.py").read_text()})
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--no-gpg-sign", "--amend", "-m", "rewritten")
    code, moved = findings_of(repo)
    assert code == 0
    assert sorted((f["location"]["path"], f["location"]["line"], f["suppressed"]) for f in moved) == [
        ("a.py", 4, True),
        ("b/c.ts", 1, True),
    ]


def test_secrets_reach_no_output_format_from_any_source(tmp_path: Path) -> None:
    canaries = [s.STRIPE_LIVE, s.DB_PASSWORD, f"{s.RSA_BODY}", s.OPENAI]
    repo = git_repo(
        tmp_path / "r",
        [
            {"gate.yml": CONFIG, "old.py": f"K = '{s.STRIPE_LIVE}'\n"},
            {
                "old.py": None,
                "key.pem": f"{PEM_BEGIN}\n{s.RSA_BODY}\n-----END RSA PRIVATE KEY-----\n",
            },
            {"db.ts": f'const u = "postgres://app:{s.DB_PASSWORD}@db.acme.io/app";\n'},
        ],
    )
    write_files(repo, {"dist/app.js": f'var k="{s.OPENAI}";\n'})
    for fmt in ("console", "json", "sarif", "junit"):
        outputs = [f"--output={other}={tmp_path / ('out.' + other)}" for other in ("json", "sarif", "junit")]
        outcome = gate("check", "secrets", "--history", "--diff", "HEAD~2...HEAD", "--format", fmt, *outputs, cwd=repo)
        assert outcome.exit_code == 1, outcome.output
        written = "".join((tmp_path / f"out.{other}").read_text() for other in ("json", "sarif", "junit"))
        for canary in canaries:
            assert canary not in outcome.output + written, fmt
            assert canary[4:20] not in outcome.output + written, fmt


def test_scan_text_contract_for_other_checks() -> None:
    bundle = "!function(){" + "var a=1;" * 2000 + f'var k="{s.STRIPE_LIVE}"' + "}();"
    findings = scan_text(bundle, "https://preview.example.com/_next/static/chunks/main.js")
    assert len(findings) == 1
    finding = findings[0]
    assert isinstance(finding, Finding) and finding.check == "secrets"
    assert finding.location.path == "https://preview.example.com/_next/static/chunks/main.js"
    assert finding.location.line == 1 and finding.location.column == bundle.index(s.STRIPE_LIVE) + 1
    assert finding.severity == Severity.CRITICAL
    assert finding.evidence and s.STRIPE_LIVE[4:] not in finding.evidence
    same_key_in_repo = scan_text(f"STRIPE = '{s.STRIPE_LIVE}'\n", "config.py")
    assert same_key_in_repo[0].fingerprint == finding.fingerprint


def test_importing_the_scanner_has_no_heavy_side_effects() -> None:
    code = (
        "import sys; import gate.checks.secrets.scanner, gate.checks; "
        "assert 'detect_secrets' not in sys.modules, 'detect-secrets loaded at import'"
    )
    root = Path(__file__).resolve().parents[3]
    subprocess.run([sys.executable, "-c", code], cwd=root, check=True, env={"PYTHONPATH": str(root)})


def test_reports_of_every_source_match_their_schemas(tmp_path: Path, contracts: Contracts) -> None:
    import jsonschema

    repo = git_repo(
        tmp_path / "r",
        [
            {"gate.yml": CONFIG, "a.py": f"K = '{s.STRIPE_LIVE}'\n"},
            {"a.py": None, "b.py": f"K = '{s.SHOPIFY}'  # gate: allow shop test key\n"},
        ],
    )
    write_files(repo, {"dist/app.js": f'var k="{s.OPENAI}";\n'})
    json_out, sarif_out = tmp_path / "r.json", tmp_path / "r.sarif"
    outcome = gate(
        "check", "secrets", "--history", "--diff", "HEAD~1...HEAD",
        f"--output=json={json_out}", f"--output=sarif={sarif_out}", cwd=repo,
    )  # fmt: skip
    assert outcome.exit_code == 1, outcome.output
    report = json.loads(json_out.read_text())
    schema = json.loads((Path(__file__).parents[3] / "gate" / "report" / "report.schema.json").read_text())
    jsonschema.validate(report, schema)
    assert {f["details"]["source"] for f in report["findings"]} == {"history", "diff", "build"}
    sarif_schema = json.loads(contracts.sarif_schema.read_text())
    jsonschema.Draft4Validator(sarif_schema).validate(json.loads(sarif_out.read_text()))
