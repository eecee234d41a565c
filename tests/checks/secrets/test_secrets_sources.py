"""Every source of the secrets check on real git repositories made in temp dirs."""

from __future__ import annotations

import base64
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.support import secrets_samples as s
from tests.support.helpers import GIT_ENV, git, git_repo, write_files
from tests.support.helpers import gate as run_gate

ONLY_SECRETS = (
    "version: 1\npreset: launch\nchecks:\n  env:\n    enabled: false\n"
    "  secrets:\n    sources:\n      history: false\n      diff: null\n"
)


def scan(root: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, list[dict[str, Any]]]:
    if not (root / "gate.yml").exists():
        (root / "gate.yml").write_text(ONLY_SECRETS)
    outcome = run_gate("check", "secrets", "--format", "json", *args, cwd=root, env=env)
    assert outcome.exit_code in (0, 1), outcome.output
    return outcome.exit_code, json.loads(outcome.stdout)["findings"]


def where(findings: list[dict[str, Any]]) -> list[tuple[str, str | None, int | None]]:
    return sorted((f["rule_id"], f["location"]["path"], f["location"]["line"]) for f in findings)


def head(root: Path, rev: str = "HEAD") -> str:
    return git(root, "rev-parse", rev).strip()


def test_history_names_the_commit_that_added_a_deleted_key_and_says_it_is_gone(tmp_path: Path) -> None:
    repo = git_repo(
        tmp_path / "r",
        [
            {"app.py": "import os\n"},
            {"config.py": f"DEBUG = True\n\nSTRIPE = '{s.STRIPE_LIVE}'\n"},
            {"config.py": "DEBUG = True\n"},
        ],
    )
    introducing = head(repo, "HEAD~1")
    _, findings = scan(repo, "--history")
    assert where(findings) == [("secrets.stripe-secret-key", "config.py", 3)]
    finding = findings[0]
    assert finding["location"]["commit"] == introducing
    assert finding["details"]["author"] == GIT_ENV["GIT_AUTHOR_NAME"]
    assert finding["details"]["at_head"] == "False"
    assert "no longer at HEAD" in finding["message"] and "Rotate" in finding["message"]
    assert s.STRIPE_LIVE not in json.dumps(findings)


def test_history_attaches_the_introducing_commit_to_a_key_still_in_the_tree(tmp_path: Path) -> None:
    repo = git_repo(tmp_path / "r", [{"a.py": f"KEY = '{s.AWS_KEY}'\n"}, {"b.py": "x = 1\n"}])
    _, findings = scan(repo, "--history")
    assert where(findings) == [("secrets.aws-access-key", "a.py", 1)]
    assert findings[0]["details"]["introduced_in"] == head(repo, "HEAD~1")
    assert findings[0]["details"]["source"] == "tree"


def test_history_covers_every_ref_not_just_the_checked_out_branch(tmp_path: Path) -> None:
    repo = git_repo(tmp_path / "r", [{"a.py": "x = 1\n"}])
    git(repo, "checkout", "-q", "-b", "experiment")
    write_files(repo, {"exp.py": f"token = '{s.GITHUB_FINE}'\n"})
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--no-gpg-sign", "-m", "try")
    git(repo, "checkout", "-q", "main")
    _, without = scan(repo)
    assert without == []
    _, findings = scan(repo, "--history")
    assert where(findings) == [("secrets.github-fine-grained-token", "exp.py", 1)]
    assert findings[0]["details"]["at_head"] == "False"


def test_since_scans_only_the_commits_after_the_revision(tmp_path: Path) -> None:
    repo = git_repo(
        tmp_path / "r",
        [
            {"old.py": f"k = '{s.SENDGRID}'\n"},
            {"old.py": "k = None\n"},
            {"new.py": f"k = '{s.NPM}'\n"},
            {"new.py": "\n"},
        ],
    )
    (repo / "gate.yml").write_text(ONLY_SECRETS.replace("    sources:\n", "    sources:\n      tree: false\n"))
    _, findings = scan(repo, "--since", head(repo, "HEAD~2"))
    assert where(findings) == [("secrets.npm-token", "new.py", 1)]
    assert findings[0]["location"]["commit"] == head(repo, "HEAD~1")


