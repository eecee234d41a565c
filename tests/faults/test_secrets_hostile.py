"""The secrets check on hostile repositories: every oddity scanned or skipped with a stated
reason, nothing outside the tree read, no crash, bounded time and memory."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.faults.common import fails_closed
from tests.faults.peers import Bounds, measured
from tests.faults.table import row
from tests.support.helpers import GIT_ENV, Outcome, gate, git, git_repo, write_files

# Key-shaped values the detectors know, unique to this file so a hit can only come from here.
AWS_KEY = "AKIAQZ7TESTHOSTILE42"
GITHUB_TOKEN = "ghp_HostileRepoHostileRepoHostileRepo0042"
OUTSIDE_TOKEN = "ghp_OutsideTheTreeOutsideTheTreeOutside01"
CONFIG = "version: 1\nchecks:\n  env:\n    enabled: false\n  deps:\n    enabled: false\n  secrets:\n    enabled: true\n"


def _scan(root: Path, *args: str) -> tuple[Outcome, Bounds, dict[str, Any]]:
    with measured() as box:
        outcome = gate("check", "secrets", "--format", "json", *args, cwd=root)
    assert "Traceback" not in outcome.output, outcome.output
    report = json.loads(outcome.stdout) if outcome.stdout.strip().startswith("{") else {}
    return outcome, box[0], report


def _found(report: dict[str, Any], rule: str | None = None) -> list[dict[str, Any]]:
    return [f for f in report.get("findings", []) if rule is None or f["rule_id"] == rule]


def _unscanned(report: dict[str, Any]) -> dict[str, str]:
    return {f["location"]["path"] or f["location"]["name"]: f["message"] for f in _found(report, "secrets.unscanned")}


def _paths(report: dict[str, Any]) -> set[str]:
    return {f["location"]["path"] for f in _found(report) if f["rule_id"] != "secrets.unscanned"}


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    return git_repo(tmp_path / "repo", [{"gate.yml": CONFIG, "README.md": "hostile\n"}])


@row(
    "A 2 GB sparse file in the working tree",
    "secrets",
    "not read: listed as not scanned (over `max_file_size`), exit 1",
)
def test_a_2gb_sparse_file_is_skipped_with_its_size(repo: Path) -> None:
    with (repo / "huge.bin.txt").open("wb") as handle:
        handle.truncate(2 * 1024**3)
    outcome, bounds, report = _scan(repo)
    fails_closed(outcome, bounds, ["huge.bin.txt", "2147483648 bytes"], codes=(1,))
    assert "max_file_size" in _unscanned(report)["huge.bin.txt"]


@row("A line of 50 MB", "secrets", "not read whole: listed as not scanned (over `max_file_size`); bounded time")
def test_a_50mb_line_is_skipped_with_its_size(repo: Path) -> None:
    (repo / "one-line.js").write_bytes(b"x" * (50 * 1024 * 1024))
    outcome, bounds, report = _scan(repo)
    fails_closed(outcome, bounds, ["one-line.js"], codes=(1,), memory=128 * 1024 * 1024)
    assert "one-line.js" in _unscanned(report)


@row(
    "A symlink to /etc/passwd or to a file outside the repository",
    "secrets",
    "not followed: listed as not scanned; nothing outside the tree is read",
)
def test_symlinks_out_of_the_tree_are_never_followed(repo: Path, tmp_path: Path) -> None:
    outside = write_files(tmp_path / "outside", {"creds.txt": f"token = {OUTSIDE_TOKEN}\n"})
    os.symlink("/etc/passwd", repo / "passwd")
    os.symlink(outside / "creds.txt", repo / "creds.txt")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--no-gpg-sign", "-m", "links")
    outcome, bounds, report = _scan(repo, "--history")
    fails_closed(outcome, bounds, ["passwd", "creds.txt"], codes=(1,))
    assert {"passwd", "creds.txt"} <= set(_unscanned(report))
    assert "outside the repository" in _unscanned(report)["creds.txt"]
    assert _paths(report) == set(), "a secret was read through a symlink"
    assert "root:x:0:0" not in outcome.output


@row(
    "A binary blob holding a key",
    "secrets",
    "binary files are not scanned (as every scanner); text files beside it are",
)
def test_a_binary_blob_does_not_stop_the_scan(repo: Path) -> None:
    write_files(
        repo, {"blob.dat": b"\0\x01\x02" * 100 + AWS_KEY.encode() + b"\0" * 100, "app.py": f'key = "{GITHUB_TOKEN}"\n'}
    )
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--no-gpg-sign", "-m", "blob")
    outcome, bounds, report = _scan(repo, "--history")
    fails_closed(outcome, bounds, ["app.py"], codes=(1,))
    assert "app.py" in _paths(report)


@row("A submodule", "secrets", "not entered: listed as not scanned, scan it in its own repository")
def test_a_submodule_is_listed_as_not_scanned(repo: Path, tmp_path: Path) -> None:
    sub = git_repo(tmp_path / "sub", [{"key.py": f'token = "{GITHUB_TOKEN}"\n'}])
    subprocess.run(
        ["git", "-C", str(repo), "-c", "protocol.file.allow=always", "submodule", "add", "-q", str(sub), "vendor/sub"],
        check=True,
        capture_output=True,
        env={**os.environ, **GIT_ENV},
    )
    git(repo, "commit", "-q", "--no-gpg-sign", "-m", "submodule")
    outcome, bounds, report = _scan(repo)
    fails_closed(outcome, bounds, ["vendor/sub", "submodule"], codes=(1,))
    assert "vendor/sub" in _unscanned(report)


@row(
    "File names with newlines and `::`",
    "secrets",
    "scanned; the name is reported as it is and cannot forge a workflow command",
)
def test_file_names_with_newlines_and_colons_are_scanned(repo: Path) -> None:
    names = ["line\nbreak.py", "a::warning::b.py"]
    write_files(repo, {name: f'token = "{GITHUB_TOKEN}"\n' for name in names})
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--no-gpg-sign", "-m", "odd names")
    outcome, bounds, report = _scan(repo)
    fails_closed(outcome, bounds, [], codes=(1,))
    assert set(names) <= _paths(report)
    assert GITHUB_TOKEN not in outcome.output


@row("Invalid UTF-8 in a file", "secrets", "scanned: the key beside the bad bytes is found on its line")
def test_invalid_utf8_is_scanned(repo: Path) -> None:
    write_files(repo, {"latin.py": b"name = '\xe9\xff\xfe'\n" + f'token = "{GITHUB_TOKEN}"\n'.encode()})
    outcome, bounds, report = _scan(repo)
    fails_closed(outcome, bounds, ["latin.py"], codes=(1,))
    [hit] = [f for f in _found(report) if f["location"]["path"] == "latin.py"]
    assert hit["location"]["line"] == 2


@row("A shallow clone", "secrets", "history scanned down to the boundary; older commits listed as not scanned")
def test_a_shallow_clone_says_older_history_was_not_scanned(tmp_path: Path) -> None:
    origin = git_repo(
        tmp_path / "origin",
        [{"gate.yml": CONFIG, "old.py": f'token = "{GITHUB_TOKEN}"\n'}, {"old.py": None}, {"new.txt": "x\n"}],
    )
    clone = tmp_path / "clone"
    subprocess.run(
        ["git", "clone", "-q", "--depth", "1", f"file://{origin}", str(clone)],
        check=True,
        env={**os.environ, **GIT_ENV},
    )
    outcome, bounds, report = _scan(clone, "--history")
    fails_closed(outcome, bounds, ["shallow"], codes=(1,))
    assert "git history" in _unscanned(report)


@row(
    "A corrupted pack file",
    "secrets",
    "exit 3: names git's error and says the damaged history was not scanned",
)
def test_a_corrupted_pack_fails_closed(repo: Path) -> None:
    write_files(repo, {f"file{i}.txt": f"content {i}\n" * 50 for i in range(20)})
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--no-gpg-sign", "-m", "more")
    git(repo, "repack", "-adq")
    [pack] = (repo / ".git" / "objects" / "pack").glob("*.pack")
    pack.chmod(0o644)
    data = bytearray(pack.read_bytes())
    for at in range(64, len(data) - 64, 97):
        data[at] ^= 0xFF
    pack.write_bytes(bytes(data))
    outcome, bounds, _ = _scan(repo, "--history")
    fails_closed(outcome, bounds, ["corrupt", "not scanned"], codes=(3,))
