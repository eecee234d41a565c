"""gate.yml is validated before anything runs, and every mistake names file, line and fix."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from gate.checks import config_schemas
from gate.config import deep_merge, load_config, preset_names, preset_path
from gate.config.schema import validate
from gate.config.yamlpos import load_file
from gate.errors import InputError, InputErrors
from tests.support.helpers import gate, write_files
from tests.support.projects import clean_project


def _run_with(tmp_path: Path, gate_yml: str) -> tuple[int, str]:
    clean_project(tmp_path)
    (tmp_path / "gate.yml").write_text(gate_yml)
    outcome = gate("run", cwd=tmp_path)
    assert "Traceback" not in outcome.output
    return outcome.exit_code, outcome.stderr


def test_typo_in_key_names_line_column_and_suggests_the_key(tmp_path: Path) -> None:
    code, err = _run_with(tmp_path, "version: 1\nchecks:\n  env:\n    timout: 2m\n")
    assert code == 2
    assert "gate.yml:4:5" in err
    assert "unknown key 'timout' in checks.env" in err
    assert "did you mean 'timeout'?" in err


def test_typo_in_check_name_suggests_the_check(tmp_path: Path) -> None:
    code, err = _run_with(tmp_path, "checks:\n  evn:\n    enabled: true\n")
    assert code == 2
    assert "gate.yml:2:3" in err and "did you mean 'env'?" in err


def test_wrong_type_says_what_was_expected(tmp_path: Path) -> None:
    code, err = _run_with(tmp_path, "checks:\n  env:\n    enabled: maybe\n")
    assert code == 2
    assert "gate.yml:3:14" in err
    assert "checks.env.enabled must be true or false, not text" in err


def test_bad_duration_is_rejected_with_the_accepted_forms(tmp_path: Path) -> None:
    code, err = _run_with(tmp_path, "checks:\n  env:\n    timeout: 3 seconds\n")
    assert code == 2
    assert "gate.yml:3:14" in err and "not a valid duration" in err and "300ms, 2s" in err


def test_bad_yaml_names_the_line(tmp_path: Path) -> None:
    code, err = _run_with(tmp_path, "checks:\n  env:\n    enabled: [true\n  x: 1\n")
    assert code == 2
    assert "not valid YAML" in err and "gate.yml:4" in err


def test_unknown_preset_in_file_suggests_the_closest(tmp_path: Path) -> None:
    code, err = _run_with(tmp_path, "preset: lanch\n")
    assert code == 2
    assert "gate.yml:1:9" in err and "did you mean 'launch'?" in err


def test_unknown_preset_on_command_line_is_bad_input(tmp_path: Path) -> None:
    clean_project(tmp_path)
    outcome = gate("run", "--preset", "prod", cwd=tmp_path)
    assert outcome.exit_code == 2
    assert "unknown preset 'prod'" in outcome.stderr


def test_duplicate_keys_are_rejected_not_silently_overwritten(tmp_path: Path) -> None:
    code, err = _run_with(tmp_path, "checks:\n  env:\n    enabled: true\n    enabled: false\n")
    assert code == 2
    assert "duplicate key 'enabled' (first defined on line 3)" in err and "gate.yml:4:5" in err


def test_every_mistake_is_reported_at_once_in_file_order(tmp_path: Path) -> None:
    code, err = _run_with(tmp_path, "preset: launch\nbogus: 1\nchecks:\n  env:\n    fail_on: hgh\n")
    assert code == 2
    assert err.index("gate.yml:2") < err.index("gate.yml:5")
    assert "did you mean 'high'?" in err


def test_suppression_needs_a_reason_and_a_target(tmp_path: Path) -> None:
    code, err = _run_with(tmp_path, "suppressions:\n  - path: src/*\n")
    assert code == 2
    assert "missing the required key 'reason'" in err
    assert "needs 'fingerprint' or 'rule'" in err


def test_bad_expiry_date_is_rejected(tmp_path: Path) -> None:
    code, err = _run_with(tmp_path, "suppressions:\n  - rule: env.*\n    reason: known\n    expires: next week\n")
    assert code == 2
    assert "not a valid date" in err and "YYYY-MM-DD" in err


def test_non_mapping_top_level_is_rejected(tmp_path: Path) -> None:
    code, err = _run_with(tmp_path, "- just\n- a list\n")
    assert code == 2 and "mapping" in err


def test_missing_config_file_given_explicitly_is_bad_input(tmp_path: Path) -> None:
    outcome = gate("run", "--config", str(tmp_path / "nope.yml"), cwd=tmp_path)
    assert outcome.exit_code == 2
    assert "nope.yml: file not found" in outcome.stderr and "gate init" in outcome.stderr


def test_non_utf8_config_is_bad_input(tmp_path: Path) -> None:
    (tmp_path / "gate.yml").write_bytes(b"preset: \xff\xfe\n")
    outcome = gate("run", cwd=tmp_path)
    assert outcome.exit_code == 2 and "not UTF-8" in outcome.stderr


def test_config_over_the_size_cap_is_refused(tmp_path: Path) -> None:
    (tmp_path / "gate.yml").write_text("# pad\n" * 400_000)
    outcome = gate("run", cwd=tmp_path)
    assert outcome.exit_code == 2 and "limited to" in outcome.stderr


def test_yaml_merge_keys_are_refused(tmp_path: Path) -> None:
    code, err = _run_with(tmp_path, "base: &b {enabled: true}\nchecks:\n  env:\n    <<: *b\n")
    assert code == 2 and "merge keys" in err


@pytest.mark.parametrize("preset", preset_names())
def test_every_preset_file_validates_against_the_schema(preset: str) -> None:
    from gate.config import full_schema

    assert validate(load_file(preset_path(preset)), full_schema(config_schemas())) == []


def test_the_three_stages_exist() -> None:
    assert {"prototype", "demo", "launch"} <= set(preset_names())


def test_user_values_override_the_preset_and_the_rest_is_kept(tmp_path: Path) -> None:
    clean_project(tmp_path)
    (tmp_path / "gate.yml").write_text("preset: demo\nchecks:\n  env:\n    timeout: 30s\n")
    config = load_config(None, check_schemas=config_schemas(), search_from=tmp_path)
    assert config.preset == "demo"
    assert config.section("env")["timeout"] == "30s"
    preset = yaml.safe_load(preset_path("demo").read_text())
    assert config.section("env")["fail_on"] == preset["checks"]["env"]["fail_on"]


def test_preset_on_command_line_wins_over_the_file(tmp_path: Path) -> None:
    clean_project(tmp_path)
    (tmp_path / "gate.yml").write_text("preset: demo\n")
    assert (
        load_config(None, check_schemas=config_schemas(), preset="prototype", search_from=tmp_path).preset
        == "prototype"
    )


def test_deep_merge_replaces_lists_and_merges_mappings() -> None:
    merged = deep_merge({"a": {"b": 1, "c": [1, 2]}, "d": 1}, {"a": {"c": [3]}, "e": 2})
    assert merged == {"a": {"b": 1, "c": [3]}, "d": 1, "e": 2}


def test_project_root_must_exist(tmp_path: Path) -> None:
    write_files(tmp_path, {"gate.yml": "project:\n  root: missing\n"})
    with pytest.raises(InputError, match="not a directory"):
        load_config(None, check_schemas=config_schemas(), search_from=tmp_path)


def test_command_line_override_is_validated_too(tmp_path: Path) -> None:
    from gate.config import Override

    clean_project(tmp_path)
    with pytest.raises(InputErrors) as raised:
        load_config(
            None,
            check_schemas=config_schemas(),
            search_from=tmp_path,
            overrides=[Override("env", "timeout", "soon", "--timeout")],
        )
    assert "command-line option" in raised.value.render()