def test_diff_reports_only_added_lines_at_their_new_line_numbers(tmp_path: Path) -> None:
    before = "".join(f"line {n}\n" for n in range(1, 11)) + f"OLD = '{s.SENDGRID}'\n"
    after = "header\n" + "".join(f"line {n}\n" for n in range(1, 11) if n != 4) + f"OLD = '{s.SENDGRID}'\n"
    after = after.replace("line 7\n", f"line 7\nNEW = '{s.OPENAI}'\n")
    repo = git_repo(tmp_path / "r", [{"svc.py": before}])
    base = head(repo)
    git(repo, "checkout", "-q", "-b", "feature")
    write_files(repo, {"svc.py": after, "other.ts": f"const k = '{s.ANTHROPIC}';\n"})
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--no-gpg-sign", "-m", "feature")
    (repo / "gate.yml").write_text(ONLY_SECRETS.replace("    sources:\n", "    sources:\n      tree: false\n"))
    _, findings = scan(repo, "--diff", f"{base}...feature")
    expected_line = after.splitlines().index(f"NEW = '{s.OPENAI}'") + 1
    assert where(findings) == [
        ("secrets.anthropic-api-key", "other.ts", 1),
        ("secrets.openai-api-key", "svc.py", expected_line),
    ]
    assert all(f["details"]["source"] == "diff" for f in findings)


def test_diff_auto_reads_base_and_head_from_the_pull_request_event(tmp_path: Path) -> None:
    repo = git_repo(tmp_path / "r", [{"a.py": "x = 1\n"}])
    base = head(repo)
    write_files(repo, {"b.py": f"k = '{s.DIGITALOCEAN}'\n"})
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--no-gpg-sign", "-m", "pr")
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"base": {"sha": base}, "head": {"sha": head(repo)}}}))
    (repo / "gate.yml").write_text(ONLY_SECRETS.replace("      diff: null\n", "      diff: auto\n      tree: false\n"))
    env = {"GITHUB_EVENT_NAME": "pull_request", "GITHUB_EVENT_PATH": str(event)}
    _, findings = scan(repo, env=env)
    assert where(findings) == [("secrets.digitalocean-token", "b.py", 1)]
    _, outside_pr = scan(repo, env={"GITHUB_EVENT_NAME": "push"})
    assert outside_pr == []


def test_diff_against_a_missing_base_is_bad_input_that_names_the_fix(tmp_path: Path) -> None:
    repo = git_repo(tmp_path / "r", [{"a.py": "x = 1\n"}])
    (repo / "gate.yml").write_text(ONLY_SECRETS)
    outcome = run_gate("check", "secrets", "--diff", "0000000000000000000000000000000000000000...HEAD", cwd=repo)
    assert outcome.exit_code == 2 and "fetch-depth: 0" in outcome.stderr


def test_tree_scans_tracked_and_untracked_files_but_not_ignored_ones(tmp_path: Path) -> None:
    repo = git_repo(tmp_path / "r", [{".gitignore": "secret.local\n", "tracked.py": f"k = '{s.SHOPIFY}'\n"}])
    write_files(repo, {"untracked.py": f"k = '{s.DATABRICKS}'\n", "secret.local": f"k = '{s.VAULT}'\n"})
    _, findings = scan(repo)
    assert where(findings) == [
        ("secrets.databricks-token", "untracked.py", 1),
        ("secrets.shopify-token", "tracked.py", 1),
    ]


def test_build_output_is_scanned_even_when_gitignored(tmp_path: Path) -> None:
    repo = git_repo(tmp_path / "r", [{".gitignore": "dist/\n.next/\n", "src/a.ts": "export {}\n"}])
    write_files(repo, {"dist/config.json": f'{{"key": "{s.GOOGLE}"}}\n', ".next/cache/x.js": f"'{s.NPM}'\n"})
    _, findings = scan(repo)
    assert where(findings) == [("secrets.google-api-key", "dist/config.json", 1)]
    assert findings[0]["details"]["source"] == "build"


