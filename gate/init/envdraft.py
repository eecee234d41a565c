"""A draft env manifest: variables from .env.example/.env.* files and from the code's reads.

Values are only looked at to guess a type and whether the variable is secret; no value is ever
copied into the draft, and a value the env or secrets rules call secret is not even described.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gate.checks.env.sources import read_dotenv
from gate.checks.env.tunables import load_rules
from gate.checks.env.usage import CodePatterns, scan_text
from gate.checks.env.values import ValueRules
from gate.errors import InputError
from gate.init.detect import ProjectFiles
from gate.init.routes import guesses

MAX_VARIABLES = 500
_EXAMPLE_FILE = re.compile(r"(^|/)\.env(\.[A-Za-z0-9_-]+)*$")
TEMPLATE_MARKERS = (".example", ".sample", ".template", ".dist", ".defaults")
_PLACEHOLDER = re.compile(r"^(|changeme|change-me|xxx+|your[-_].*|<.*>|\.\.\.|todo|replace.*|secret|password)$", re.I)


@dataclass
class DraftVariable:
    name: str
    type: str = "string"
    secret: bool = False
    required: bool = True
    sources: list[str] = field(default_factory=list)
    why: list[str] = field(default_factory=list)


@dataclass
class EnvDraft:
    variables: dict[str, DraftVariable] = field(default_factory=dict)
    example_files: list[str] = field(default_factory=list)
    local_files: list[str] = field(default_factory=list)


def _type_from_name(name: str) -> tuple[str, str] | None:
    upper = name.upper()
    if upper == "PORT" or upper.endswith("_PORT"):
        return "port", "the name says port"
    if upper.endswith(("_URL", "_URI", "_ENDPOINT", "_DSN")) or upper in ("DATABASE_URL", "REDIS_URL"):
        return "url", "the name says URL"
    if upper.endswith(("_EMAIL", "_MAIL_FROM")):
        return "email", "the name says e-mail"
    if upper.startswith(("ENABLE_", "DISABLE_")) or upper.endswith(("_ENABLED", "_DISABLED")) or upper == "DEBUG":
        return "bool", "the name says on/off"
    if upper.endswith(("_TIMEOUT", "_TTL")):
        return "duration", "the name says a duration"
    return None


def _type_from_value(value: str) -> tuple[str, str] | None:
    if not value or _PLACEHOLDER.match(value.strip()):
        return None
    parts = urllib.parse.urlsplit(value)
    if parts.scheme and parts.netloc:
        if parts.scheme == "https":
            return "https-url", "the example is an https:// URL"
        return "url", "the example is a URL"
    if value.lower() in ("true", "false"):
        return "bool", "the example is true/false"
    if value.isdigit() and len(value) < 10:
        return "int", "the example is a whole number"
    return None


class SecretJudge:
    """The env check's value rules and the secrets check's detectors, asked the same question."""

    def __init__(self, rules: Mapping[str, Any]) -> None:
        from gate.checks.secrets.detectors import default_detectors

        self.values = ValueRules(rules)
        self.detectors = [d for d in default_detectors() if d.scanned and not d.generic]

    def name_says_secret(self, name: str) -> bool:
        return self.values.name_says_secret(name) or name.upper().endswith(guesses().secret_name_endings)

    def name_is_public(self, name: str) -> bool:
        return self.values.public_prefix(name) is not None

    def value_is_secret(self, name: str, value: str) -> bool:
        if not value or _PLACEHOLDER.match(value.strip()):
            return False
        if self.values.looks_secret(value) is not None:
            return True
        line = f'{name}="{value}"'
        for detector in self.detectors:
            try:
                if detector.plugin.analyze_line(filename=".env", line=line, line_number=1):
                    return True
            except Exception:  # noqa: BLE001 - a plugin's odd failure on odd input is "not this detector"
                continue
        return False


def _add(draft: EnvDraft, name: str, source: str) -> DraftVariable | None:
    if name not in draft.variables:
        if len(draft.variables) >= MAX_VARIABLES:
            return None
        draft.variables[name] = DraftVariable(name)
    variable = draft.variables[name]
    if source not in variable.sources and len(variable.sources) < 3:
        variable.sources.append(source)
    return variable


def draft_manifest(files: ProjectFiles) -> EnvDraft:
    rules = load_rules()
    judge = SecretJudge(rules)
    ignored = set(rules["ignore_names"])
    draft = EnvDraft()
    env_files = [f for f in files.files if _EXAMPLE_FILE.search(f) and "/" not in f]
    for relative in env_files:
        is_template = relative.endswith(TEMPLATE_MARKERS)
        (draft.example_files if is_template else draft.local_files).append(relative)
        try:
            definitions, _bad = read_dotenv(files.root, relative)
        except InputError:
            continue
        for definition in definitions:
            variable = _add(draft, definition.name, f"{relative}:{definition.line}")
            if variable is None:
                continue
            if judge.value_is_secret(definition.name, definition.value):
                variable.secret = True
                variable.why.append(f"{relative} holds a secret-looking value (not copied)")
            elif variable.type == "string" and not judge.name_says_secret(definition.name):
                guess = _type_from_name(definition.name) or _type_from_value(definition.value)
                if guess and guess[0] == "url" and definition.value.startswith("https://"):
                    guess = ("https-url", "the name says URL and the example is https://")
                if guess:
                    variable.type, reason = guess
                    variable.why.append(reason)
    patterns = CodePatterns.from_rules(rules)
    for relative in files.files:
        compiled = patterns.by_extension.get("." + relative.rsplit(".", 1)[-1]) if "." in relative else None
        if not compiled or any(part in patterns.skip_dirs for part in relative.split("/")):
            continue
        for usage in scan_text(files.read(relative) or "", relative, compiled):
            if usage.name in ignored:
                continue
            variable = _add(draft, usage.name, f"{usage.path}:{usage.line}")
            if variable is not None and not any(s.startswith(tuple(env_files)) for s in variable.sources):
                # Read in code but declared in no example file: it may have a default.
                variable.required = False
    for variable in draft.variables.values():
        if judge.name_says_secret(variable.name) and not judge.name_is_public(variable.name):
            variable.secret = True
            variable.why.append("the name says secret")
        if variable.type == "string":
            guess = _type_from_name(variable.name)
            if guess:
                variable.type, reason = guess
                variable.why.append(reason)
        if variable.secret and variable.type not in ("url", "https-url"):
            variable.type = "non-empty"
    return draft
