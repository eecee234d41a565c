"""Every lock-file format the deps check reads: real example files whose vulnerable entries are known.

Python examples are audited through pip-audit against real PyPA advisories in tests/data/deps/osv-pypi;
JavaScript examples against the real npm advisories in tests/data/deps/osv-npm.
"""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from tests.support.deps_support import DATA, NPM_OSV, PYPA_OSV, check, findings, project, unaudited, vulnerable

REPORT_SCHEMA = Path(__file__).parents[3] / "gate" / "report" / "report.schema.json"
PY = DATA / "python"
NPM = DATA / "npm"
V, NOFIX = "deps.vulnerable", "deps.vulnerable-no-fix"


@pytest.fixture(scope="module")
def pypa() -> str:
    return str(PYPA_OSV)


def test_requirements_with_hashes_includes_and_markers(tmp_path: Path, pypa: str) -> None:
    root = project(
        tmp_path, {"requirements.txt": PY / "requirements.txt", "requirements-base.txt": PY / "requirements-base.txt"}
    )
    outcome = check(root, "--osv-db", pypa)
    assert outcome.exit_code == 1
    assert vulnerable(outcome) == {
        ("PYSEC-2019-217", "requirements.txt:3", V),  # the hashed pin, at the line that names it
        ("PYSEC-2021-66", "requirements.txt:3", V),
        ("PYSEC-2018-28", "requirements.txt:6", V),
        ("PYSEC-2023-74", "requirements.txt:6", V),
        ("PYSEC-2024-60", "requirements.txt:7", V),
        ("PYSEC-2020-96", "requirements-base.txt:1", V),  # reached through -r
        ("PYSEC-2021-142", "requirements-base.txt:1", V),
    }
    # `sqlparse>=0.4` says nothing about what is installed: counted and named, not clean.
    assert unaudited(outcome) == {"requirements.txt:8"}


def test_uv_lock(tmp_path: Path, pypa: str) -> None:
    outcome = check(project(tmp_path, {"uv.lock": PY / "uv.lock"}), "--osv-db", pypa)
    assert vulnerable(outcome) == {
        ("PYSEC-2022-42986", "uv.lock:6", V),
        ("PYSEC-2023-135", "uv.lock:6", V),
        ("PYSEC-2019-217", "uv.lock:32", V),
        ("PYSEC-2021-66", "uv.lock:32", V),
    }
    assert unaudited(outcome) == {"uv.lock:49"}  # the git source; the editable project is its own code
    (jinja,) = [f for f in findings(outcome, V) if f["details"]["advisory"] == "PYSEC-2019-217"]
    assert 'uv lock --upgrade-package "jinja2==2.10.1"' in jinja["fix"]


def test_poetry_lock_with_a_package_named_name(tmp_path: Path, pypa: str) -> None:
    outcome = check(project(tmp_path, {"poetry.lock": PY / "poetry.lock"}), "--osv-db", pypa)
    assert vulnerable(outcome) == {("PYSEC-2024-60", "poetry.lock:4", V), ("PYSEC-2023-87", "poetry.lock:26", V)}
    assert unaudited(outcome) == set()
    note = next(b for b in json.loads(outcome.stdout)["budgets"] if b["id"] == "deps.audited")["note"]
    assert note.startswith("3 audited, 0 could not be audited, 1 local")


def test_pipfile_lock(tmp_path: Path, pypa: str) -> None:
    outcome = check(project(tmp_path, {"Pipfile.lock": PY / "Pipfile.lock"}), "--osv-db", pypa)
    assert vulnerable(outcome) == {
        ("PYSEC-2018-66", "Pipfile.lock:19", V),
        ("PYSEC-2019-179", "Pipfile.lock:19", V),
        ("PYSEC-2023-62", "Pipfile.lock:19", V),
    }
    assert unaudited(outcome) == {"Pipfile.lock:30"}