def _vlq(value: int) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    value = (-value << 1) | 1 if value < 0 else value << 1
    out = ""
    while True:
        digit = value & 31
        value >>= 5
        out += alphabet[digit | (32 if value else 0)]
        if not value:
            return out


def test_minified_bundle_hit_is_traced_to_its_original_source_through_the_map(tmp_path: Path) -> None:
    filler = "var a=1;" * 5000
    bundle = f'{filler}var k="{s.STRIPE_LIVE}";console.log(k);\n//# sourceMappingURL=main.js.map\n'
    column = bundle.index("var k=")
    # Two segments on generated line 1: column 0 -> src/util.ts:1, `column` -> src/pay.ts:12.
    mappings = "AAAA," + _vlq(column) + _vlq(1) + _vlq(11) + _vlq(0)
    source_map = {
        "version": 3,
        "sources": ["webpack://app/./src/util.ts", "webpack://app/./src/pay.ts"],
        "mappings": mappings,
    }
    repo = git_repo(tmp_path / "r", [{".gitignore": "build/\n"}])
    write_files(repo, {"build/static/main.js": bundle, "build/static/main.js.map": json.dumps(source_map)})
    _, findings = scan(repo)
    assert where(findings) == [("secrets.stripe-secret-key", "build/static/main.js", 1)]
    assert findings[0]["location"]["column"] == column + len('var k="') + 1
    assert findings[0]["details"]["original_source"] == "src/pay.ts"
    assert findings[0]["details"]["original_line"] == "12"


def test_source_map_contents_are_scanned_with_their_original_paths(tmp_path: Path) -> None:
    content = "export const config = {\n  region: 'eu',\n  sendgrid: '" + s.SENDGRID + "',\n};\n"
    source_map = {"version": 3, "sources": ["../src/config.ts"], "sourcesContent": [content], "mappings": ""}
    inline = base64.b64encode(json.dumps(source_map).encode()).decode()
    repo = git_repo(tmp_path / "r", [{"README.md": "app\n"}])
    write_files(
        repo,
        {
            "out/app.js.map": json.dumps(source_map),
            "out/inline.js": f"//# sourceMappingURL=data:application/json;base64,{inline}\n",
        },
    )
    _, findings = scan(repo)
    # Placed on the line of the map (and of the bundle) that holds the embedded source: the
    # original's line 3 exists only in the original.
    assert where(findings) == [
        ("secrets.sendgrid-api-key", "out/app.js.map", 1),
        ("secrets.sendgrid-api-key", "out/inline.js", 1),
    ]
    assert {f["details"]["original_source"] for f in findings} == {"src/config.ts"}
    assert {f["details"]["original_line"] for f in findings} == {"3"}
    assert findings[0]["fingerprint"] == findings[1]["fingerprint"]


def test_a_pretty_printed_map_places_the_hit_on_its_sources_content_line(tmp_path: Path) -> None:
    content = "const k = '" + s.SENDGRID + "';\n"
    source_map = {"version": 3, "sources": ["src/k.ts"], "sourcesContent": [content], "mappings": ""}
    write_files(tmp_path, {"gate.yml": ONLY_SECRETS, "dist/k.js.map": json.dumps(source_map, indent=2)})
    _, findings = scan(tmp_path)
    text = (tmp_path / "dist/k.js.map").read_text()
    line = text[: text.index('"sourcesContent"')].count("\n") + 1
    assert where(findings) == [("secrets.sendgrid-api-key", "dist/k.js.map", line)]


def test_a_map_added_in_the_diff_is_reported_once(tmp_path: Path) -> None:
    content = "const k = '" + s.SENDGRID + "';\n"
    source_map = {"version": 3, "sources": ["src/k.ts"], "sourcesContent": [content], "mappings": ""}
    repo = git_repo(tmp_path / "r", [{"gate.yml": ONLY_SECRETS}, {"public/k.js.map": json.dumps(source_map)}])
    _, findings = scan(repo, "--diff", f"{head(repo, 'HEAD~1')}...HEAD")
    assert where(findings) == [("secrets.sendgrid-api-key", "public/k.js.map", 1)]


