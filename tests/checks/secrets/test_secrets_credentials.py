"""One credential is one finding, and a finding's wording follows where the secret is."""

from __future__ import annotations

from pathlib import Path

from gate import redact
from gate.checks.secrets.scanner import scan_text
from gate.model import fingerprint_of
from tests.checks.secrets.test_secrets_silencing import CONFIG, findings_of
from tests.checks.secrets.test_secrets_sources import scan
from tests.support import secrets_samples as s
from tests.support.helpers import git, git_repo, write_files

CREDENTIALS = f"[default]\naws_access_key_id = {s.AWS_KEY}\naws_secret_access_key = {s.AWS_SECRET}\nregion = eu\n"


def test_an_aws_key_id_and_its_secret_are_one_finding_not_labelled_twice() -> None:
    (finding,) = scan_text(CREDENTIALS, ".aws/credentials")
    assert (finding.rule_id, finding.location.line) == ("secrets.aws-access-key", 2)
    assert "Its secret is on line 3" in finding.message and finding.details["secret_line"] == 3
    assert redact.scrub(f"x {s.AWS_SECRET} y") == f"x {redact.MASK} y"


def test_an_aws_secret_alone_is_an_aws_secret_access_key() -> None:
    (finding,) = scan_text(f'AWS_SECRET_ACCESS_KEY = "{s.AWS_SECRET}"\n', "deploy.py")
    assert finding.rule_id == "secrets.aws-secret-access-key"
    assert finding.title == "AWS secret access key committed"


def test_two_credentials_in_one_file_pair_each_secret_with_its_nearest_key_id() -> None:
    other_id = "AK" + "IA" + s.chars("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16, "second")
    other_secret = s.chars(s.ALNUM + "/+", 40, "second-secret")
    text = CREDENTIALS + f"\n[ci]\naws_access_key_id = {other_id}\naws_secret_access_key = {other_secret}\n"
    findings = scan_text(text, ".aws/credentials")
    assert [(f.rule_id, f.location.line) for f in findings] == [
        ("secrets.aws-access-key", 2),
        ("secrets.aws-access-key", 7),
    ]
    assert "line 3" in findings[0].message and "line 8" in findings[1].message


def test_history_folds_a_credential_added_in_one_commit(tmp_path: Path) -> None:
    repo = git_repo(
        tmp_path / "r", [{"gate.yml": CONFIG}, {"deploy/creds.ini": CREDENTIALS}, {"deploy/creds.ini": None}]
    )
    _, findings = scan(repo, "--history")
    assert [(f["rule_id"], f["location"]["line"]) for f in findings] == [("secrets.aws-access-key", 2)]
    assert s.AWS_SECRET not in str(findings)


def test_a_suppression_of_the_secrets_old_fingerprint_is_named(tmp_path: Path) -> None:
    old = fingerprint_of("secrets.aws-access-key", "", redact.secret_id(s.AWS_SECRET))
    config = CONFIG + f"suppressions:\n  - fingerprint: {old}\n    reason: revoked key in a test\n"
    write_files(tmp_path, {"gate.yml": config, "creds.ini": CREDENTIALS})
    _, findings = findings_of(tmp_path)
    (key,) = [f for f in findings if f["rule_id"] == "secrets.aws-access-key"]
    (stale,) = [f for f in findings if f["rule_id"] == "secrets.stale-suppression"]
    assert key["fingerprint"] in stale["message"]


def test_a_staged_secret_is_staged_not_committed_and_nothing_says_rotate(tmp_path: Path) -> None:
    repo = git_repo(tmp_path / "r", [{"gate.yml": CONFIG}])
    write_files(repo, {"app.py": f"KEY = '{s.STRIPE_LIVE}'\n"})
    git(repo, "add", "app.py")
    _, (finding,) = scan(repo, "--staged")
    assert finding["title"] == "Stripe live secret or restricted key staged for commit"
    assert "committed" not in finding["title"] + finding["message"]
    assert "has not left this machine" in finding["message"] + finding["fix"]
    assert "Rotate" not in finding["message"] + finding["fix"]


def test_a_secret_in_build_output_is_shipped_and_in_the_tree_committed(tmp_path: Path) -> None:
    repo = git_repo(
        tmp_path / "r", [{"gate.yml": CONFIG, ".gitignore": "dist/\n", "src/pay.py": f"K = '{s.SENDGRID}'\n"}]
    )
    write_files(repo, {"dist/app.js": f'var k="{s.STRIPE_LIVE}";\n'})
    _, findings = scan(repo, "--build", "dist")
    titles = {f["location"]["path"]: f["title"] for f in findings}
    assert titles == {
        "dist/app.js": "Stripe live secret or restricted key shipped in build output",
        "src/pay.py": "SendGrid API key committed",
    }