def test_pylock_toml_through_pip_audits_source(tmp_path: Path, pypa: str) -> None:
    outcome = check(project(tmp_path, {"pylock.toml": PY / "pylock.toml"}), "--osv-db", pypa)
    assert {ident for ident, where, _ in vulnerable(outcome) if where == "pylock.toml:7"} == {
        "PYSEC-2019-140",
        "PYSEC-2022-203",
        "PYSEC-2023-221",
        "PYSEC-2023-57",
        "PYSEC-2023-58",
    }
    assert unaudited(outcome) == set()  # the directory package is the project itself


def test_pyproject_without_a_lock_audits_exact_pins_and_names_ranges(tmp_path: Path, pypa: str) -> None:
    outcome = check(project(tmp_path, {"pyproject.toml": DATA / "pyproject" / "pyproject.toml"}), "--osv-db", pypa)
    assert ("PYSEC-2018-28", "pyproject.toml:5", V) in vulnerable(outcome)
    assert ("PYSEC-2020-96", "pyproject.toml:10", V) in vulnerable(outcome)  # optional-dependencies
    assert unaudited(outcome) == {"pyproject.toml:6"}


def test_pyproject_beside_a_lock_is_left_to_the_lock(tmp_path: Path, pypa: str) -> None:
    root = project(
        tmp_path, {"pyproject.toml": DATA / "pyproject" / "pyproject.toml", "poetry.lock": PY / "poetry.lock"}
    )
    outcome = check(root, "--osv-db", pypa)
    assert {where.split(":")[0] for _, where, _ in vulnerable(outcome)} == {"poetry.lock"}


@pytest.mark.parametrize(
    ("example", "name", "expected", "skipped"),
    [
        (
            "package-lock.v3.json",
            "package-lock.json",
            {
                ("GHSA-wf5p-g6vw-rhxx", "package-lock.json:25", V),
                ("GHSA-p6mc-m468-83gw", "package-lock.json:38", V),
                ("GHSA-29mw-wpgm-hmr9", "package-lock.json:38", V),
                # a dependency of a workspace package, nested under its folder
                ("GHSA-xvch-5gv4-984h", "package-lock.json:64", V),
            },
            {"package-lock.json:53"},  # an odd scoped key with a git version: skipped, not a crash
        ),
        (
            "package-lock.v1.json",
            "package-lock.json",
            {("GHSA-2p57-rm9w-gvfp", "package-lock.json:7", NOFIX), ("GHSA-xvch-5gv4-984h", "package-lock.json:20", V)},
            set(),
        ),
        (
            "pnpm-lock.v6.yaml",
            "pnpm-lock.yaml",
            {("GHSA-wf5p-g6vw-rhxx", "pnpm-lock.yaml:17", V), ("GHSA-29mw-wpgm-hmr9", "pnpm-lock.yaml:35", V)},
            set(),
        ),
        (
            # The project's packages live in the second YAML document; the first pins pnpm itself.
            "pnpm-lock.multidoc.yaml",
            "pnpm-lock.yaml",
            {("GHSA-xvch-5gv4-984h", "pnpm-lock.yaml:54", V)},
            {"pnpm-lock.yaml:57"},
        ),
        (
            "yarn.classic.lock",
            "yarn.lock",
            {("GHSA-29mw-wpgm-hmr9", "yarn.lock:12", V), ("GHSA-xvch-5gv4-984h", "yarn.lock:17", V)},
            {"yarn.lock:27"},
        ),
        (
            "yarn.berry.lock",
            "yarn.lock",
            {
                ("GHSA-wf5p-g6vw-rhxx", "yarn.lock:18", V),
                ("GHSA-2p57-rm9w-gvfp", "yarn.lock:28", NOFIX),
                ("GHSA-29mw-wpgm-hmr9", "yarn.lock:35", V),  # once, though a patch entry repeats it
            },
            {"yarn.lock:49"},
        ),
    ],
)
def test_javascript_lock_files(
    tmp_path: Path, example: str, name: str, expected: set[tuple[str, str, str]], skipped: set[str]
) -> None:
    outcome = check(project(tmp_path, {name: NPM / example}), "--osv-db", str(NPM_OSV))
    assert outcome.exit_code == 1
    assert vulnerable(outcome) == expected
    assert unaudited(outcome) == skipped
    jsonschema.validate(json.loads(outcome.stdout), json.loads(REPORT_SCHEMA.read_text()))