def test_hostile_files_are_scanned_within_bounds_or_listed_as_not_scanned(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    write_files(outside, {"stolen.py": f"k = '{s.AWS_KEY}'\n"})
    huge_line = "x" * 2_000_000 + f" '{s.DOPPLER}' " + "y" * 100
    repo = git_repo(
        tmp_path / "r",
        [
            {
                "bin.dat": b"\0\x01\x02" + s.NPM.encode() + b"\0",
                "latin1.py": b"caf\xe9 = 1\nk = '" + s.MAILGUN.encode() + b"'\n\xff\xfe\n",
                "big.txt": "z" * 3000 + "\n",
            }
        ],
    )
    write_files(repo, {"minified.js": huge_line})
    os.symlink(outside / "stolen.py", repo / "link.py")
    (repo / "gate.yml").write_text(ONLY_SECRETS + "    max_file_size: 2500000\n")
    write_files(repo, {"big.bin.txt": "q" * 2_600_000})
    _, findings = scan(repo)
    got = where(findings)
    assert ("secrets.doppler-token", "minified.js", 1) in got
    assert ("secrets.mailgun-api-key", "latin1.py", 2) in got
    unscanned = {f["location"]["path"]: f["message"] for f in findings if f["rule_id"] == "secrets.unscanned"}
    assert set(unscanned) == {"link.py", "big.bin.txt"}
    assert "outside the repository" in unscanned["link.py"] and "cap" in unscanned["big.bin.txt"]
    assert not any(f["rule_id"] == "secrets.aws-access-key" for f in findings)
    assert not any(f["rule_id"] == "secrets.npm-token" for f in findings)


def test_submodule_is_listed_as_not_scanned(tmp_path: Path) -> None:
    inner = git_repo(tmp_path / "inner", [{"k.py": f"k = '{s.VAULT}'\n"}])
    repo = git_repo(tmp_path / "r", [{"a.py": "x = 1\n"}])
    git(repo, "-c", "protocol.file.allow=always", "submodule", "add", "-q", str(inner), "vendor/inner")
    git(repo, "commit", "-q", "--no-gpg-sign", "-m", "sub")
    _, findings = scan(repo, "--history")
    assert where(findings) == [("secrets.unscanned", "vendor/inner", None)]
    assert "submodule" in findings[0]["message"]


def test_shallow_clone_says_older_history_was_not_scanned(tmp_path: Path) -> None:
    origin = git_repo(tmp_path / "origin", [{"a.py": f"k = '{s.TERRAFORM}'\n"}, {"a.py": "k = 1\n"}, {"b.py": "y\n"}])
    clone = tmp_path / "clone"
    subprocess.run(
        ["git", "clone", "-q", "--depth", "1", f"file://{origin}", str(clone)],
        check=True,
        env={**os.environ, **GIT_ENV},
        capture_output=True,
    )
    code, findings = scan(clone, "--history")
    assert [(f["rule_id"], f["location"]["name"], f["severity"]) for f in findings] == [
        ("secrets.unscanned", "git history", "medium")
    ]
    assert code == 1  # launch needs zero secrets in history: what was not scanned blocks


def test_history_scan_never_runs_the_repositorys_diff_drivers(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    repo = git_repo(tmp_path / "r", [{".gitattributes": "* diff=evil\n"}, {"a.py": f"k = '{s.SHOPIFY}'\n"}])
    git(repo, "config", "diff.evil.textconv", f"sh -c 'touch {marker}'; cat")
    git(repo, "config", "diff.external", f"sh -c 'touch {marker}'")
    git(repo, "config", "core.pager", f"sh -c 'touch {marker}'")
    _, history = scan(repo, "--history")
    _, diffed = scan(repo, "--diff", "HEAD~1...HEAD")
    assert not marker.exists()
    assert where(history) == [("secrets.shopify-token", "a.py", 1)]
    assert [f["details"]["source"] for f in diffed] == ["diff"]


def test_exclude_globs_skip_paths_in_every_source(tmp_path: Path) -> None:
    repo = git_repo(tmp_path / "r", [{"fixtures/k.py": f"k = '{s.SHOPIFY}'\n"}, {"fixtures/k.py": "\n"}])
    (repo / "gate.yml").write_text(ONLY_SECRETS + "    exclude: ['fixtures/*']\n")
    _, findings = scan(repo, "--history")
    assert findings == []


def test_build_folder_given_on_the_command_line(tmp_path: Path) -> None:
    repo = git_repo(tmp_path / "r", [{".gitignore": "custom-out/\n"}])
    write_files(repo, {"custom-out/app.js": f'const k="{s.OPENAI}";\n'})
    _, findings = scan(repo)
    assert findings == []
    _, findings = scan(repo, "--build", "custom-out")
    assert where(findings) == [("secrets.openai-api-key", "custom-out/app.js", 1)]


def test_history_streamed_in_small_chunks_finds_the_same_and_drops_oversized_diffs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gate.checks.secrets import gitscan

    keys = {f"svc/file{n:02}.py": "shp" + "at_" + s.chars(s.HEX, 32, f"chunk{n}") for n in range(30)}
    big = "".join(f"# filler line {n}\n" for n in range(1500)) + f"k = '{s.DATABRICKS}'\n"
    repo = git_repo(
        tmp_path / "r",
        [
            {path: f"import os\nKEY = '{key}'\n" + "# padding\n" * 20 for path, key in keys.items()},
            {"big.py": big},
            {"late.py": f"k = '{s.NPM}'\n"},
            {**dict.fromkeys(keys, None), "big.py": None, "late.py": None},
        ],
    )
    (repo / "gate.yml").write_text(ONLY_SECRETS + "    max_file_size: 4000\n")
    _, whole = scan(repo, "--history")
    # Tiny reads and chunks: a commit bigger than a chunk is cut between its files, and a
    # single file's diff bigger than the buffer limit is dropped while streaming.
    monkeypatch.setattr(gitscan, "CHUNK", 2048)
    monkeypatch.setattr(gitscan, "READ_BLOCK", 512)
    _, chunked = scan(repo, "--history")
    expected = sorted([("secrets.shopify-token", path, 2) for path in keys] + [("secrets.npm-token", "late.py", 1)])
    for findings in (whole, chunked):
        assert [w for w in where(findings) if w[0] != "secrets.unscanned"] == expected
        assert [(f["location"]["path"], f["rule_id"]) for f in findings if f["rule_id"] == "secrets.unscanned"] == [
            ("big.py", "secrets.unscanned")
        ]
    first_commit = git(repo, "rev-list", "--max-parents=0", "HEAD").strip()
    assert {f["location"]["commit"] for f in chunked if f["rule_id"] == "secrets.shopify-token"} == {first_commit}


def test_history_names_the_earliest_of_several_commits_that_added_a_key(tmp_path: Path) -> None:
    repo = git_repo(
        tmp_path / "r",
        [{"a.py": f"k = '{s.VAULT}'\n"}, {"a.py": "k = None\n"}, {"b.py": f"k = '{s.VAULT}'\n"}, {"b.py": None}],
    )
    _, findings = scan(repo, "--history")
    assert where(findings) == [("secrets.vault-token", "a.py", 1)]
    assert findings[0]["location"]["commit"] == git(repo, "rev-list", "--max-parents=0", "HEAD").strip()
    assert findings[0]["details"]["commits_adding_it"] == "2"


def test_paths_git_quotes_are_reported_as_they_are_on_disk(tmp_path: Path) -> None:
    names = ['sp ace/we"ird\tname.py', "café/naïve.py", "back\\slash.py"]
    keys = {name: "dp" + ".st." + s.chars(s.ALNUM, 43, name) for name in names}
    repo = git_repo(tmp_path / "r", [{name: f"k = '{key}'\n" for name, key in keys.items()}, dict.fromkeys(names)])
    _, findings = scan(repo, "--history")
    assert sorted(f["location"]["path"] for f in findings) == sorted(names)


def test_presence_at_head_reads_files_as_committed_in_blocks_and_skips_binaries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gate.checks.secrets import blobs

    # Small blocks, so the needles below straddle block edges as they would in a big file.
    monkeypatch.setattr(blobs, "_BLOB_BLOCK", 16)
    repo = git_repo(
        tmp_path / "r",
        [
            {
                "big.txt": "x" * 10 + "needle-across-edges-1" + "y" * 37 + "needle-two\n",
                "logo.bin": b"\0PNG needle-in-a-binary",
                ".gitattributes": "big.txt export-ignore\n",
                "gone.txt": "needle-deleted-later\n",
            },
            {"gone.txt": None},
        ],
    )
    (repo / "big.txt").write_text("changed in the working tree only\n")
    needles = ["needle-across-edges-1", "needle-two", "needle-in-a-binary", "needle-deleted-later", "absent-needle"]
    assert blobs.present_at_head(repo, needles) == {"needle-across-edges-1", "needle-two"}


def test_presence_at_head_of_a_repository_git_cannot_read_fails_closed(tmp_path: Path) -> None:
    from gate.checks.secrets import blobs
    from gate.errors import CheckFailure

    repo = git_repo(tmp_path / "r", [{"a.txt": "needle-one\n"}])
    blob = git(repo, "rev-parse", "HEAD:a.txt").strip()
    (repo / ".git" / "objects" / blob[:2] / blob[2:]).unlink()
    with pytest.raises(CheckFailure):
        blobs.present_at_head(repo, ["needle-one"])


def test_history_scanned_by_a_pool_of_workers_finds_what_one_process_finds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gate.checks.secrets import gitscan, patches

    commits: list[dict[str, str | bytes | None]] = []
    for index in range(40):
        body = "".join(f"value_{index}_{line} = compute({line})\n" for line in range(200))
        if index % 7 == 0:
            body += f"STRIPE = '{s.STRIPE_LIVE}'\nGITHUB = '{s.GITHUB_APP}'\n"
        commits.append({f"mod{index % 5}.py": body})
    repo = git_repo(tmp_path / "r", commits)
    args = ["log", *patches.PATCH_FLAGS, patches.LOG_FORMAT, "--all", "--"]

    def found(jobs: int) -> set[tuple[str, str, int, str]]:
        occurrences, skipped = gitscan.scan_patch_stream(repo, args, max_file_bytes=1 << 20, jobs=jobs)
        assert skipped == []
        return {(o.commit.sha if o.commit else "", o.path, o.hit.line, o.hit.secret) for o in occurrences}

    alone = found(1)
    # Chunks small enough that the history is cut into many, and a pool from the first byte.
    monkeypatch.setattr(gitscan, "CHUNK", 4096)
    monkeypatch.setattr(gitscan, "PARALLEL_AFTER", 0)
    assert found(2) == alone and len({sha for sha, *_ in alone}) == 6


def test_staged_scans_only_what_is_about_to_be_committed(tmp_path: Path) -> None:
    repo = git_repo(tmp_path / "r", [{"old.py": f"STRIPE = '{s.STRIPE_LIVE}'\n"}])
    write_files(repo, {"gate.yml": "version: 1\npreset: launch\n", "new.py": "x = 1\n"})
    git(repo, "add", "new.py")
    # Already in the repository (history and tree): not this commit's business.
    assert scan(repo, "--staged") == (0, [])
    write_files(repo, {"new.py": f"x = 1\nGITHUB = '{s.GITHUB_APP}'\n", "unstaged.py": f"K = '{s.OPENAI}'\n"})
    git(repo, "add", "new.py")
    code, findings = scan(repo, "--staged")
    assert code == 1 and where(findings) == [("secrets.github-token", "new.py", 2)]
    assert "has not left this machine" in findings[0]["message"]


def test_presence_at_head_when_git_stops_mid_file_fails_closed_instead_of_waiting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys
    import time

    from gate.checks.secrets import blobs
    from gate.errors import CheckFailure

    # A git that announces a 100-byte blob and dies after 5 bytes of it.
    truncated = [sys.executable, "-c", "import sys; sys.stdout.write('abc blob 100\\nshort'); sys.stdout.flush()"]
    monkeypatch.setattr(blobs, "git_command", lambda root, *args: truncated)
    monkeypatch.setattr(blobs, "_BLOB_BLOCK", 4)
    with pytest.raises(CheckFailure, match="stopped mid-file"):
        list(blobs._blob_blocks(tmp_path, [b"abc"], overlap=2, deadline=time.monotonic() + 60))
