"""A finding's value is the whole secret: distinct secrets never share a fingerprint, one secret
keeps its fingerprint wherever it moves, and the evidence and the redactor know all of it.

Each kind below once had a fixed capture group (detect-secrets' GitHub and GitLab plugins report
the prefix `ghp` / `glpat`, the service-account rule the literal `service_account`, private keys
their header and first body line), so every token of the kind was one finding.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from gate import redact
from gate.checks.secrets.scanner import scan_text
from gate.model import Suppression, fingerprint_of
from gate.policy import matches
from tests.checks.secrets.test_secrets_silencing import CONFIG, findings_of
from tests.checks.secrets.test_secrets_sources import scan
from tests.support import secrets_samples as s
from tests.support.helpers import git_repo, write_files


def _putty(seed: str) -> str:
    private = [s.chars(s.ALNUM + "+/", 64, f"{seed}{i}") for i in range(4)]
    return "\n".join(
        [
            "PuTTY-User-Key-File-3: ssh-ed25519",
            "Encryption: none",
            "Comment: deploy@acme",
            "Public-Lines: 2",
            "AAAAC3NzaC1lZDI1NTE5AAAAIAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "AAAA",
            "Private-Lines: 4",
            *private,
            "Private-MAC: " + s.chars(s.HEX, 64, seed + "mac"),
        ]
    )


# (rule, file name, the text holding the secret for a seed, the secret's length when known)
KINDS = {
    **{
        f"github-{prefix}": (
            "secrets.github-token",
            "ci.yml",
            lambda seed, p=prefix: f"token: {p}_{s.chars(s.ALNUM, 36, seed)}\n",
            40,
        )
        for prefix in ("ghp", "gho", "ghu", "ghs", "ghr")
    },
    **{
        f"gitlab-{prefix}": (
            "secrets.gitlab-token",
            ".gitlab-ci.yml",
            lambda seed, p=prefix: f"TOKEN: {p}-{s.chars(s.URLSAFE, 20, seed)}\n",
            len(prefix) + 21,
        )
        for prefix in ("glpat", "gldt", "glrt", "glptt", "gloas")
    },
    "gitlab-runner-registration": (
        "secrets.gitlab-token",
        "runner.toml",
        lambda seed: f'token = "GR1348941{s.chars(s.URLSAFE, 20, seed)}"\n',
        29,
    ),
    "azure-storage": (
        "secrets.azure-storage-key",
        "appsettings.json",
        lambda seed: f'"Conn": "AccountName=a;AccountKey={s.chars(s.ALNUM, 86, seed)}==;"\n',
        88,
    ),
    "google-service-account": ("secrets.google-service-account", "sa.json", s.service_account, None),
    "rsa-key": ("secrets.private-key", "id_rsa", lambda seed: s.private_key(seed, "rsa") + "\n", 6 * 64),
    "ed25519-key": (
        "secrets.private-key",
        "id_ed25519",
        lambda seed: s.private_key(seed, "openssh", 7) + "\n",
        7 * 70,
    ),
    "putty-key": ("secrets.private-key", "deploy.ppk", lambda seed: _putty(seed) + "\n", 4 * 64),
    # detect-secrets' Stripe plugin reads 24 characters after `sk_live_`: these share them.
    "stripe-long": (
        "secrets.stripe-secret-key",
        "billing.py",
        lambda seed: f'KEY = "sk_{"live"}_{s.chars(s.ALNUM, 24, "shared")}{s.chars(s.ALNUM, 75, seed)}"\n',
        107,
    ),
    # Same header and claims, different signatures: detect-secrets' value stopped before them.
    "jwt": (
        "secrets.jwt",
        "auth.ts",
        lambda seed: f'const admin = "{s.jwt({"sub": "42"}, seed)}";\n',
        len(s.jwt({"sub": "42"})),
    ),
}


def _only(text: str, path: str, rule: str) -> object:
    findings = [f for f in scan_text(text, path) if f.rule_id == rule]
    assert len(findings) == 1, [(f.rule_id, f.location.line) for f in findings]
    return findings[0]


@pytest.mark.parametrize("kind", KINDS)
def test_two_secrets_of_one_kind_are_two_fingerprints_and_a_suppression_covers_one(kind: str) -> None:
    rule, path, make, length = KINDS[kind]
    one, two = _only(make("one"), path, rule), _only(make("two"), path, rule)
    assert one.fingerprint != two.fingerprint  # type: ignore[attr-defined]
    suppression = Suppression(reason="reviewed test key", fingerprint=one.fingerprint)  # type: ignore[attr-defined]
    assert matches(suppression, one) and not matches(suppression, two)  # type: ignore[arg-type]
    if length is not None:
        assert f", {length} chars," in one.evidence  # type: ignore[attr-defined]


@pytest.mark.parametrize("kind", KINDS)
def test_one_secret_keeps_its_fingerprint_in_another_file_and_place(kind: str) -> None:
    rule, path, make, _ = KINDS[kind]
    here = _only(make("same"), path, rule)
    elsewhere = _only("# moved\n\n\n" + make("same"), "other/" + path, rule)
    assert here.fingerprint == elsewhere.fingerprint  # type: ignore[attr-defined]
    assert here.location.line != elsewhere.location.line  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "kind", [k for k in KINDS if not k.endswith("key") and k not in ("google-service-account", "jwt")]
)
def test_the_redactor_knows_the_whole_token(kind: str) -> None:
    rule, path, make, _ = KINDS[kind]
    text = make("redact")
    _only(text, path, rule)
    token = max(re.findall(r"[A-Za-z0-9_+/-]{20,}={0,2}", text), key=len)
    assert redact.scrub(f"leaked: {token} !") == f"leaked: {redact.MASK} !"


def test_the_redactor_knows_a_whole_jwt_signature_included() -> None:
    token = s.jwt({"sub": "42"}, "redact-jwt")
    _only(f'const t = "{token}";\n', "auth.ts", "secrets.jwt")
    assert redact.scrub(f"Bearer {token}") == f"Bearer {redact.MASK}"


@pytest.mark.parametrize("kind", ["rsa-key", "ed25519-key", "google-service-account"])
def test_the_redactor_knows_every_line_of_a_key_body(kind: str) -> None:
    rule, path, make, _ = KINDS[kind]
    text = make("redact-key")
    _only(text, path, rule)
    body = [line for line in re.split(r"\\n|\n", text) if re.fullmatch(r"[A-Za-z0-9+/=]{64,70}", line)]
    assert body and all(redact.scrub(line) == redact.MASK for line in body)


def test_history_reports_six_leaked_github_tokens_as_six_findings(tmp_path: Path) -> None:
    tokens = [f"ghp_{s.chars(s.ALNUM, 36, f'history{i}')}" for i in range(6)]
    repo = git_repo(tmp_path / "r", [{f"ci/{i}.sh": f"export GH_TOKEN={token}\n"} for i, token in enumerate(tokens)])
    _, findings = scan(repo, "--history")
    github = [f for f in findings if f["rule_id"] == "secrets.github-token"]
    assert len(github) == 6 and len({f["fingerprint"] for f in github}) == 6
    assert all(token not in json.dumps(findings) for token in tokens)


def test_history_tells_two_ed25519_keys_apart_though_their_first_lines_match(tmp_path: Path) -> None:
    keys = [s.private_key(seed, "openssh", 7) + "\n" for seed in ("deploy", "backup")]
    repo = git_repo(tmp_path / "r", [{"keys/deploy": keys[0]}, {"keys/backup": keys[1]}, {"keys/deploy": None}])
    _, findings = scan(repo, "--history")
    found = sorted((f["location"]["path"], f["details"].get("at_head")) for f in findings)
    assert found == [("keys/backup", None), ("keys/deploy", "False")]


@pytest.mark.parametrize(
    ("path", "text"),
    [
        ("docs/keys.md", "Paste the key that starts with -----BEGIN RSA PRIVATE KEY----- into the form.\n"),
        ("docs/ssh.md", "-----BEGIN OPENSSH PRIVATE KEY-----\n...\n-----END OPENSSH PRIVATE KEY-----\n"),
        ("README.md", "-----BEGIN PRIVATE KEY-----\n***\n-----END PRIVATE KEY-----\n"),
        ("tests/fixture.pem", "-----BEGIN EC PRIVATE KEY-----\n" + "x" * 64 + "\n-----END EC PRIVATE KEY-----\n"),
        ("docs/a.md", "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA...\n-----END RSA PRIVATE KEY-----\n"),
        ("sa.json", '"private_key": "-----BEGIN PRIVATE KEY-----\\n<your key>\\n-----END PRIVATE KEY-----\\n"\n'),
    ],
    ids=["prose", "dots", "stars", "xxx", "elided", "template"],
)
def test_a_key_header_without_a_key_body_is_not_a_key(path: str, text: str) -> None:
    assert scan_text(text, path) == []


def _old_print(rule: str, value: str) -> str:
    return fingerprint_of(rule, "", redact.secret_id(value))


def test_a_suppression_of_the_old_shared_github_fingerprint_is_named_and_silences_nothing(tmp_path: Path) -> None:
    old = _old_print("secrets.github-token", "ghp")
    config = CONFIG + f"suppressions:\n  - fingerprint: {old}\n    reason: the docs placeholder\n"
    write_files(tmp_path, {"gate.yml": config, "a.sh": f"T={s.GITHUB_CLASSIC}\n", "b.sh": f"T=ghp_{'x' * 36}\n"})
    code, findings = findings_of(tmp_path)
    assert code == 1
    (token,) = [f for f in findings if f["rule_id"] == "secrets.github-token"]
    assert not token["suppressed"]
    (stale,) = [f for f in findings if f["rule_id"] == "secrets.stale-suppression"]
    assert old in stale["message"] and token["fingerprint"] in stale["message"]
    assert "the docs placeholder" in stale["message"] and stale["location"]["path"] == "gate.yml"


def test_a_suppression_of_a_private_keys_old_fingerprint_names_its_new_one(tmp_path: Path) -> None:
    lines = s.key_lines("old-print", "openssh", 7)
    old = _old_print("secrets.private-key", f"{lines[0]}\n{lines[1]}")
    config = CONFIG + f"suppressions:\n  - fingerprint: {old}\n    reason: test key\n"
    write_files(tmp_path, {"gate.yml": config, "id_ed25519": "\n".join(lines) + "\n"})
    _, findings = findings_of(tmp_path)
    (key,) = [f for f in findings if f["rule_id"] == "secrets.private-key"]
    (stale,) = [f for f in findings if f["rule_id"] == "secrets.stale-suppression"]
    assert not key["suppressed"] and f"fingerprints: {key['fingerprint']}." in stale["message"]


def test_a_baseline_entry_hashing_only_the_github_prefix_is_named_and_accepts_nothing(tmp_path: Path) -> None:
    repo = git_repo(tmp_path / "r", [{"gate.yml": CONFIG, "ci.sh": f"export T={s.GITHUB_CLASSIC}\n"}])
    # The real detect-secrets CLI: its GitHub plugin stores the hash of `ghp` for every token.
    baseline = subprocess.run(
        [sys.executable, "-m", "detect_secrets", "scan"], cwd=repo, capture_output=True, text=True, check=True
    ).stdout
    (repo / ".secrets.baseline").write_text(baseline)
    _, findings = findings_of(repo)
    (token,) = [f for f in findings if f["rule_id"] == "secrets.github-token"]
    (stale,) = [f for f in findings if f["rule_id"] == "secrets.stale-baseline-entry"]
    assert not token["suppressed"]
    assert "ci.sh:1" in stale["message"] and "`ghp`" in stale["message"]


def test_a_suppression_of_a_jwts_old_signature_less_fingerprint_is_named(tmp_path: Path) -> None:
    token = s.jwt({"sub": "42", "role": "admin"}, "old-jwt")
    old = _old_print("secrets.jwt", token[: token.rindex(".") + 1])
    config = CONFIG + f"suppressions:\n  - fingerprint: {old}\n    reason: test token\n"
    write_files(tmp_path, {"gate.yml": config, "auth.ts": f'const t = "{token}";\n'})
    _, findings = findings_of(tmp_path)
    (jwt,) = [f for f in findings if f["rule_id"] == "secrets.jwt"]
    (stale,) = [f for f in findings if f["rule_id"] == "secrets.stale-suppression"]
    assert not jwt["suppressed"] and jwt["fingerprint"] in stale["message"]


def test_a_baseline_entry_hashing_a_jwt_without_its_signature_is_named(tmp_path: Path) -> None:
    token = s.jwt({"sub": "42", "role": "admin"}, "baseline-jwt")
    repo = git_repo(tmp_path / "r", [{"gate.yml": CONFIG, "auth.ts": f'const t = "{token}";\n'}])
    baseline = subprocess.run(
        [sys.executable, "-m", "detect_secrets", "scan"], cwd=repo, capture_output=True, text=True, check=True
    ).stdout
    (repo / ".secrets.baseline").write_text(baseline)
    _, findings = findings_of(repo)
    (jwt,) = [f for f in findings if f["rule_id"] == "secrets.jwt"]
    (stale,) = [f for f in findings if f["rule_id"] == "secrets.stale-baseline-entry"]
    assert not jwt["suppressed"] and "auth.ts:1" in stale["message"]
