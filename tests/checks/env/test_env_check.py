"""The env check: every rule fires on a real project, and no value ever reaches the output."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.helpers import Outcome, gate, write_files
from tests.support.projects import CLEAN_MANIFEST, clean_project


def _findings(outcome: Outcome) -> list[dict[str, object]]:
    report = json.loads(outcome.stdout)
    return [f for f in report["findings"] if not f["suppressed"]]


def _rules_at(outcome: Outcome) -> set[tuple[str, str]]:
    found = set()
    for finding in _findings(outcome):
        location = finding["location"]
        assert isinstance(location, dict)
        where = location["path"] or location["name"]
        if location["line"]:
            where = f"{where}:{location['line']}"
        found.add((str(finding["rule_id"]), str(where)))
    return found


def _check(root: Path, *args: str, env: dict[str, str] | None = None) -> Outcome:
    outcome = gate("check", "env", "--format", "json", *args, cwd=root, env=env)
    assert "Traceback" not in outcome.output
    return outcome


def test_clean_project_passes_with_zero_findings(tmp_path: Path) -> None:
    outcome = _check(clean_project(tmp_path))
    assert outcome.exit_code == 0, outcome.output
    assert _findings(outcome) == []


def test_each_planted_problem_is_found_at_its_file_and_line(tmp_path: Path) -> None:
    clean_project(tmp_path)
    write_files(
        tmp_path,
        {
            ".env.production": (
                "DATABASE_URL=postgres://app:pw123456@127.0.0.1:5432/app\n"
                "API_BASE_URL=http://api.example.com\n"
                "NEXT_PUBLIC_STRIPE_KEY=sk_live_4eC39HqLyjWDarjtT1zdp7dc\n"
                "STRIPE_SECRET_KEY=sk_test_4eC39HqLyjWDarjtT1zdp7dc\n"
                "SEARCH_URL=https://search.staging.example.com\n"
                "this line is broken\n"
                "LOG_LEVEL=info\n"
                "LOG_LEVEL=debug\n"
            ),
            "src/extra.js": "const flag = process.env.FEATURE_FLAG;\nconst b = import.meta.env.VITE_MAP_KEY\n",
        },
    )
    outcome = _check(tmp_path)
    assert outcome.exit_code == 1
    found = _rules_at(outcome)
    assert ("env.local-address-in-production", ".env.production:1") in found
    assert ("env.invalid-value", ".env.production:2") in found
    assert ("env.public-secret", ".env.production:3") in found
    assert ("env.test-credential-in-production", ".env.production:4") in found
    assert ("env.staging-host-in-production", ".env.production:5") in found
    assert ("env.malformed-line", ".env.production:6") in found
    assert ("env.duplicate-definition", ".env.production:8") in found
    assert ("env.undeclared-in-code", "src/extra.js:1") in found
    assert ("env.undeclared-in-code", "src/extra.js:2") in found
    assert ("env.not-in-manifest", ".env.production:5") in found
    duplicate = next(f for f in _findings(outcome) if f["rule_id"] == "env.duplicate-definition")
    assert ".env.production:7" in str(duplicate["message"])


def test_missing_required_points_at_the_manifest_line(tmp_path: Path) -> None:
    clean_project(tmp_path)
    write_files(
        tmp_path, {".env.production": "DATABASE_URL=https://db.example.com\nAPI_BASE_URL=https://a.example.com\n"}
    )
    outcome = _check(tmp_path)
    assert ("env.missing-required", "env.manifest.yml:6") in _rules_at(outcome)
    assert outcome.exit_code == 1


def test_secret_declared_behind_public_prefix_is_critical_at_the_declaration(tmp_path: Path) -> None:
    clean_project(tmp_path)
    write_files(
        tmp_path, {"env.manifest.yml": CLEAN_MANIFEST + "  VITE_ADMIN_TOKEN: {secret: true, required: false}\n"}
    )
    outcome = _check(tmp_path)
    finding = next(f for f in _findings(outcome) if f["rule_id"] == "env.public-secret")
    assert finding["severity"] == "critical"
    assert finding["location"] == {**finding["location"], "path": "env.manifest.yml", "line": 7}  # type: ignore[dict-item]


def test_publishable_keys_behind_public_prefix_are_not_flagged(tmp_path: Path) -> None:
    clean_project(tmp_path)
    manifest = (
        CLEAN_MANIFEST + "  NEXT_PUBLIC_STRIPE_PK: {required: false}\n  NEXT_PUBLIC_FIREBASE_KEY: {required: false}\n"
    )
    write_files(
        tmp_path,
        {
            "env.manifest.yml": manifest,
            ".env": "DATABASE_URL=postgres://app:devpw@localhost:5432/app\nAPI_BASE_URL=https://localhost:3000\n"
            "NEXT_PUBLIC_STRIPE_PK=pk_live_51HqLyjWDarjtT1zdp7dcDemo\n"
            "NEXT_PUBLIC_FIREBASE_KEY=AIzaSyDemoDemoDemoDemoDemoDemoDemo12345\n",
        },
    )
    assert _check(tmp_path).exit_code == 0


def test_localhost_is_fine_outside_production(tmp_path: Path) -> None:
    outcome = _check(clean_project(tmp_path))
    assert not any(f["rule_id"] == "env.local-address-in-production" for f in _findings(outcome))


def test_values_are_type_checked(tmp_path: Path) -> None:
    manifest = """\