def test_yarn_quoted_keys_and_aliases_resolve_to_the_real_package(tmp_path: Path) -> None:
    lock = (
        "# yarn lockfile v1\n\n\n"
        '"lodash@^4.17.0", "lodash@>=4 <5":\n  version "4.17.20"\n  resolved "https://registry.yarnpkg.com/lodash/-/lodash-4.17.20.tgz"\n\n'
        '"old-minimist@npm:minimist@^1.2.0":\n  version "1.2.5"\n  resolved "https://registry.yarnpkg.com/minimist/-/minimist-1.2.5.tgz"\n'
    )
    outcome = check(project(tmp_path, {"yarn.lock": lock}), "--osv-db", str(NPM_OSV))
    assert vulnerable(outcome) == {("GHSA-29mw-wpgm-hmr9", "yarn.lock:4", V), ("GHSA-xvch-5gv4-984h", "yarn.lock:8", V)}


def test_pnpm_v5_keys_with_peer_suffixes(tmp_path: Path) -> None:
    lock = (
        "lockfileVersion: 5.4\n\npackages:\n\n"
        "  /lodash/4.17.11:\n    resolution: {integrity: sha512-x}\n    dev: false\n\n"
        "  /@scope/ui/1.0.0_react@18.2.0:\n    resolution: {integrity: sha512-y}\n\n"
        "  github.com/user/repo/0123abc:\n"
        "    resolution: {tarball: https://codeload.github.com/user/repo/tar.gz/0123abc}\n"
        "    name: repo\n    version: 1.0.0\n"
    )
    outcome = check(project(tmp_path, {"pnpm-lock.yaml": lock}), "--osv-db", str(NPM_OSV))
    assert {i for i, _, _ in vulnerable(outcome)} == {
        "GHSA-jf85-cpcp-j695",
        "GHSA-p6mc-m468-83gw",
        "GHSA-29mw-wpgm-hmr9",
    }
    assert unaudited(outcome) == {"pnpm-lock.yaml:12"}


def test_package_json_without_a_lock_is_named(tmp_path: Path) -> None:
    root = project(
        tmp_path, {"web/package.json": '{"dependencies": {"lodash": "^4"}}', "api/requirements.txt": "flask==3.0.3\n"}
    )
    root = project(root, {"api/package.json": "{}", "api/package-lock.json": NPM / "package-lock.v1.json"})
    outcome = check(root, "--osv-db", str(NPM_OSV))
    assert [f["location"]["path"] for f in findings(outcome, "deps.no-lock-file")] == ["web/package.json"]


