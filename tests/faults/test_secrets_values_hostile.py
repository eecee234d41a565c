"""The secrets check on hostile values: key bodies, encoded manifests and suppressions built to make
one finding stand for many secrets, or to make a scan read without bound."""

from __future__ import annotations

import base64
import hashlib
import json
import random
import string
from pathlib import Path
from typing import Any

import pytest

from gate import redact
from gate.model import fingerprint_of
from tests.faults.common import fails_closed
from tests.faults.peers import Bounds, measured
from tests.faults.table import row
from tests.support.helpers import Outcome, gate, git_repo, write_files

CONFIG = "version: 1\nchecks:\n  env:\n    enabled: false\n  deps:\n    enabled: false\n  secrets:\n    enabled: true\n"
B64 = string.ascii_letters + string.digits + "+/"


def _chars(alphabet: str, length: int, seed: str) -> str:
    rng = random.Random(seed)
    return "".join(rng.choice(alphabet) for _ in range(length))


def _token(seed: str) -> str:
    return "gh" + "p_" + _chars(string.ascii_letters + string.digits, 36, seed)


def _scan(root: Path) -> tuple[Outcome, Bounds, list[dict[str, Any]]]:
    with measured() as box:
        outcome = gate("check", "secrets", "--format", "json", cwd=root)
    assert "Traceback" not in outcome.output, outcome.output
    return outcome, box[0], json.loads(outcome.stdout)["findings"]


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    return git_repo(tmp_path / "repo", [{"gate.yml": CONFIG, "README.md": "hostile\n"}])


@row(
    "A key header followed by 50,000 base64 lines and no end line",
    "secrets",
    "one finding; the key body is read up to 16 KB, bounded time",
)
def test_an_endless_key_body_is_read_within_bounds(repo: Path) -> None:
    body = "\n".join(_chars(B64, 64, str(i % 50)) for i in range(50_000))
    write_files(repo, {"deploy/key.pem": "-----BEGIN RSA PRIVATE KEY-----\n" + body + "\n"})
    outcome, bounds, findings = _scan(repo)
    fails_closed(outcome, bounds, ["Private key"], codes=(1,))
    assert [(f["rule_id"], f["location"]["line"]) for f in findings] == [("secrets.private-key", 1)]


@row(
    "A Kubernetes Secret with a 3 MB value, invalid base64 and a Secret nested in base64",
    "secrets",
    "each value decoded once within the file cap; invalid ones skipped; the nested key found",
)
def test_hostile_secret_manifest_values_are_decoded_within_bounds(repo: Path) -> None:
    token = _token("nested")
    inner = f"apiVersion: v1\nkind: Secret\ndata:\n  token: {base64.b64encode(token.encode()).decode()}\n"
    manifest = (
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: x\ndata:\n"
        f"  blob: {base64.b64encode(b'A' * 3_000_000).decode()}\n"
        "  broken: bm90IGJhc2U2NA%%==\n"
        f"  nested: {base64.b64encode(inner.encode()).decode()}\n"
    )
    write_files(repo, {"k8s/secret.yaml": manifest})
    outcome, bounds, findings = _scan(repo)
    fails_closed(outcome, bounds, ["GitHub token"], codes=(1,))
    assert [(f["rule_id"], f["location"]["line"]) for f in findings] == [("secrets.github-token", 8)]
    assert token not in outcome.output


@row(
    "A gate.yml suppression of a fingerprint every GitHub token once shared",
    "secrets",
    "silences nothing: every token reported, the suppression named as stale with the new fingerprints",
)
def test_a_suppression_of_an_old_shared_fingerprint_silences_nothing(repo: Path) -> None:
    shared = fingerprint_of("secrets.github-token", "", redact.secret_id("ghp"))
    config = CONFIG + f"suppressions:\n  - fingerprint: {shared}\n    reason: test placeholder\n"
    tokens = [_token(f"t{i}") for i in range(3)]
    write_files(repo, {"gate.yml": config, **{f"ci/{i}.sh": f"export T={t}\n" for i, t in enumerate(tokens)}})
    outcome, bounds, findings = _scan(repo)
    fails_closed(outcome, bounds, [shared], codes=(1,))
    github = [f for f in findings if f["rule_id"] == "secrets.github-token"]
    assert len(github) == 3 and not any(f["suppressed"] for f in github)
    (stale,) = [f for f in findings if f["rule_id"] == "secrets.stale-suppression"]
    assert all(f["fingerprint"] in stale["message"] for f in github)


@row(
    "A detect-secrets baseline entry hashing only the `ghp` prefix",
    "secrets",
    "accepts nothing: the token is reported, the entry named with its file and line",
)
def test_a_baseline_entry_of_a_shared_prefix_accepts_nothing(repo: Path) -> None:
    entry = {"type": "GitHub Token", "hashed_secret": hashlib.sha1(b"ghp").hexdigest(), "line_number": 1}
    baseline = {"version": "1.5.0", "results": {"ci/a.sh": [entry]}}
    write_files(repo, {".secrets.baseline": json.dumps(baseline), "ci/b.sh": f"export T={_token('b')}\n"})
    outcome, bounds, findings = _scan(repo)
    fails_closed(outcome, bounds, ["ci/a.sh:1"], codes=(1,))
    (token,) = [f for f in findings if f["rule_id"] == "secrets.github-token"]
    assert not token["suppressed"]