environments: [production]
variables:
  WORKERS: {type: int, min: 1, max: 8}
  DEBUG: {type: bool}
  ADMIN_EMAIL: {type: email}
  REGION: {type: regex, pattern: '[a-z]{2}-[a-z]+-\\d'}
  TIMEOUT: {type: duration}
  NAME: {type: non-empty}
  PORT: {type: port}
  SITE: {type: url}
"""
    files = {
        "gate.yml": "checks:\n  env:\n    code: []\n",
        "env.manifest.yml": manifest,
        ".env.production": "WORKERS=12\nDEBUG=perhaps\nADMIN_EMAIL=nobody\nREGION=mars\nTIMEOUT=soon\nNAME=\n"
        "PORT=99999\nSITE=example\n",
    }
    outcome = _check(write_files(tmp_path, files))
    invalid = {str(f["location"]["line"]) for f in _findings(outcome) if f["rule_id"] == "env.invalid-value"}  # type: ignore[index]
    assert invalid == {"1", "2", "3", "4", "5", "6", "7", "8"}
    assert not any(f["rule_id"] == "env.missing-required" for f in _findings(outcome))


def test_valid_typed_values_pass(tmp_path: Path) -> None:
    manifest = "environments: [production]\nvariables:\n  WORKERS: {type: int, min: 1}\n  DEBUG: {type: bool}\n"
    files = {
        "gate.yml": "checks:\n  env:\n    code: []\n",
        "env.manifest.yml": manifest,
        ".env.production": "WORKERS=4\nDEBUG=false\n",
    }
    assert _check(write_files(tmp_path, files)).exit_code == 0


def test_process_environment_can_be_checked_as_production(tmp_path: Path) -> None:
    clean_project(tmp_path)
    (tmp_path / ".env.production").unlink()
    env = {"DATABASE_URL": "postgres://u:averylongpassword@localhost/app", "API_BASE_URL": "https://api.example.com"}
    outcome = _check(tmp_path, "--process-env", "production", env=env)
    found = _rules_at(outcome)
    assert ("env.local-address-in-production", "(process environment) DATABASE_URL") in found
    assert ("env.missing-required", "env.manifest.yml:6") in found
    assert "averylongpassword" not in outcome.output


def test_platform_export_in_json_is_read_with_lines(tmp_path: Path) -> None:
    clean_project(tmp_path)
    export = json.dumps(
        [
            {"key": "DATABASE_URL", "value": "postgres://u:pw@db.example.com/app"},
            {"key": "API_BASE_URL", "value": "ftp://files.example.com"},
            {"key": "LOG_LEVEL", "value": None},
        ],
        indent=2,
    )
    write_files(
        tmp_path,
        {
            "vercel-env.json": export,
            "gate.yml": "checks:\n  env:\n    targets:\n      - environment: production\n"
            "        platform_export: vercel-env.json\n",
        },
    )
    found = _rules_at(_check(tmp_path))
    assert ("env.invalid-value", "vercel-env.json:7") in found
    assert ("env.malformed-line", "vercel-env.json:11") in found
    assert ("env.missing-required", "env.manifest.yml:6") in found


def test_platform_export_as_key_value_lines(tmp_path: Path) -> None:
    clean_project(tmp_path)
    write_files(
        tmp_path,
        {
            "export.env": "DATABASE_URL=postgres://u:pw@db.example.com/app\nAPI_BASE_URL=https://a.example.com\n"
            "LOG_LEVEL=loud\n",
            "gate.yml": "checks:\n  env:\n    targets:\n"
            "      - {environment: production, platform_export: export.env}\n",
        },
    )
    assert ("env.invalid-value", "export.env:3") in _rules_at(_check(tmp_path))


def test_conflicting_definitions_across_files_name_both_places(tmp_path: Path) -> None:
    clean_project(tmp_path)
    write_files(
        tmp_path,
        {
            ".env.production.local": "LOG_LEVEL=debug\n",
            "gate.yml": "checks:\n  env:\n    targets:\n      - environment: production\n"
            "        files: [.env.production, .env.production.local]\n",
        },
    )
    outcome = _check(tmp_path)
    duplicate = next(f for f in _findings(outcome) if f["rule_id"] == "env.duplicate-definition")
    assert duplicate["location"]["path"] == ".env.production.local"  # type: ignore[index]
    assert ".env.production:3" in str(duplicate["message"]) and duplicate["severity"] == "medium"


def test_no_sources_is_said_not_passed_silently(tmp_path: Path) -> None:
    write_files(tmp_path, {"env.manifest.yml": CLEAN_MANIFEST, "gate.yml": "checks:\n  env:\n    code: []\n"})
    outcome = _check(tmp_path)
    assert {f["rule_id"] for f in _findings(outcome)} == {"env.no-sources"}
    assert outcome.exit_code == 1


def test_broken_manifest_is_bad_input_with_position(tmp_path: Path) -> None:
    clean_project(tmp_path)
    write_files(tmp_path, {"env.manifest.yml": "variables:\n  API_URL:\n    type: uri\n"})
    outcome = _check(tmp_path)
    assert outcome.exit_code == 2
    assert "env.manifest.yml:3:11" in outcome.stderr and "did you mean 'url'?" in outcome.stderr


def test_manifest_requiring_an_undeclared_environment_is_bad_input(tmp_path: Path) -> None:
    clean_project(tmp_path)
    write_files(tmp_path, {"env.manifest.yml": "environments: [prod]\nvariables:\n  A: {required: [production]}\n"})
    outcome = _check(tmp_path)
    assert outcome.exit_code == 2 and "unknown environment 'production'" in outcome.stderr


def test_invalid_regex_in_manifest_is_bad_input(tmp_path: Path) -> None:
    clean_project(tmp_path)
    write_files(tmp_path, {"env.manifest.yml": "variables:\n  A: {type: regex, pattern: '(['}\n"})
    outcome = _check(tmp_path)
    assert outcome.exit_code == 2 and "not a valid regular expression" in outcome.stderr


def test_missing_manifest_is_bad_input_with_a_way_out(tmp_path: Path) -> None:
    write_files(tmp_path, {"gate.yml": "version: 1\n"})
    outcome = _check(tmp_path)
    assert outcome.exit_code == 2 and "env.manifest.yml not found" in outcome.stderr


def test_env_file_named_in_gate_yml_must_exist(tmp_path: Path) -> None:
    clean_project(tmp_path)
    write_files(
        tmp_path, {"gate.yml": "checks:\n  env:\n    targets: [{environment: production, files: [.env.prod]}]\n"}
    )
    outcome = _check(tmp_path)
    assert outcome.exit_code == 2 and ".env.prod named in gate.yml does not exist" in outcome.stderr


def test_inline_manifest_in_gate_yml(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            "gate.yml": "checks:\n  env:\n    code: []\n    environments: [production]\n    variables:\n"
            "      TOKEN: {secret: true}\n",
            ".env.production": "OTHER=1\n",
        },
    )
    outcome = _check(tmp_path)
    assert {f["rule_id"] for f in _findings(outcome)} == {"env.missing-required", "env.not-in-manifest"}


def test_symlinked_env_file_out_of_the_tree_is_not_read(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secrets.env").write_text("DATABASE_URL=postgres://u:pw@localhost/x\n")
    project = tmp_path / "project"
    clean_project(project)
    (project / ".env.production").unlink()
    (project / ".env.production").symlink_to(outside / "secrets.env")
    outcome = _check(project)
    assert not any(f["rule_id"] == "env.local-address-in-production" for f in _findings(outcome))


def test_code_scan_skips_dependencies_and_symlinks(tmp_path: Path) -> None:
    clean_project(tmp_path)
    write_files(tmp_path, {"node_modules/lib/index.js": "process.env.LIB_ONLY\n"})
    (tmp_path / "src" / "link.js").symlink_to("/etc/hostname")
    outcome = _check(tmp_path)
    assert not any(f["rule_id"] == "env.undeclared-in-code" for f in _findings(outcome))


def test_no_env_value_appears_in_any_output(tmp_path: Path) -> None:
    clean_project(tmp_path)
    canary = "CanaryValue-7f3a9c1e55"
    write_files(
        tmp_path,
        {
            ".env.production": f"DATABASE_URL=postgres://u:{canary}@localhost/db\nAPI_BASE_URL={canary}\n"
            f"LOG_LEVEL={canary}\nNEXT_PUBLIC_SECRET_THING={canary}\nbroken {canary}\n",
        },
    )
    for fmt in ("console", "json", "sarif", "junit"):
        outcome = gate("check", "env", "--format", fmt, cwd=tmp_path)
        assert outcome.exit_code == 1
        assert canary not in outcome.output, fmt