BAD_FILES = [
    ("uv.lock", 'version = 1\n\n[[package]]\nname = "x"\nversion = \n', "uv.lock:5"),
    ("uv.lock", 'version = 2\n\n[[package]]\nname = "x"\nversion = "1"\n', "uv.lock:1"),
    ("poetry.lock", '[[package]]\nname = "x"\nversion = "1"\n\n[metadata]\nlock-version = "3.0"\n', "poetry.lock:6"),
    (
        "Pipfile.lock",
        '{\n  "_meta": {"pipfile-spec": 6},\n  "default": {\n    "x": {"version": "==1",}\n  }\n}\n',
        "Pipfile.lock:4",
    ),
    ("Pipfile.lock", '{\n  "_meta": {\n    "pipfile-spec": 7\n  }\n}\n', "Pipfile.lock:2"),
    ("pylock.toml", 'lock-version = "2.0"\n\n[[packages]]\nname = "x"\nversion = "1"\n', "pylock.toml:1"),
    ("requirements.txt", "flask==3.0.3\nbad==[\n", "requirements.txt:2"),
    ("package-lock.json", '{\n  "lockfileVersion": 3,\n  "packages": {\n    "": {}\n  ]\n}\n', "package-lock.json:5"),
    ("package-lock.json", '{\n  "name": "x",\n  "lockfileVersion": 4,\n  "packages": {}\n}\n', "package-lock.json:3"),
    ("pnpm-lock.yaml", "lockfileVersion: '10.0'\npackages: {}\n", "pnpm-lock.yaml:1"),
    ("pnpm-lock.yaml", "lockfileVersion: '9.0'\npackages:\n  a@1.0.0: {\n", "pnpm-lock.yaml:4"),
    ("yarn.lock", "__metadata:\n  version: 12\n  cacheKey: 10c0\n", "yarn.lock:1"),
    ("yarn.lock", '# yarn lockfile v1\n\nlodash@^4.17.0\n  version "4.17.21"\n', "yarn.lock:3"),
]


@pytest.mark.parametrize(("name", "text", "where"), BAD_FILES, ids=[f"{n}:{w}" for n, _, w in BAD_FILES])
def test_bad_or_future_lock_file_is_bad_input_naming_file_and_line(
    tmp_path: Path, name: str, text: str, where: str
) -> None:
    outcome = check(project(tmp_path, {name: text}), "--osv-db", str(NPM_OSV))
    assert outcome.exit_code == 2, outcome.output
    assert f"{where}" in outcome.stderr


