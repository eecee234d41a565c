"""Property tests over the checks' inputs: every bad input is an input error naming its file.

gate.yml, .env files and report rendering are fuzzed in tests/test_fuzz_spine.py; these cover the
env manifest, every lock-file parser of the deps check, GitHub event payloads and annotation
escaping. Parsers are called directly (fast, so many examples fit), and a sample goes through the
real CLI to prove the exit code is 2 and nothing prints a traceback.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import yaml
from hypothesis import given
from hypothesis import strategies as st

from gate.checks.deps import npm, python
from gate.checks.deps.pinned import Pinned
from gate.checks.env.manifest import parse_manifest
from gate.config.yamlpos import load_text
from gate.errors import InputError, InputErrors
from gate.github import commands
from gate.github.context import plan_for, read_context
from gate.redact import scrub
from tests.faults.fuzz import FUZZ, json_values, mutated, text
from tests.support.helpers import gate, write_files

DATA = Path(__file__).resolve().parents[1] / "data" / "deps"
Reader = Callable[[Path, Path], Iterator[Pinned]]
READERS: dict[str, tuple[Reader, list[Path]]] = {
    "package-lock.json": (npm.read_package_lock, sorted((DATA / "npm").glob("package-lock*.json"))),
    "pnpm-lock.yaml": (npm.read_pnpm_lock, sorted((DATA / "npm").glob("pnpm-lock*.yaml"))),
    "yarn.lock": (npm.read_yarn_lock, sorted((DATA / "npm").glob("yarn*.lock"))),
    "requirements.txt": (python.read_requirements, [DATA / "python" / "requirements.txt"]),
    "uv.lock": (python.read_uv_lock, [DATA / "python" / "uv.lock"]),
    "poetry.lock": (python.read_poetry_lock, [DATA / "python" / "poetry.lock"]),
    "Pipfile.lock": (python.read_pipfile_lock, [DATA / "python" / "Pipfile.lock"]),
    "pylock.toml": (python.read_pylock, [DATA / "python" / "pylock.toml"]),
    "pyproject.toml": (python.read_pyproject, [DATA / "pyproject" / "pyproject.toml"]),
}


def _errors(error: InputError | InputErrors) -> list[InputError]:
    return error.errors if isinstance(error, InputErrors) else [error]


def _names_the_file(error: InputError | InputErrors, name: str) -> None:
    """File and line, except for a problem of the whole document (a key missing at its top), and
    pylock.toml problems pip-audit reports without a position."""
    for one in _errors(error):
        assert one.position is not None, one.render()
        assert Path(str(one.position.path)).name == name, one.render()
        whole_document = "top level" in one.message or one.message.startswith("pip-audit cannot read")
        assert one.position.line is not None or whole_document, one.render()


def _parse(name: str, content: bytes) -> list[Pinned]:
    reader, _ = READERS[name]
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / name).write_bytes(content)
        try:
            return list(reader(root, root / name))
        except (InputError, InputErrors) as error:
            _names_the_file(error, name)
            return []


def _structured(name: str, value: Any) -> bytes:
    if name.endswith(".json"):
        return json.dumps(value).encode()
    if name.endswith(".yaml"):
        return yaml.safe_dump(value).encode()
    return repr(value).encode()


@FUZZ
@given(st.sampled_from(sorted(READERS)), st.data())
def test_fuzz_every_lock_parser_reads_or_names_the_file(name: str, data: st.DataObject) -> None:
    seeds = [path.read_bytes() for path in READERS[name][1]]
    content = data.draw(mutated(seeds) | st.builds(_structured, st.just(name), json_values) | st.binary(max_size=200))
    for pinned in _parse(name, content):
        assert pinned.name and isinstance(pinned.name, str)
        assert pinned.line is None or pinned.line >= 1


MANIFEST_SEED = b"""environments: [development, production]
variables:
  DATABASE_URL:
    type: url
    secret: true
  STRIPE_SECRET_KEY:
    secret: true
    required: [production]
  PORT:
    type: port
    required: false
