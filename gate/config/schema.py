"""The JSON Schema of gate.yml, assembled from each check's own section, and its validation.

Validation errors are rewritten into sentences that name the file, line and column, say what
was expected and, where a close match exists, what the user probably meant.
"""

from __future__ import annotations

import copy
import difflib
from collections.abc import Iterable, Mapping
from typing import Any

import jsonschema

from gate.config import paths, units
from gate.config.yamlpos import JsonPath, Located
from gate.errors import InputError
from gate.handover.schema import HANDOVER_SCHEMA
from gate.model import Severity
from gate.watch.schema import WATCH_SCHEMA

SCHEMA_ID = "https://launch-gate.dev/schema/gate.yml.json"

DEFINITIONS: dict[str, Any] = {
    "duration": {
        "type": "string",
        "format": "duration",
        "description": "A duration with its unit: 300ms, 2s, 1.5s, 5m.",
    },
    "percent": {
        "type": "string",
        "format": "percent",
        "description": "A percentage with a % sign: 1%, 0.5%.",
    },
    "severity": {"enum": [str(level) for level in Severity]},
    "globs": {"type": "array", "items": {"type": "string", "minLength": 1}},
    "repo-paths": {"type": "array", "items": {"type": "string", "minLength": 1, "format": "repo-path"}},
}

COMMON_CHECK_PROPERTIES: dict[str, Any] = {
    "enabled": {"type": "boolean", "description": "Run this check in `gate run`."},
    "timeout": {"$ref": "#/$defs/duration", "description": "Deadline for this check."},
    "fail_on": {
        "$ref": "#/$defs/severity",
        "description": "Findings at or above this severity block the release.",
    },
    "fail_on_rules": {
        "type": "object",
        "propertyNames": {"pattern": "^[a-z0-9-]+\\.[a-z0-9.-]+$"},
        "additionalProperties": {"$ref": "#/$defs/severity"},
        "description": "Per rule id, the severity from which its findings block (overrides fail_on).",
    },
}


def duration(description: str) -> dict[str, Any]:
    """A check's duration key (`30s`, `5m`), validated by the `duration` format."""
    return {"$ref": "#/$defs/duration", "description": description}


def command_properties(command: str, timeout: str) -> dict[str, Any]:
    """`command` and `command_timeout` of a check that runs a declared program (gate.bounded_process):
    a list of arguments, never a shell line, so no value of gate.yml is ever parsed by a shell."""
    return {
        "command": {"type": "array", "minItems": 1, "items": {"type": "string"}, "description": command},
        "command_timeout": duration(timeout),
    }


SUPPRESSION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["reason"],
    "anyOf": [{"required": ["fingerprint"]}, {"required": ["rule"]}],
    "properties": {
        "fingerprint": {"type": "string", "minLength": 8},
        "rule": {"type": "string", "minLength": 1, "description": "Rule id or glob (secrets.*)."},
        "path": {"type": "string", "minLength": 1, "description": "Path, route or name glob."},
        "reason": {"type": "string", "minLength": 3, "description": "Why this is acceptable."},
        "expires": {"type": "string", "format": "date", "description": "YYYY-MM-DD."},
        "reviewed_by": {"type": "string"},
    },
}


def build_schema(check_schemas: Mapping[str, Mapping[str, Any]], presets: Iterable[str]) -> dict[str, Any]:
    """The whole schema: fixed top level plus one section per registered check."""
    sections: dict[str, Any] = {}
    for name, fragment in check_schemas.items():
        section = copy.deepcopy(dict(fragment))
        section.setdefault("type", "object")
        section["additionalProperties"] = section.get("additionalProperties", False)
        section["properties"] = {**COMMON_CHECK_PROPERTIES, **section.get("properties", {})}
        sections[name] = section
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "launch-gate configuration (gate.yml)",
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "version": {"const": 1, "description": "Schema version of this file."},
            "preset": {
                "enum": sorted(presets),
                "description": "The stage whose budgets apply: prototype, demo or launch.",
            },
            "project": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "name": {"type": "string"},
                    "root": {
                        "type": "string",
                        "format": "repo-path",
                        "description": "Project root, relative to the scanned path and inside it.",
                    },
                },
            },
            "run": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "timeout": {"$ref": "#/$defs/duration", "description": "Deadline for the run."},
                },
            },
            "checks": {"type": "object", "additionalProperties": False, "properties": sections},
            "suppressions": {"type": "array", "items": SUPPRESSION_SCHEMA},
            "watch": WATCH_SCHEMA,
            "handover": HANDOVER_SCHEMA,
        },
        "$defs": DEFINITIONS,
    }


