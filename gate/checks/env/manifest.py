"""The env manifest: which variables each environment needs, their format, which are secret.

It is gate input, so a mistake in it is an input error (exit 2) naming file and line.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import re2

from gate.config.paths import inside
from gate.config.schema import validate
from gate.config.yamlpos import Located, load_file
from gate.errors import InputError, InputErrors, Position

VALUE_TYPES = ("string", "non-empty", "url", "https-url", "email", "int", "bool", "enum", "regex", "port", "duration")
DEFAULT_ENVIRONMENTS = ["development", "preview", "production"]

VARIABLE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "description": {"type": "string"},
        "required": {
            "description": "true for every environment, false for none, or a list of environments.",
            "anyOf": [{"type": "boolean"}, {"type": "array", "items": {"type": "string"}}],
        },
        "type": {"enum": list(VALUE_TYPES)},
        "secret": {"type": "boolean"},
        "min": {"type": "integer"},
        "max": {"type": "integer"},
        "values": {"type": "array", "items": {"type": "string"}, "minItems": 1},
        "pattern": {"type": "string", "minLength": 1},
    },
}

MANIFEST_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["variables"],
    "properties": {
        "environments": {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1},
        "production": {
            "type": "array",
            "items": {"type": "string"},
            "description": "Environments held to production rules (no localhost, no test keys).",
        },
        "variables": {
            "type": "object",
            "propertyNames": {"pattern": "^[A-Za-z_][A-Za-z0-9_]*$"},
            "additionalProperties": VARIABLE_SCHEMA,
        },
    },
}


def user_pattern(pattern: str) -> Any:
    """A manifest pattern compiled on RE2: linear time, so no value can make it run for ever.

    Python's `re` backtracks: `(a|aa)+$` against 64 a's and a `!` runs for ages holding the GIL,
    which no deadline or SIGTERM can interrupt. RE2 refuses the few constructs that need it.
    """
    options = re2.Options()
    options.log_errors = False  # RE2 would print the (untrusted) pattern on stderr itself
    return re2.compile(pattern, options)


def _re2_reason(error: re2.error) -> str:
    reason = error.args[0] if error.args else error
    return reason.decode("utf-8", "replace") if isinstance(reason, bytes) else str(reason)


@dataclass(frozen=True)
class VariableSpec:
    name: str
    required_in: frozenset[str]
    type: str
    secret: bool
    position: Position
    minimum: int | None = None
    maximum: int | None = None
    values: tuple[str, ...] = ()
    pattern: str | None = None


@dataclass(frozen=True)
class Manifest:
    environments: tuple[str, ...]
    production: frozenset[str]
    variables: Mapping[str, VariableSpec]
    path: Path | str


def _spec(name: str, raw: Mapping[str, Any], environments: list[str], doc: Located) -> VariableSpec:
    where = ("variables", name)
    required = raw.get("required", True)
    if required is True:
        required_in = frozenset(environments)
    elif required is False:
        required_in = frozenset()
    else:
        unknown = [env for env in required if env not in environments]
        if unknown:
            raise InputError(
                f"variable {name} is required in unknown environment '{unknown[0]}'",
                doc.position((*where, "required")),
                hint=f"declared environments are: {', '.join(environments)}",
            )
        required_in = frozenset(required)
    value_type = raw.get("type", "string")
    if value_type == "enum" and not raw.get("values"):
        raise InputError(
            f"variable {name} has type enum but no 'values'", doc.position(where), hint="add values: [a, b]"
        )
    if value_type == "regex":
        if not raw.get("pattern"):
            raise InputError(f"variable {name} has type regex but no 'pattern'", doc.position(where))
        try:
            user_pattern(raw["pattern"])
        except re2.error as error:
            raise InputError(
                f"pattern of {name} is not a valid regular expression for RE2: {_re2_reason(error)}",
                doc.position((*where, "pattern")),
                hint="patterns run on RE2, which has no backreferences or lookaround (that is what keeps "
                "them linear-time); rewrite it without them, e.g. list the alternatives",
            ) from None
    return VariableSpec(
        name=name,
        required_in=required_in,
        type=value_type,
        secret=bool(raw.get("secret", False)),
        position=doc.position(where, key=True),
        minimum=raw.get("min"),
        maximum=raw.get("max"),
        values=tuple(raw.get("values", ())),
        pattern=raw.get("pattern"),
    )


def parse_manifest(doc: Located) -> Manifest:
    problems = validate(doc, MANIFEST_SCHEMA)
    if problems:
        raise InputErrors(problems)
    data = doc.data
    environments = list(data.get("environments", DEFAULT_ENVIRONMENTS))
    production = data.get("production", [env for env in environments if env.startswith("prod")])
    for env in production:
        if env not in environments:
            raise InputError(f"production environment '{env}' is not declared", doc.position(("production",)))
    variables = {name: _spec(name, raw, environments, doc) for name, raw in data["variables"].items()}
    return Manifest(tuple(environments), frozenset(production), variables, doc.path)


def load_manifest(root: Path, section: Mapping[str, Any], config_doc: Path | None) -> Manifest:
    """From `manifest: FILE` (relative to the project root) or inline in gate.yml's env section."""
    if "variables" in section:
        inline = {key: section[key] for key in ("environments", "production", "variables") if key in section}
        return parse_manifest(Located(data=inline, path=config_doc or Path("gate.yml")))
    relative = section.get("manifest", "env.manifest.yml")
    manifest_path = root / relative
    if not inside(root, relative):
        raise InputError(
            f"env manifest {relative} resolves outside the project root (through a symlink)",
            Position(config_doc) if config_doc else None,
            hint="keep the manifest inside the repository; the gate reads nothing outside it",
        )
    if not manifest_path.is_file():
        raise InputError(
            f"env manifest {manifest_path.name} not found in {root}",
            Position(config_doc) if config_doc else None,
            hint="write env.manifest.yml (see `gate explain env.missing-required`), set checks.env.manifest, "
            "or disable the check with checks.env.enabled: false",
        )
    doc = load_file(manifest_path)
    # Findings name the manifest as the project knows it, relative to its root.
    doc.path = manifest_path.relative_to(root) if manifest_path.is_relative_to(root) else manifest_path
    return parse_manifest(doc)