"""
manifest_keys = st.sampled_from(
    ["environments", "variables", "production", "type", "secret", "required", "PORT", "URL", "default", "pattern"]
)
manifest_like = st.recursive(
    st.none() | st.booleans() | st.integers() | text | st.sampled_from(["url", "port", "https-url", "production"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(manifest_keys, inner, max_size=4),
    max_leaves=14,
)


@FUZZ
@given(mutated([MANIFEST_SEED]) | manifest_like.map(lambda value: yaml.safe_dump(value).encode()))
def test_fuzz_env_manifest_parses_or_is_a_positioned_input_error(content: bytes) -> None:
    try:
        parse_manifest(load_text(content.decode("utf-8", "replace"), Path("env.manifest.yml")))
    except (InputError, InputErrors) as error:
        _names_the_file(error, "env.manifest.yml")


@FUZZ
@given(mutated([MANIFEST_SEED]))
def test_fuzz_bad_manifest_through_the_cli_is_exit_2_with_file_and_line(content: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = write_files(
            Path(folder),
            {
                "gate.yml": "version: 1\nchecks:\n  env:\n    enabled: true\n",
                "env.manifest.yml": content,
                ".env.production": "PORT=3000\n",
            },
        )
        outcome = gate("check", "env", cwd=root)
    assert "Traceback" not in outcome.output
    assert outcome.exit_code in (0, 1, 2), outcome.output
    if outcome.exit_code == 2:
        assert re.search(r"env\.manifest\.yml(:\d+)?", outcome.stderr), outcome.stderr


EVENT_NAMES = ["pull_request", "pull_request_target", "push", "deployment_status", "workflow_dispatch", "schedule"]
EVENT_SEED = json.dumps(
    {
        "number": 42,
        "repository": {"full_name": "octo-org/app"},
        "pull_request": {
            "number": 42,
            "base": {"sha": "1" * 40, "ref": "main"},
            "head": {"sha": "2" * 40, "ref": "feature", "repo": {"full_name": "octo-org/app"}},
        },
        "deployment": {"sha": "3" * 40, "environment": "preview"},
        "deployment_status": {"state": "success", "environment_url": "https://app-git-x.vercel.app"},
    },
    indent=2,
).encode()


@FUZZ
@given(
    st.sampled_from(EVENT_NAMES),
    mutated([EVENT_SEED]) | json_values.map(lambda value: json.dumps(value).encode()),
    st.sampled_from(["refs/heads/main", "refs/tags/v1.0", "refs/pull/42/merge", ""]),
)
def test_fuzz_event_payload_reads_or_is_a_positioned_input_error(name: str, payload: bytes, ref: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        event = Path(folder) / "event.json"
        event.write_bytes(payload)
        environ = {
            "GITHUB_ACTIONS": "true",
            "GITHUB_EVENT_NAME": name,
            "GITHUB_EVENT_PATH": str(event),
            "GITHUB_REPOSITORY": "octo-org/app",
            "GITHUB_SHA": "4" * 40,
            "GITHUB_REF": ref,
        }
        try:
            context = read_context(environ)
        except InputError as error:
            assert error.position is not None, error.render()
            return
        assert context is not None
        try:
            plan_for(context)
        except InputError as error:
            assert error.position is not None or "GITHUB" in error.message or "action" in error.render()


def _unescape_data(text: str) -> str:
    """What the Actions runner does to a command's message (its CommandStringConvertor)."""
    return text.replace("%0D", "\r").replace("%0A", "\n").replace("%25", "%")


def _unescape_property(text: str) -> str:
    return text.replace("%0D", "\r").replace("%0A", "\n").replace("%3A", ":").replace("%2C", ",").replace("%25", "%")


def _parse_command(line: str) -> tuple[str, dict[str, str], str]:
    """Split a workflow command the way the runner does: first `::`, then ` `, `,` and `=`."""
    assert line.startswith("::") and "\n" not in line and "\r" not in line
    head, sep, message = line[2:].partition("::")
    assert sep
    name, _, props_text = head.partition(" ")
    props = {}
    for pair in props_text.split(",") if props_text else []:
        key, _, value = pair.partition("=")
        props[key] = _unescape_property(value)
    return name, props, _unescape_data(message)


values = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40) | st.sampled_from(
    ["%0A", "%25", "::warning::x", "a,b=c", "line\nbreak", "\r\n", "%%3A", "::"]
)


@FUZZ
@given(values, values, st.integers(1, 10**6), values)
def test_fuzz_annotation_escaping_round_trips(file: str, title: str, line: int, message: str) -> None:
    command = commands.workflow_command("error", {"file": file, "line": line, "title": title}, message)
    name, props, parsed = _parse_command(command)
    assert name == "error"
    assert props == {"file": scrub(file), "line": str(line), "title": scrub(title)}
    assert parsed == scrub(message)


# Regressions the fuzzing found: these inputs used to be errors without a line.


def test_a_control_character_in_gate_yml_is_exit_2_with_its_line(tmp_path: Path) -> None:
    write_files(tmp_path, {"gate.yml": "version: 1\nchecks:\n  env:\n    enabled: tr\x00ue\n"})
    outcome = gate("run", cwd=tmp_path)
    assert outcome.exit_code == 2 and "Traceback" not in outcome.output
    assert "gate.yml:4:16" in outcome.stderr and "U+0000" in outcome.stderr


def test_a_lock_file_that_is_not_utf8_names_the_line(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_bytes(b"click==8.1.7\nflask==3.0.0\njinja2==3.1.\xff\n")
    try:
        list(python.read_requirements(tmp_path, tmp_path / "requirements.txt"))
    except InputError as error:
        assert str(error.position) == "requirements.txt:3"
    else:
        raise AssertionError("a lock file that is not UTF-8 was read")


def test_a_control_character_in_pnpm_lock_names_the_line(tmp_path: Path) -> None:
    (tmp_path / "pnpm-lock.yaml").write_bytes(b"lockfileVersion: '9.0'\n\x01\n")
    try:
        list(npm.read_pnpm_lock(tmp_path, tmp_path / "pnpm-lock.yaml"))
    except InputError as error:
        assert str(error.position) == "pnpm-lock.yaml:2:1"
    else:
        raise AssertionError("a control character in a YAML lock file was read")


def test_a_broken_event_payload_through_the_cli_is_exit_2_with_file_and_line(tmp_path: Path) -> None:
    event = tmp_path / "event.json"
    event.write_bytes(EVENT_SEED[:-40])
    write_files(tmp_path, {"gate.yml": "version: 1\nchecks:\n  env:\n    enabled: false\n"})
    environ = {"GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "pull_request", "GITHUB_EVENT_PATH": str(event)}
    outcome = gate("run", cwd=tmp_path, env=environ)
    assert outcome.exit_code == 2 and "Traceback" not in outcome.output
    assert re.search(rf"{re.escape(str(event))}:\d+", outcome.stderr), outcome.stderr