def _format_checker() -> jsonschema.FormatChecker:
    checker = jsonschema.FormatChecker(formats=["date"])
    checker.checks("duration")(units.is_duration)
    checker.checks("percent")(units.is_percent)
    # A format says nothing about other types (`since: null` is "not set"); `type` judges those.
    for name, test in (
        ("git-revision", paths.is_revision),
        ("git-range", paths.is_revision_range),
        ("repo-path", paths.is_repo_path),
    ):
        checker.checks(name)(lambda value, test=test: not isinstance(value, str) or test(value))
    return checker


_TYPE_WORDS = {
    "object": "a mapping of keys",
    "array": "a list",
    "string": "text",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "null": "nothing",
}


def _kind_of(value: Any) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, int | float):
        return "a number"
    if value is None:
        return "nothing"
    return "text"


def _dotted(where: JsonPath) -> str:
    text = ""
    for part in where:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "the top level"


def _suggest(word: str, choices: Iterable[str]) -> str | None:
    matches = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return matches[0] if matches else None


def _short(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _explain(error: jsonschema.ValidationError, doc: Located) -> list[InputError]:
    where: JsonPath = tuple(error.absolute_path)
    instance: Any = error.instance
    place = _dotted(where)
    validator = error.validator
    schema = error.schema if isinstance(error.schema, dict) else {}
    if validator == "additionalProperties" and isinstance(error.instance, dict):
        known = set(schema.get("properties", {}))
        errors = []
        for key in sorted(set(error.instance) - known):
            guess = _suggest(key, known)
            hint = (
                f"did you mean '{guess}'?"
                if guess
                else (f"allowed keys here: {', '.join(sorted(known))}" if known else None)
            )
            errors.append(InputError(f"unknown key '{key}' in {place}", doc.position((*where, key), key=True), hint))
        return errors
    position = doc.position(where)
    if validator == "type":
        expected = schema.get("type")
        wanted = " or ".join(
            _TYPE_WORDS.get(t, t) for t in ([expected] if isinstance(expected, str) else expected or [])
        )
        return [InputError(f"{place} must be {wanted}, not {_kind_of(error.instance)}", position)]
    if validator in ("enum", "const"):
        allowed = schema.get("enum", [schema.get("const")])
        guess = _suggest(str(error.instance), [str(a) for a in allowed])
        hint = f"did you mean '{guess}'?" if guess else None
        listed = ", ".join(str(a) for a in allowed)
        return [InputError(f"{place} is '{_short(error.instance)}'; expected one of: {listed}", position, hint)]
    if validator == "format":
        fmt = schema.get("format")
        hint = {
            "duration": units.DURATION_HINT,
            "percent": units.PERCENT_HINT,
            "date": "write a date as YYYY-MM-DD",
            "git-revision": paths.REVISION_HINT,
            "git-range": paths.RANGE_HINT,
            "repo-path": paths.PATH_HINT,
        }.get(str(fmt))
        what = {
            "repo-path": "which points outside the project",
            "git-revision": "which is not a revision name git can be given safely",
            "git-range": "which is not a revision or BASE...HEAD range git can be given safely",
        }.get(str(fmt), f"which is not a valid {fmt}")
        return [InputError(f"{place} is '{_short(error.instance)}', {what}", position, hint)]
    if validator == "required":
        missing = [key for key in schema.get("required", []) if key not in instance]
        return [InputError(f"{place} is missing the required key '{key}'", position) for key in missing]
    if validator == "anyOf" and all("required" in option for option in schema.get("anyOf", [])):
        options = " or ".join(f"'{option['required'][0]}'" for option in schema["anyOf"])
        return [InputError(f"{place} needs {options}", position)]
    if validator in ("minLength", "minItems") and error.validator_value == 1:
        return [InputError(f"{place} must not be empty", position)]
    if validator in (
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "minLength",
        "maxLength",
        "minItems",
        "maxItems",
        "pattern",
    ):
        return [
            InputError(f"{place}: {validator} is {error.validator_value}, got '{_short(error.instance)}'", position)
        ]
    return [InputError(f"{place}: {error.message}", position)]


def validate(doc: Located, schema: Mapping[str, Any]) -> list[InputError]:
    """Every schema violation in `doc`, as positioned input errors in file order."""
    validator = jsonschema.Draft202012Validator(schema, format_checker=_format_checker())
    problems: list[InputError] = []
    for error in validator.iter_errors(doc.data):
        problems.extend(_explain(error, doc))
    problems.sort(key=lambda e: (e.position.line or 0, e.position.column or 0) if e.position else (0, 0))
    return problems
