"""Hostile repositories, gate.yml and events steering the gate: git refusing a repository,
history only a merge or a tag holds, revisions posing as options, paths leaving the tree,
suppressions that hide everything. Each case is a real git repository in a temp dir."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest

from tests.faults.common import fails_closed
from tests.faults.peers import Bounds, measured
from tests.faults.table import row
from tests.support.helpers import Outcome, gate, git, git_repo, write_files

# Key-shaped values unique to this file, so a hit can only come from here.
MERGE_TOKEN = "ghp_MergeResolutionMergeResolution000042"
TAG_TOKEN = "ghp_TagOnlyBlobTagOnlyBlobTagOnlyBlob0042"
RANGE_TOKEN = "ghp_RangeStaysWholeRangeStaysWhole000042"
OUTSIDE_TOKEN = "ghp_OutsideFolderOutsideFolderOutside0042"
SECRETS_ONLY = (
    "version: 1\nchecks:\n  env:\n    enabled: false\n  deps:\n    enabled: false\n  secrets:\n    enabled: true\n"
)


def _config(extra: str = "") -> str:
    return SECRETS_ONLY + extra


def _scan(root: Path, *args: str, env: dict[str, str] | None = None) -> tuple[Outcome, Bounds, dict[str, Any]]:
    with measured() as box:
        outcome = gate("check", "secrets", "--format", "json", *args, cwd=root, env=env)
    assert "Traceback" not in outcome.output, outcome.output
    report = json.loads(outcome.stdout) if outcome.stdout.strip().startswith("{") else {}
    return outcome, box[0], report


def _paths(report: dict[str, Any], rule: str | None = None) -> set[str]:
    return {
        f["location"]["path"] or f["location"]["name"]
        for f in report.get("findings", [])
        if (f["rule_id"] == rule if rule else f["rule_id"] != "secrets.unscanned")
    }


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    return git_repo(tmp_path / "repo", [{"gate.yml": SECRETS_ONLY, "README.md": "trust\n"}])


# --- git refuses the repository ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("breakage", "says"),
    [
        (("HEAD", "garbage\n"), "fatal: not a git repository"),
        (("config", "[core]\n\trepositoryformatversion = 99\n"), "Expected git repo version <= 1, found 99"),
    ],
)
@row(
    "A garbage `.git/HEAD`, or `core.repositoryformatversion = 99`",
    "secrets",
    "exit 3 naming git's message (`not a git repository`, `found 99`); the history is not skipped silently",
)
def test_a_repository_git_cannot_open_fails_closed(repo: Path, breakage: tuple[str, str], says: str) -> None:
    (repo / ".git" / breakage[0]).write_text(breakage[1])
    outcome, bounds, _ = _scan(repo, "--history")
    fails_closed(outcome, bounds, ["git refuses the repository", says, "not scanned"])


@row(
    "A broken `.git` inside another repository (git would read the outer one)",
    "secrets",
    "exit 3: says git does not accept the inner `.git`; the outer repository is not scanned in its place",
)
def test_broken_inner_repository_is_not_replaced_by_the_outer_one(tmp_path: Path) -> None:
    outer = git_repo(tmp_path / "outer", [{"README.md": "outer\n"}])
    inner = git_repo(outer / "inner", [{"gate.yml": SECRETS_ONLY}])
    (inner / ".git" / "HEAD").write_text("garbage\n")
    outcome, bounds, _ = _scan(inner, "--history")
    fails_closed(outcome, bounds, ["does not accept", "not scanned"])


@row(
    "A folder with no `.git` anywhere above it",
    "secrets",
    "not a repository: the files are scanned, there is no history to scan; the key is found (exit 1)",
)
def test_a_folder_outside_any_repository_is_scanned_as_files(tmp_path: Path) -> None:
    folder = write_files(tmp_path / "plain", {"gate.yml": SECRETS_ONLY, "app.py": f'key = "{RANGE_TOKEN}"\n'})
    outcome, bounds, report = _scan(folder, "--history")
    fails_closed(outcome, bounds, ["app.py"], codes=(1,))
    assert _paths(report) == {"app.py"}


# --- revisions from gate.yml and the event ------------------------------------------------------


@pytest.mark.parametrize("key", ["since", "diff"])
@row(
    "`sources.since` or `sources.diff` of `--output=F` in gate.yml",
    "secrets",
    "exit 2 at gate.yml's line: not a revision; git never runs with it and writes nothing",
)
def test_a_revision_posing_as_an_option_is_refused(repo: Path, key: str) -> None:
    write_files(repo, {"gate.yml": _config(f"    sources:\n      {key}: '--output=F'\n")})
    outcome, bounds, _ = _scan(repo)
    fails_closed(outcome, bounds, ["gate.yml:10", f"sources.{key}", "start with '-'"], codes=(2,))
    assert not (repo / "F").exists()


@row(
    "`--since=--output=F` on the command line",
    "secrets",
    "exit 2: not a revision; git writes nothing",
)
def test_a_flag_posing_as_a_revision_is_refused(repo: Path) -> None:
    outcome, bounds, _ = _scan(repo, "--since=--output=F")
    fails_closed(outcome, bounds, ["sources.since"], codes=(2,))
    assert not (repo / "F").exists()


@row(
    "A pull_request event whose `base.sha` is `--output=F` (`diff: auto`, `--no-github`)",
    "secrets",
    "exit 2: the event's base.sha is not a commit SHA; git writes nothing",
)
def test_an_event_base_sha_posing_as_an_option_is_refused(repo: Path, tmp_path: Path) -> None:
    write_files(repo, {"gate.yml": _config("    sources:\n      diff: auto\n")})
    head = git(repo, "rev-parse", "HEAD").strip()
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"base": {"sha": "--output=F"}, "head": {"sha": head}}}))
    environ = {"GITHUB_EVENT_NAME": "pull_request", "GITHUB_EVENT_PATH": str(event)}
    outcome, bounds, _ = _scan(repo, "--no-github", env=environ)
    fails_closed(outcome, bounds, ["pull_request.base.sha", "not a commit SHA"], codes=(2,))
    assert not (repo / "F").exists()


@row(
    "A revision of `--output=F` that reached the history scan some other way",
    "secrets",
    "git gets it after `--end-of-options`: `bad revision`, exit 2; no file is written",
)
def test_a_revision_is_never_an_option_even_past_validation(repo: Path) -> None:
    from gate.checks.secrets import gitcli, gitscan, merges
    from gate.errors import InputError

    with pytest.raises(InputError, match="bad revision '--output=F'"):
        gitscan.scan_patch_stream(repo, merges.log_args(gitcli.revisions("--output=F")), max_file_bytes=1 << 20, jobs=1)
    assert not (repo / "F").exists()


@row(
    "A valid `sources.since` beside those refusals",
    "secrets",
    "the range REV..HEAD is scanned whole: a key added in it is found (exit 1)",
)
def test_a_valid_since_still_scans_its_range(repo: Path) -> None:
    base = git(repo, "rev-parse", "HEAD").strip()
    write_files(repo, {"app.py": f'key = "{RANGE_TOKEN}"\n'})
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--no-gpg-sign", "-m", "key")
    git(repo, "rm", "-q", "app.py")
    git(repo, "commit", "-q", "--no-gpg-sign", "-m", "gone")
    outcome, bounds, report = _scan(repo, f"--since={base}")
    fails_closed(outcome, bounds, ["app.py"], codes=(1,))
    assert "app.py" in _paths(report)


# --- suppressions -----------------------------------------------------------------------------


@pytest.mark.parametrize("rule", ["'*'", "'*.*'", "'*secret*'", "'?*'"])
@row(
    "A suppression `{rule: '*'}` (or `*.*`, `*secret*`)",
    "policy",
    "exit 2 at gate.yml's line: it would hide everything; name a rule or one check's rules",
)
def test_a_suppression_of_every_rule_is_refused(repo: Path, rule: str) -> None:
    write_files(repo, {"gate.yml": _config(f"suppressions:\n  - rule: {rule}\n    reason: we know\n")})
    outcome, bounds, _ = _scan(repo)
    fails_closed(outcome, bounds, ["gate.yml:10", "suppressions[0].rule", "every check", "secrets.*"], codes=(2,))


@row(
    "A check-wide suppression `secrets.*` over a file that could not be scanned",
    "policy",
    "the key is suppressed but `secrets.unscanned` still blocks (exit 1); only `rule: secrets.unscanned` hides it",
)
def test_a_check_wide_glob_never_hides_could_not_look(repo: Path, tmp_path: Path) -> None:
    outside = write_files(tmp_path / "outside", {"creds.txt": f"token = {OUTSIDE_TOKEN}\n"})
    os.symlink(outside / "creds.txt", repo / "creds.txt")
    write_files(repo, {"app.py": f'key = "{RANGE_TOKEN}"\n'})
    glob = "suppressions:\n  - rule: secrets.*\n    reason: reviewed test keys\n"
    write_files(repo, {"gate.yml": _config(glob)})
    outcome, bounds, report = _scan(repo)
    fails_closed(outcome, bounds, ["creds.txt"], codes=(1,))
    blocking = {f["rule_id"] for f in report["findings"] if f["blocking"]}
    assert blocking == {"secrets.unscanned"}
    exact = glob + "  - rule: secrets.unscanned\n    path: creds.txt\n    reason: a link to the shared dev creds\n"
    write_files(repo, {"gate.yml": _config(exact)})
    outcome, _, report = _scan(repo)
    assert outcome.exit_code == 0, outcome.output


# --- deps -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "line", ["-e git+https://example.com/team/x.git#egg=foo", "foo @ git+https://example.com/team/x.git@main"]
)
@row(
    "`-e git+https://…#egg=name` (or another VCS/URL requirement) in requirements.txt",
    "deps",
    "not the project's own code: listed as unaudited (VCS requirement), which blocks at launch (exit 1)",
)
def test_a_vcs_requirement_is_unaudited_not_local(tmp_path: Path, line: str) -> None:
    record = {"id": "TEST-0001", "affected": [{"package": {"ecosystem": "PyPI", "name": "other"}, "versions": ["1.0"]}]}
    write_files(
        tmp_path,
        {
            "osv-db/TEST-0001.json": json.dumps(record),
            "requirements.txt": f"{line}\n",
            "gate.yml": "version: 1\nchecks:\n  env:\n    enabled: false\n  deps:\n    osv_db: osv-db\n",
        },
    )
    with measured() as box:
        outcome = gate("check", "deps", "--format", "json", cwd=tmp_path)
    fails_closed(outcome, box[0], ["foo", "VCS requirement"], codes=(1,))
    [finding] = [f for f in json.loads(outcome.stdout)["findings"] if f["rule_id"] == "deps.unaudited"]
    assert finding["blocking"] and finding["location"]["path"] == "requirements.txt"


# --- paths leaving the repository -------------------------------------------------------------


@pytest.mark.parametrize(
    ("setting", "where"),
    [
        ("  secrets:\n    enabled: true\n    sources:\n      build: ['../x']\n", "sources.build[0]"),
        ("  secrets:\n    enabled: true\n    sources:\n      build: ['/etc']\n", "sources.build[0]"),
        ("  secrets:\n    enabled: true\n    baseline: ../x/.secrets.baseline\n", "secrets.baseline"),
        ("  env:\n    enabled: true\n    manifest: ../x/m.yml\n", "env.manifest"),
        ("  deps:\n    enabled: true\n    files: [/x/requirements.txt]\n", "deps.files[0]"),
    ],
)
@row(
    "A config path out of the repository: `build: ['../x']`, `manifest: ../x/m.yml`, an absolute path",
    "config",
    "exit 2 at gate.yml's line: paths stay relative, without `..`; nothing outside is read",
)
def test_a_config_path_out_of_the_tree_is_refused(repo: Path, setting: str, where: str) -> None:
    write_files(repo, {"gate.yml": f"version: 1\nchecks:\n{setting}"})
    outcome, bounds, _ = _scan(repo)
    fails_closed(outcome, bounds, ["gate.yml:", where, "without '..'"], codes=(2,))


@row("`project.root: ../x`", "config", "exit 2 at gate.yml's line; the project root stays inside the scanned folder")
def test_a_project_root_out_of_the_tree_is_refused(repo: Path) -> None:
    write_files(repo, {"gate.yml": SECRETS_ONLY + "project:\n  root: ../x\n"})
    outcome, bounds, _ = _scan(repo)
    fails_closed(outcome, bounds, ["gate.yml:10", "project.root"], codes=(2,))


@row(
    "`project.root` or the env manifest through a symlink to an outside folder",
    "config",
    "exit 2: says it resolves outside the project; nothing is read there",
)
def test_a_project_root_or_manifest_through_a_symlink_is_refused(repo: Path, tmp_path: Path) -> None:
    outside = write_files(tmp_path / "outside", {"m.yml": "environments: [production]\nvariables: {}\n"})
    os.symlink(outside, repo / "linked")
    write_files(repo, {"gate.yml": SECRETS_ONLY + "project:\n  root: linked\n"})
    outcome, bounds, _ = _scan(repo)
    fails_closed(outcome, bounds, ["gate.yml:10", "resolves outside"], codes=(2,))
    write_files(repo, {"gate.yml": "version: 1\nchecks:\n  env:\n    enabled: true\n    manifest: linked/m.yml\n"})
    outcome = gate("check", "env", cwd=repo)
    fails_closed(outcome, bounds, ["linked/m.yml", "resolves outside"], codes=(2,))


@row(
    "A tracked folder replaced by a symlink to an outside folder",
    "secrets",
    "the files git lists under it are not read: each is listed as not scanned (exit 1)",
)
def test_a_tracked_folder_turned_symlink_is_not_followed(repo: Path, tmp_path: Path) -> None:
    write_files(repo, {"src/app.py": "print('hello')\n"})
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--no-gpg-sign", "-m", "src")
    outside = write_files(tmp_path / "outside", {"app.py": f'key = "{OUTSIDE_TOKEN}"\n'})
    (repo / "src" / "app.py").unlink()
    (repo / "src").rmdir()
    os.symlink(outside, repo / "src")
    outcome, bounds, report = _scan(repo)
    fails_closed(outcome, bounds, ["src/app.py", "symlink"], codes=(1,))
    assert "src/app.py" in _paths(report, "secrets.unscanned")
    assert _paths(report) == set(), "a file was read through a symlinked folder"


@row(
    "A build path through a symlink to an outside folder (`build: [link/dist]`)",
    "secrets",
    "not walked: the build folder (or a linked folder inside one) is listed as not scanned (exit 1)",
)
def test_a_build_folder_behind_a_symlink_is_not_walked(repo: Path, tmp_path: Path) -> None:
    outside = write_files(tmp_path / "outside", {"dist/bundle.js": f'const k = "{OUTSIDE_TOKEN}";\n'})
    os.symlink(outside, repo / "link")
    write_files(repo, {"web/dist/index.js": "console.log(1);\n"})
    os.symlink(outside / "dist", repo / "web" / "dist" / "vendor")
    write_files(repo, {"gate.yml": _config("    sources:\n      build: [link/dist, web/dist]\n")})
    outcome, bounds, report = _scan(repo)
    fails_closed(outcome, bounds, ["link/dist", "outside the repository"], codes=(1,))
    assert {"link/dist", "web/dist/vendor"} <= _paths(report, "secrets.unscanned")
    assert _paths(report) == set(), "a build file was read through a symlink"


# --- history only a merge, a tag or a long path holds --------------------------------------------


@row(
    "A key typed only into a merge commit's conflict resolution, deleted later",
    "secrets",
    "found in the merge commit (merges adding lines no parent has are diffed against git's own merge); exit 1",
)
def test_a_key_in_a_conflict_resolution_is_found(repo: Path) -> None:
    write_files(repo, {"settings.py": "a = 1\nmode = 'base'\nb = 2\n"})
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--no-gpg-sign", "-m", "base")
    git(repo, "checkout", "-q", "-b", "side")
    write_files(repo, {"settings.py": "a = 1\nmode = 'side'\nb = 2\n"})
    git(repo, "commit", "-q", "--no-gpg-sign", "-am", "side")
    git(repo, "checkout", "-q", "main")
    write_files(repo, {"settings.py": "a = 1\nmode = 'main'\nb = 2\n"})
    git(repo, "commit", "-q", "--no-gpg-sign", "-am", "main")
    with pytest.raises(subprocess.CalledProcessError):  # the conflict is the point
        git(repo, "merge", "-q", "side")
    write_files(repo, {"settings.py": f"a = 1\ntoken = '{MERGE_TOKEN}'\nb = 2\n"})
    git(repo, "commit", "-q", "--no-gpg-sign", "-am", "merge side")
    merge = git(repo, "rev-parse", "HEAD").strip()
    write_files(repo, {"settings.py": "a = 1\nmode = 'merged'\nb = 2\n"})
    git(repo, "commit", "-q", "--no-gpg-sign", "-am", "clean up")
    outcome, bounds, report = _scan(repo, "--history")
    fails_closed(outcome, bounds, ["settings.py"], codes=(1,))
    [finding] = [f for f in report["findings"] if f["rule_id"] != "secrets.unscanned"]
    assert finding["location"]["commit"] == merge and finding["location"]["line"] == 2


@pytest.mark.parametrize("kind", ["blob", "tree"])
@row(
    "A key in a blob or tree reachable only through a tag (no commit holds it)",
    "secrets",
    "found: every ref's object is read, tags peeled; named by tag (exit 1)",
)
def test_a_key_only_a_tag_holds_is_found(repo: Path, kind: str) -> None:
    blob = git(repo, "hash-object", "-w", "--stdin", input_text=f'token = "{TAG_TOKEN}"\n').strip()
    target = blob
    if kind == "tree":
        target = git(repo, "mktree", input_text=f"100644 blob {blob}\tcreds.py\n").strip()
    git(repo, "tag", "-a", "-m", "keep this", "stash-of-keys", target)
    outcome, bounds, report = _scan(repo, "--history")
    fails_closed(outcome, bounds, ["refs/tags/stash-of-keys"], codes=(1,))
    expected = "refs/tags/stash-of-keys" + (":creds.py" if kind == "tree" else "")
    assert _paths(report) == {expected}


@row(
    "A tag naming a blob over `max_file_size`",
    "secrets",
    "not held in memory: listed as not scanned under the tag's name (exit 1)",
)
def test_a_tagged_blob_over_the_cap_is_listed(repo: Path) -> None:
    write_files(repo, {"gate.yml": _config("    max_file_size: 1024\n")})
    blob = git(repo, "hash-object", "-w", "--stdin", input_text=f'token = "{TAG_TOKEN}"\n' + "x" * 4096).strip()
    git(repo, "tag", "big-blob", blob)
    outcome, bounds, report = _scan(repo, "--history")
    fails_closed(outcome, bounds, ["refs/tags/big-blob", "1024-byte cap"], codes=(1,))
    assert "refs/tags/big-blob" in _paths(report, "secrets.unscanned")
    assert _paths(report) == set()


@row(
    "A ref naming an object missing from the repository",
    "secrets",
    "exit 3: git's `bad object` is named; the history is not half-scanned into a pass",
)
def test_a_ref_to_a_missing_object_fails_closed(repo: Path) -> None:
    (repo / ".git" / "refs" / "heads" / "ghost").write_text("1" * 40 + "\n")
    outcome, bounds, _ = _scan(repo, "--history")
    fails_closed(outcome, bounds, ["bad object", "not scanned"])


@row(
    "A path longer than PATH_MAX (committed with git plumbing)",
    "secrets",
    "its history is scanned (the key is found); in the working tree it is listed as not scanned (exit 1)",
)
def test_a_path_longer_than_path_max_is_scanned_or_listed(repo: Path) -> None:
    long_path = "/".join(["d" * 200] * 25) + "/creds.py"
    assert len(long_path) > os.pathconf("/", "PC_PATH_MAX")
    blob = git(repo, "hash-object", "-w", "--stdin", input_text=f'token = "{RANGE_TOKEN}"\n').strip()
    git(repo, "update-index", "--add", "--cacheinfo", f"100644,{blob},{long_path}")
    git(repo, "commit", "-q", "--no-gpg-sign", "-m", "long path")
    outcome, bounds, report = _scan(repo, "--history")
    fails_closed(outcome, bounds, ["creds.py"], codes=(1,))
    assert long_path in _paths(report, "secrets.unscanned")
    [finding] = [f for f in report["findings"] if f["rule_id"] != "secrets.unscanned"]
    assert finding["location"]["path"] == long_path


@row(
    "A key added in an octopus merge (three parents), which remerge diffs skip",
    "secrets",
    "found in the octopus merge (shown against its first parent, as git does not remerge it); exit 1",
)
def test_a_key_added_in_an_octopus_merge_is_found(repo: Path) -> None:
    for branch in ("x", "y", "z"):
        git(repo, "checkout", "-q", "-b", branch, "main")
        write_files(repo, {f"{branch}.txt": f"{branch}\n"})
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "--no-gpg-sign", "-m", branch)
    git(repo, "checkout", "-q", "main")
    git(repo, "merge", "-q", "--no-ff", "--no-commit", "x", "y", "z")
    write_files(repo, {"evil.py": f'token = "{MERGE_TOKEN}"\n'})
    git(repo, "add", "evil.py")
    git(repo, "commit", "-q", "--no-gpg-sign", "-m", "octopus")
    octopus = git(repo, "rev-parse", "HEAD").strip()
    git(repo, "rm", "-q", "evil.py")
    git(repo, "commit", "-q", "--no-gpg-sign", "-m", "gone")
    outcome, bounds, report = _scan(repo, "--history")
    fails_closed(outcome, bounds, ["evil.py"], codes=(1,))
    [finding] = [f for f in report["findings"] if f["rule_id"] != "secrets.unscanned"]
    assert finding["location"]["commit"] == octopus


# --- a pull request's own policy ------------------------------------------------------------------

PR_SUPPRESSION = "suppressions:\n  - rule: secrets.*\n    reason: only test keys here\n"


def _pull_request(repo: Path, tmp_path: Path, head_files: dict[str, str]) -> dict[str, str]:
    """The repository's HEAD as the base, a commit with `head_files` as the pull request's head
    (checked out, as actions/checkout does), and a pull_request event naming both."""
    base = git(repo, "rev-parse", "HEAD").strip()
    write_files(repo, head_files)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--no-gpg-sign", "-m", "pull request")
    head = git(repo, "rev-parse", "HEAD").strip()
    event = tmp_path / "event.json"
    pull = {"number": 7, "base": {"sha": base}, "head": {"sha": head}}
    event.write_text(json.dumps({"number": 7, "pull_request": pull}))
    return {"GITHUB_EVENT_NAME": "pull_request", "GITHUB_EVENT_PATH": str(event)}


@row(
    "A pull request that adds a suppression for its own key (`rule: secrets.*`)",
    "policy",
    "the base commit's gate.yml judges it: exit 1; the console, JSON, SARIF, JUnit and the job summary say "
    '"this pull request adds suppression …: takes effect once merged"',
)
def test_a_pull_request_cannot_suppress_its_own_finding(repo: Path, tmp_path: Path) -> None:
    environ = _pull_request(repo, tmp_path, {"app.py": f'key = "{RANGE_TOKEN}"\n', "gate.yml": _config(PR_SUPPRESSION)})
    outcome, bounds, report = _scan(repo, "--no-github", env=environ)
    fails_closed(outcome, bounds, ["adds suppression secrets.*", "takes effect once merged"], codes=(1,))
    assert "app.py" in _paths(report)
    assert any("adds suppression secrets.*" in note for note in report["notes"])
    console = gate("check", "secrets", "--no-github", cwd=repo, env=environ)
    assert "POLICY\n  - this pull request adds suppression secrets.*" in console.stdout, console.output
    reports = tmp_path / "reports"
    gate(
        "check",
        "secrets",
        "--no-github",
        "--output",
        f"sarif={reports}/r.sarif",
        "--output",
        f"junit={reports}/r.xml",
        cwd=repo,
        env=environ,
    )
    sarif = json.loads((reports / "r.sarif").read_text())
    notified = [
        n["message"]["text"] for run in sarif["runs"] for n in run["invocations"][0]["toolConfigurationNotifications"]
    ]
    assert notified and all("adds suppression secrets.*" in text for text in notified)
    junit = ElementTree.parse(reports / "r.xml").getroot()
    policy = junit.find("testsuite[@name='policy']")
    assert policy is not None and "adds suppression secrets.*" in (policy.findtext("testcase/system-out") or "")
    summary = tmp_path / "summary.md"
    actions = {**environ, "GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary), "INPUT_CHECK-RUN": "false"}
    outcome = gate("check", "secrets", cwd=repo, env=actions)
    assert outcome.exit_code == 1, outcome.output
    assert "adds suppression secrets" in summary.read_text()


@row(
    "A pull request that excludes its own file from the scan or brings a baseline accepting its key",
    "policy",
    "the base's gate.yml and baseline judge it: the key blocks (exit 1); both changes are named as taking "
    "effect once merged",
)
def test_a_pull_request_cannot_weaken_the_policy_or_baseline(repo: Path, tmp_path: Path) -> None:
    hashed = hashlib.sha1(RANGE_TOKEN.encode()).hexdigest()
    baseline = json.dumps({"results": {"app.py": [{"type": "GitHub Token", "hashed_secret": hashed}]}})
    weaker = _config("    exclude: [app.py]\n")
    environ = _pull_request(
        repo, tmp_path, {"app.py": f'key = "{RANGE_TOKEN}"\n', ".secrets.baseline": baseline, "gate.yml": weaker}
    )
    outcome, bounds, report = _scan(repo, "--no-github", env=environ)
    changes = ["checks.secrets.exclude", ".secrets.baseline", "takes effect once merged"]
    fails_closed(outcome, bounds, changes, codes=(1,))
    assert "app.py" in _paths(report)
    outcome, _, _ = _scan(repo, "--no-github", "--trust-head-policy", env=environ)
    assert outcome.exit_code == 0, outcome.output
    assert "trust-head-policy is on" in outcome.output


@row(
    "A pull_request run whose base commit is not in the clone",
    "policy",
    "exit 2: the base's policy cannot be read; says to fetch it (fetch-depth: 0) or opt in to trust-head-policy",
)
def test_a_pull_request_without_its_base_is_bad_input(repo: Path, tmp_path: Path) -> None:
    environ = _pull_request(repo, tmp_path, {"app.py": "print(1)\n"})
    event = json.loads(Path(environ["GITHUB_EVENT_PATH"]).read_text())
    event["pull_request"]["base"]["sha"] = "1" * 40
    Path(environ["GITHUB_EVENT_PATH"]).write_text(json.dumps(event))
    outcome, bounds, _ = _scan(repo, "--no-github", env=environ)
    fails_closed(outcome, bounds, ["base commit 1111111111 is not in this clone", "trust-head-policy"], codes=(2,))


@row(
    "A pull_request run in a repository git refuses (garbage `.git/HEAD`)",
    "policy",
    "exit 3 naming git's message: the base's policy cannot be read, and the pull request's own is not used instead",
)
def test_a_pull_request_in_a_refused_repository_fails_closed(repo: Path, tmp_path: Path) -> None:
    environ = _pull_request(repo, tmp_path, {"gate.yml": _config(PR_SUPPRESSION)})
    (repo / ".git" / "HEAD").write_text("garbage\n")
    outcome, bounds, _ = _scan(repo, "--no-github", env=environ)
    fails_closed(outcome, bounds, ["git refuses the repository", "not a git repository", "base policy"])


@row(
    "A `refs/replace/` ref swapping the commit that added a key for a clean one",
    "secrets",
    "objects are read as stored (`--no-replace-objects`): the key is found in the real commit (exit 1)",
)
def test_a_replace_ref_cannot_hide_a_commit(repo: Path) -> None:
    write_files(repo, {"app.py": f'key = "{MERGE_TOKEN}"\n'})
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--no-gpg-sign", "-m", "key")
    leaked = git(repo, "rev-parse", "HEAD").strip()
    git(repo, "rm", "-q", "app.py")
    git(repo, "commit", "-q", "--no-gpg-sign", "-m", "gone")
    clean_tree = git(repo, "rev-parse", f"{leaked}~1^{{tree}}").strip()
    clean = git(repo, "commit-tree", "-p", f"{leaked}~1", "-m", "nothing to see", clean_tree).strip()
    git(repo, "replace", leaked, clean)
    assert "nothing to see" in git(repo, "log", "--format=%s")
    outcome, bounds, report = _scan(repo, "--history")
    fails_closed(outcome, bounds, ["app.py"], codes=(1,))
    [finding] = [f for f in report["findings"] if f["rule_id"] != "secrets.unscanned"]
    assert finding["location"]["commit"] == leaked


@row(
    "`.git/info/grafts` cutting the commit that added a key off the branch",
    "secrets",
    "listed as not scanned (grafts rewrite parents; what they cut off cannot be vouched for): exit 1",
)
def test_grafts_are_listed_as_not_scanned(repo: Path) -> None:
    write_files(repo, {"notes.txt": "one\n"})
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--no-gpg-sign", "-m", "more")
    (repo / ".git" / "info").mkdir(exist_ok=True)
    (repo / ".git" / "info" / "grafts").write_text(git(repo, "rev-parse", "HEAD"))
    outcome, bounds, report = _scan(repo, "--history")
    fails_closed(outcome, bounds, ["grafts"], codes=(1,))
    assert "git history" in _paths(report, "secrets.unscanned")


@row(
    "A pull request's suppression reason holding a newline and `::error::`",
    "policy",
    "the note that quotes it stays on one line: no workflow command is forged on stdout or stderr",
)
def test_a_policy_note_cannot_forge_a_workflow_command(repo: Path, tmp_path: Path) -> None:
    forged = 'suppressions:\n  - rule: secrets.*\n    reason: "fine\\n::error::forged by the pull request"\n'
    environ = _pull_request(repo, tmp_path, {"app.py": f'key = "{RANGE_TOKEN}"\n', "gate.yml": _config(forged)})
    outcome, bounds, _ = _scan(repo, "--no-github", env=environ)
    fails_closed(outcome, bounds, ["adds suppression secrets.*", "forged by the pull request"], codes=(1,))
    assert not any(line.startswith("::") for line in outcome.output.splitlines())
