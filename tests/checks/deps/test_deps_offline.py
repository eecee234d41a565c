"""The offline OSV database: defensive record parsing, severities, budgets per preset, suppressions."""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import pytest
import yaml

from gate.checks.deps.judge import upgrade_command
from gate.checks.deps.osv import load_index
from gate.checks.deps.pinned import Pinned
from tests.support.deps_support import NPM_OSV, PYPA_OSV, check, findings, project, vulnerable
from tests.support.helpers import gate

V = "deps.vulnerable"


def _record(ident: str, name: str, **fields: object) -> dict[str, object]:
    base: dict[str, object] = {
        "id": ident,
        "modified": "2024-05-01T00:00:00Z",
        "affected": [
            {
                "package": {"ecosystem": "PyPI", "name": name},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.0"}]}],
            }
        ],
    }
    base.update(fields)
    return base


CRITICAL_V3 = {"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}  # 9.8
LOW_V3 = {"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N"}  # 2.0
MEDIUM_V4 = {"type": "CVSS_V4", "score": "CVSS:4.0/AV:N/AC:L/AT:N/PR:L/UI:N/VC:L/VI:L/VA:N/SC:N/SI:N/SA:N"}


@pytest.fixture
def osv_dir(tmp_path: Path) -> Path:
    """Records in the shapes real databases publish, odd ones included."""
    root = tmp_path / "osv"
    (root / "vulns" / "acme").mkdir(parents=True)
    records = {
        "GHSA-crit-0000-0001.json": _record(
            "GHSA-crit-0000-0001", "acme", aliases=["CVE-2024-0001"], severity=[CRITICAL_V3]
        ),
        # v4 is preferred over v3 when a record carries both
        "GHSA-v4v3-0000-0002.json": _record("GHSA-v4v3-0000-0002", "acme", severity=[LOW_V3, MEDIUM_V4]),
        "GHSA-db00-0000-0003.json": _record("GHSA-db00-0000-0003", "acme", database_specific={"severity": "MODERATE"}),
        "PYSEC-2024-4.json": _record("PYSEC-2024-4", "acme", summary="No rating at all"),
        "GHSA-gone-0000-0005.json": _record(
            "GHSA-gone-0000-0005", "acme", withdrawn="2024-06-01T00:00:00Z", severity=[CRITICAL_V3]
        ),
        "PYSEC-2024-6.json": {
            "id": "PYSEC-2024-6",
            "summary": "Only a GIT range and a list of versions, some not PEP 440",
            "affected": [
                {
                    "package": {"ecosystem": "PyPI", "name": "Acme"},
                    "ranges": [
                        {
                            "type": "GIT",
                            "repo": "https://example.com/acme",
                            "events": [{"introduced": "0"}, {"fixed": "abc123"}],
                        }
                    ],
                    "versions": ["1.0", "1.0-nightly-2019-09-12"],
                },
                {"ranges": []},
                "not even a mapping",
            ],
        },
        "PYSEC-2024-7.json": _record(
            "PYSEC-2024-7",
            "acme",
            affected=[
                {
                    "package": {"ecosystem": "PyPI", "name": "acme"},
                    "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "2019-09-12"}, {"fixed": "1.5"}]}],
                    "versions": [],
                }
            ],
        ),
        "GHSA-npm0-0000-0008.json": {
            **_record("GHSA-npm0-0000-0008", "acme"),
            "affected": [{"package": {"ecosystem": "Go", "name": "acme"}}],
        },
    }
    for name, record in records.items():
        (root / "vulns" / "acme" / name).write_text(json.dumps(record))
    # YAML with an unquoted timestamp, the way part of the PyPA database is written
    (root / "vulns" / "acme" / "PYSEC-2024-9.yaml").write_text(
        "id: PYSEC-2024-9\npublished: 2024-03-01T10:00:00Z\nmodified: 2024-03-02T10:00:00Z\n"
        "details: Last affected, no fix\naffected:\n- package: {ecosystem: PyPI, name: acme}\n"
        "  ranges:\n  - type: ECOSYSTEM\n    events: [{introduced: '0'}, {last_affected: '1.0'}]\n"
    )
    # `null` written out is not a withdrawal, and an empty summary falls back to the details
    (root / "vulns" / "acme" / "PYSEC-2024-10.yaml").write_text(
        "id: PYSEC-2024-10\nwithdrawn: null\nsummary: ~\ndetails: Spelled-out nulls\naffected:\n"
        "- package: {ecosystem: PyPI, name: acme}\n  versions: ['1.0']\n"
    )
    (root / "README.md").write_text("not a record\n")
    return root


def test_severity_comes_from_cvss_then_the_database_then_the_config(tmp_path: Path, osv_dir: Path) -> None:
    root = project(tmp_path / "app", {"requirements.txt": "acme==1.0\n"})
    outcome = check(root, "--osv-db", str(osv_dir))
    by_id = {f["details"]["advisory"]: f for f in findings(outcome) if f["rule_id"].startswith("deps.vulnerable")}
    # pip-audit names a result by its PYSEC or CVE id first, the others become aliases.
    assert set(by_id) == {
        "CVE-2024-0001",
        "GHSA-v4v3-0000-0002",
        "GHSA-db00-0000-0003",
        "PYSEC-2024-4",
        "PYSEC-2024-6",
        "PYSEC-2024-9",
        "PYSEC-2024-10",
    }
    assert by_id["CVE-2024-0001"]["severity"] == "critical" and "CVSS 3.1 9.8" in by_id["CVE-2024-0001"]["message"]
    assert by_id["CVE-2024-0001"]["details"]["aliases"] == "GHSA-crit-0000-0001"
    assert (
        by_id["GHSA-v4v3-0000-0002"]["severity"] == "medium" and "CVSS 4.0" in by_id["GHSA-v4v3-0000-0002"]["message"]
    )
    assert (
        by_id["GHSA-db00-0000-0003"]["severity"] == "medium"
        and "database: MODERATE" in by_id["GHSA-db00-0000-0003"]["message"]
    )
    assert by_id["PYSEC-2024-4"]["severity"] == "high" and "rates none" in by_id["PYSEC-2024-4"]["message"]
    assert by_id["PYSEC-2024-9"]["rule_id"] == "deps.vulnerable-no-fix"
    assert "No fixed version is published" in by_id["PYSEC-2024-9"]["message"]
    assert "Spelled-out nulls" in by_id["PYSEC-2024-10"]["message"]
    project(root, {"gate.yml": "version: 1\nchecks:\n  deps:\n    unknown_severity: low\n"})
    relaxed = {f["details"]["advisory"]: f["severity"] for f in findings(check(root, "--osv-db", str(osv_dir)), V)}
    assert relaxed["PYSEC-2024-4"] == "low"


def test_versions_above_every_fix_are_clean(tmp_path: Path, osv_dir: Path) -> None:
    outcome = check(project(tmp_path / "app", {"requirements.txt": "acme==2.0\n"}), "--osv-db", str(osv_dir))
    assert outcome.exit_code == 0 and vulnerable(outcome) == set()


# acme 1.0: critical (fix), medium v4 (fix), medium database (fix), unrated (treated high, fix), no-fix unrated.
# A tiny database so each preset's line shows clearly.
def _preset_db(root: Path) -> Path:
    db = root / "db"
    db.mkdir()
    records = [
        _record("GHSA-medf-0000-0001", "acme", database_specific={"severity": "MODERATE"}),
        {
            **_record("GHSA-medn-0000-0002", "acme", database_specific={"severity": "MODERATE"}),
            "affected": [{"package": {"ecosystem": "PyPI", "name": "acme"}, "versions": ["1.0"]}],
        },
        _record("GHSA-high-0000-0003", "widget", database_specific={"severity": "HIGH"}),
        _record("GHSA-crit-0000-0004", "gizmo", database_specific={"severity": "CRITICAL"}),
    ]
    for record in records:
        (db / f"{record['id']}.json").write_text(json.dumps(record))
    return db


@pytest.mark.parametrize(
    ("pins", "preset", "code", "blocking"),
    [
        ("acme==1.0\n", "launch", 1, {"GHSA-medf-0000-0001"}),  # fixable medium blocks at launch; unfixable does not
        ("acme==1.0\n", "demo", 0, set()),
        ("acme==1.0\nwidget==1.0\n", "demo", 1, {"GHSA-high-0000-0003"}),
        ("acme==1.0\nwidget==1.0\n", "prototype", 0, set()),
        ("widget==1.0\ngizmo==1.0\n", "prototype", 1, {"GHSA-crit-0000-0004"}),
    ],
)
def test_each_preset_blocks_at_its_level(tmp_path: Path, pins: str, preset: str, code: int, blocking: set[str]) -> None:
    db = _preset_db(tmp_path)
    outcome = check(project(tmp_path / "app", {"requirements.txt": pins}), "--osv-db", str(db), "--preset", preset)
    assert outcome.exit_code == code, outcome.output
    assert {f["details"]["advisory"] for f in findings(outcome) if f["blocking"]} == blocking


def test_unaudited_blocks_at_launch_only(tmp_path: Path) -> None:
    db = _preset_db(tmp_path)
    root = project(tmp_path / "app", {"requirements.txt": "flask>=3\n"})
    assert check(root, "--osv-db", str(db), "--preset", "launch").exit_code == 1
    assert check(root, "--osv-db", str(db), "--preset", "demo").exit_code == 0


def test_suppression_by_alias_and_by_fingerprint(tmp_path: Path) -> None:
    root = project(tmp_path, {"requirements.txt": "jinja2==2.10\nidna==3.6\n"})
    pypa = str(PYPA_OSV)
    first = check(root, "--osv-db", pypa)
    idna = next(f for f in findings(first) if f["details"].get("advisory") == "PYSEC-2024-60")
    project(
        root,
        {
            "gate.yml": (
                "version: 1\npreset: launch\nsuppressions:\n"
                "  - rule: deps.*\n    path: '*CVE-2019-10906*'\n"
                "    reason: sandbox not used, templates are ours\n    expires: 2099-01-01\n"
                "  - rule: deps.*\n    path: '*GHSA-g3rq-g295-4j3m*'\n    reason: urlize filter not used\n"
                f"  - fingerprint: {idna['fingerprint']}\n    reason: only used for ASCII hosts\n"
            )
        },
    )
    outcome = check(root, "--osv-db", pypa)
    assert outcome.exit_code == 0, outcome.output
    suppressed = {f["details"]["advisory"] for f in findings(outcome) if f["suppressed"]}
    assert suppressed == {"PYSEC-2019-217", "PYSEC-2021-66", "PYSEC-2024-60"}


def test_fingerprints_survive_line_moves(tmp_path: Path) -> None:
    lock = (NPM_OSV.parent / "npm" / "package-lock.v1.json").read_text()
    one = check(project(tmp_path / "a", {"package-lock.json": lock}), "--osv-db", str(NPM_OSV))
    moved = lock.replace('"dependencies": {\n', '"dependencies": {\n    "aaa": {"version": "1.0.0"},\n', 1)
    two = check(project(tmp_path / "b", {"package-lock.json": moved}), "--osv-db", str(NPM_OSV))
    prints = {f["fingerprint"] for f in findings(one, V)}
    assert prints and prints == {f["fingerprint"] for f in findings(two, V)}
    assert {f["location"]["line"] for f in findings(one, V)} != {f["location"]["line"] for f in findings(two, V)}


def test_a_zip_of_records_answers_like_the_directory(tmp_path: Path) -> None:
    archive = tmp_path / "all.zip"
    with zipfile.ZipFile(archive, "w") as out:
        for path in NPM_OSV.glob("*.json"):
            out.write(path, path.name)
    lock = NPM_OSV.parent / "npm" / "yarn.berry.lock"
    from_dir = check(project(tmp_path / "a", {"yarn.lock": lock}), "--osv-db", str(NPM_OSV))
    from_zip = check(project(tmp_path / "b", {"yarn.lock": lock}), "--osv-db", str(archive))
    assert vulnerable(from_zip) == vulnerable(from_dir) and len(vulnerable(from_dir)) == 3


def test_several_databases_at_once(tmp_path: Path) -> None:
    root = project(
        tmp_path,
        {"requirements.txt": "jinja2==2.10\n", "package-lock.json": NPM_OSV.parent / "npm" / "package-lock.v1.json"},
    )
    project(root, {"gate.yml": f"version: 1\nchecks:\n  deps:\n    osv_db: [{PYPA_OSV}, {NPM_OSV}]\n"})
    ids = {ident for ident, _, _ in vulnerable(check(root))}
    assert {"PYSEC-2019-217", "GHSA-xvch-5gv4-984h"} <= ids


def test_pypa_records_load_and_the_index_is_built_once(tmp_path: Path) -> None:
    pypa = PYPA_OSV
    index = load_index(pypa)
    assert index.records == len(list(pypa.glob("*.json")))
    assert load_index(pypa) is index  # cached: the same run never re-reads the files
    # PYSEC-2021-371 is fixed in `0.2.0-n653`, not a PEP 440 version: 0.2.0 stays affected, 1.0 is not,
    # and the fix is quoted as the advisory writes it.
    (match,) = [m for m in index.query("PyPI", "binderhub", "0.2.0") if m.advisory.id == "PYSEC-2021-371"]
    assert match.fixes == ("0.2.0-n653",)
    assert not [m for m in index.query("PyPI", "binderhub", "1.0.0") if m.advisory.id == "PYSEC-2021-371"]
    withdrawn = [record for p in pypa.glob("*.json") if "withdrawn" in (record := json.loads(p.read_text()))]
    assert withdrawn and all(record["id"] not in index.advisories for record in withdrawn)
    copy = tmp_path / "copy"
    copy.mkdir()
    record = copy / "PYSEC-1.json"
    record.write_text(json.dumps(_record("PYSEC-1", "acme")))
    first = load_index(copy)
    record.write_text(json.dumps(_record("PYSEC-1", "other")))
    os.utime(record, ns=(1, 1))
    assert load_index(copy) is not first and load_index(copy).query("PyPI", "other", "1.0")


def test_a_broken_record_is_bad_input_naming_it(tmp_path: Path) -> None:
    db = tmp_path / "db"
    db.mkdir()
    (db / "GHSA-bad.json").write_text('{\n  "id": "GHSA-bad",\n  "affected": [\n}\n')
    outcome = check(project(tmp_path / "app", {"requirements.txt": "acme==1.0\n"}), "--osv-db", str(db))
    assert outcome.exit_code == 2 and "GHSA-bad.json:4" in outcome.stderr
    missing = check(tmp_path / "app", "--osv-db", str(tmp_path / "nowhere"))
    assert missing.exit_code == 2 and "does not exist" in missing.stderr


@pytest.mark.parametrize(
    ("manager", "command"),
    [
        ("pip", 'pip install "lib==2.0"'),
        ("uv", 'uv lock --upgrade-package "lib==2.0"'),
        ("poetry", "poetry update lib"),
        ("pipenv", 'pipenv install "lib>=2.0"'),
        ("npm", "npm install lib@2.0"),
        ("pnpm", "pnpm update --recursive lib@2.0"),
        ("yarn", "yarn upgrade lib@2.0"),
        ("yarn-berry", "yarn up lib@2.0"),
    ],
)
def test_upgrade_command_fits_the_package_manager(manager: str, command: str) -> None:
    assert upgrade_command(Pinned("npm", "lib", "1.0", "x", 1, manager), "2.0").startswith(command)


def test_gate_explain_knows_every_deps_rule() -> None:
    for rule in ("deps.vulnerable", "deps.vulnerable-no-fix", "deps.unaudited", "deps.no-lock-file"):
        assert gate("explain", rule).exit_code == 0


def test_the_demo_pins_a_vulnerable_release_and_shows_its_fix_offline(tmp_path: Path) -> None:
    outcome = gate("demo", "--keep", str(tmp_path / "demo"), "--format", "json")
    assert outcome.exit_code == 1
    (finding,) = [f for f in json.loads(outcome.stdout)["findings"] if f["rule_id"] == V]
    assert finding["location"]["path"] == "api/requirements.txt" and finding["location"]["line"] == 3
    assert "PYSEC-2019-217" in finding["message"] and "Fixed in 2.10.1" in finding["message"]
    assert finding["blocking"] and finding["severity"] == "high"
    config = yaml.safe_load((tmp_path / "demo" / "gate.yml").read_text())
    assert config["checks"]["deps"]["osv_db"] == "osv-db"  # offline: the demo never calls a service


def test_fail_on_rules_must_name_a_rule_of_the_check(tmp_path: Path) -> None:
    root = project(tmp_path, {"requirements.txt": "acme==1.0\n"})
    project(root, {"gate.yml": "version: 1\nchecks:\n  deps:\n    fail_on_rules:\n      deps.vulnerable-nofix: high\n"})
    outcome = check(root, "--osv-db", str(NPM_OSV))
    assert outcome.exit_code == 2 and "deps.vulnerable-no-fix" in outcome.stderr


def test_yaml_versions_stay_text_so_1_10_is_not_1_1(tmp_path: Path) -> None:
    db = tmp_path / "db"
    db.mkdir()
    (db / "PYSEC-2024-11.yaml").write_text(
        "id: PYSEC-2024-11\nmodified: 2024-01-01T00:00:00Z\naffected:\n"
        "- package: {ecosystem: PyPI, name: acme}\n  versions: [1.10, 2.0]\n"
    )
    index = load_index(db)
    assert [m.advisory.id for m in index.query("PyPI", "acme", "1.10")] == ["PYSEC-2024-11"]
    assert index.query("PyPI", "acme", "1.1") == []


def test_yaml_records_read_as_text_with_anchors_and_refuse_recursive_aliases(tmp_path: Path) -> None:
    db = tmp_path / "db"
    db.mkdir()
    # An anchor reused by an alias is the same package twice; versions stay text (1.10 is no float).
    (db / "PYSEC-2.yaml").write_text(
        "id: PYSEC-2\nmodified: 2024-05-01T00:00:00Z\naffected:\n"
        "  - package: &pkg {ecosystem: PyPI, name: Acme_Lib}\n    versions: [1.10]\n"
        "  - package: *pkg\n    versions: ['1.2']\n"
    )
    index = load_index(db)
    assert [m.advisory.id for m in index.query("PyPI", "acme-lib", "1.10")] == ["PYSEC-2"]
    assert index.query("PyPI", "acme-lib", "1.2") and not index.query("PyPI", "acme-lib", "1.1")
    (db / "PYSEC-3.yaml").write_text("id: PYSEC-3\naffected: &loop [*loop]\n")
    outcome = check(project(tmp_path / "app", {"requirements.txt": "acme-lib==1.10\n"}), "--osv-db", str(db))
    assert outcome.exit_code == 2 and "PYSEC-3.yaml" in outcome.stderr and "recursive" in outcome.stderr