def test_include_outside_the_project_is_refused(tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text("flask==0.12.2\n")
    root = project(tmp_path / "app", {"requirements.txt": "-r ../secret.txt\n"})
    outcome = check(root, "--osv-db", str(NPM_OSV))
    assert outcome.exit_code == 2 and "requirements.txt:1" in outcome.stderr and "outside the project" in outcome.stderr


def test_explicit_files_replace_discovery_and_stay_inside_the_project(tmp_path: Path) -> None:
    root = project(
        tmp_path / "app",
        {"web/package-lock.json": NPM / "package-lock.v1.json", "old/yarn.lock": NPM / "yarn.classic.lock"},
    )
    only = check(root, "--osv-db", str(NPM_OSV), "--file", "web/package-lock.json")
    assert {where.split(":")[0] for _, where, _ in vulnerable(only)} == {"web/package-lock.json"}
    (tmp_path / "elsewhere.lock").write_text("")
    (root / "link.lock").symlink_to(tmp_path / "elsewhere.lock")
    for bad, says in (
        ("../elsewhere.lock", "outside the project"),
        ("link.lock", "outside the project"),
        ("web/missing.json", "does not exist"),
        ("old", "does not exist"),
    ):
        outcome = check(root, "--osv-db", str(NPM_OSV), "--file", bad)
        assert outcome.exit_code == 2 and says in outcome.stderr, (bad, outcome.stderr)
    project(root, {"notes.txt": "flask==0.12.2\n"})
    outcome = check(root, "--osv-db", str(NPM_OSV), "--file", "notes.txt")
    assert outcome.exit_code == 2 and "not a manifest or lock file" in outcome.stderr


def test_exclude_globs_and_installed_trees_are_not_audited(tmp_path: Path) -> None:
    lock = NPM / "package-lock.v1.json"
    root = project(
        tmp_path,
        {
            "package-lock.json": NPM / "package-lock.v3.json",
            "examples/demo/package-lock.json": lock,
            "node_modules/some-lib/package-lock.json": lock,
            ".cache/package-lock.json": lock,
        },
    )
    project(root, {"gate.yml": "version: 1\nchecks:\n  deps:\n    exclude: ['examples/**']\n"})
    outcome = check(root, "--osv-db", str(NPM_OSV))
    assert {where.split(":")[0] for _, where, _ in vulnerable(outcome)} == {"package-lock.json"}


def test_pyproject_url_and_bad_requirements(tmp_path: Path) -> None:
    text = '[project]\nname = "x"\ndependencies = [\n  "lib @ https://example.com/lib-1.0.tar.gz",\n]\n'
    outcome = check(project(tmp_path / "a", {"pyproject.toml": text}), "--osv-db", str(NPM_OSV))
    assert unaudited(outcome) == {"pyproject.toml:4"}
    bad = '[project]\nname = "x"\ndependencies = [\n  "lib ==",\n]\n'
    outcome = check(project(tmp_path / "b", {"pyproject.toml": bad}), "--osv-db", str(NPM_OSV))
    assert outcome.exit_code == 2 and "pyproject.toml:4" in outcome.stderr


def test_odd_package_keys_never_crash_the_reader(tmp_path: Path) -> None:
    lock = {
        "lockfileVersion": 3,
        "packages": {
            "": {"name": "app"},
            "node_modules/": {"version": "1.0.0"},
            "node_modules/@scope/": {"version": "1.0.0"},
            "node_modules/weird name with spaces": {"version": "not-semver"},
            "node_modules/lodash": {
                "version": "4.17.11",
                "resolved": "https://registry.npmjs.org/lodash/-/lodash-4.17.11.tgz",
            },
            "node_modules/file-dep": {"version": "1.0.0", "resolved": "file:../file-dep"},
            "node_modules/no-version": {},
        },
    }
    outcome = check(
        project(tmp_path / "a", {"package-lock.json": json.dumps(lock, indent=2)}), "--osv-db", str(NPM_OSV)
    )
    assert outcome.exit_code == 1
    assert {i for i, _, _ in vulnerable(outcome)} == {
        "GHSA-jf85-cpcp-j695",
        "GHSA-p6mc-m468-83gw",
        "GHSA-29mw-wpgm-hmr9",
    }
    # an empty name, a bare scope, a name with spaces, an entry without a version
    assert len(findings(outcome, "deps.unaudited")) == 4
    broken = json.dumps({"lockfileVersion": 3, "packages": {"node_modules/x": None}}, indent=2)
    outcome = check(project(tmp_path / "b", {"package-lock.json": broken}), "--osv-db", str(NPM_OSV))
    assert outcome.exit_code == 2 and "package-lock.json:3" in outcome.stderr


def test_a_version_pip_audit_cannot_parse_is_unaudited_not_clean(tmp_path: Path, pypa: str) -> None:
    lock = (
        '[[package]]\nname = "jinja2"\nversion = "2.10"\n\n'
        '[[package]]\nname = "internal-tool"\nversion = "main-branch"\n\n'
        '[metadata]\nlock-version = "2.0"\n'
    )
    outcome = check(project(tmp_path, {"poetry.lock": lock}), "--osv-db", pypa)
    assert {i for i, _, _ in vulnerable(outcome)} == {"PYSEC-2019-217", "PYSEC-2021-66"}
    (skipped,) = findings(outcome, "deps.unaudited")
    assert skipped["location"]["line"] == 6 and "not a PEP 440 version" in skipped["message"]


def test_a_broken_toml_lock_names_its_line_and_column_through_the_standard_parser() -> None:
    from gate.checks.deps.pinned import load_toml
    from gate.errors import InputError

    with pytest.raises(InputError) as raised:
        load_toml('[[package]]\nname = "a"\nversion = =\n', "uv.lock")
    assert (raised.value.position.line, raised.value.position.column) == (3, 11)
    assert "(at line" not in raised.value.message
    with pytest.raises(InputError) as raised:
        load_toml("a = 1\nb = [", "uv.lock")
    assert (raised.value.position.line, raised.value.position.column) == (2, 6)
    assert raised.value.message == "this is not valid TOML: Invalid value"
