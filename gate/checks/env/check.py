"""The `env` check: environment variables against a manifest, per environment.

No value is ever quoted in a finding: a secret one is registered with the redactor and shown
only as redacted evidence, the rest are described ("is not an https:// URL").
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import yaml

from gate import redact
from gate.checks.base import Check, CheckContext, CheckOption, Result, RuleDoc
from gate.checks.env.manifest import Manifest, VariableSpec, load_manifest
from gate.checks.env.sources import (
    BadLine,
    Definition,
    read_dotenv,
    read_platform_export,
    read_process,
    require_file,
)
from gate.checks.env.usage import CodePatterns, scan_tree
from gate.checks.env.values import ValueRules, format_problem
from gate.model import Location, Severity
from gate.rules_data import rules_file

TEMPLATE_SUFFIXES = (".example", ".sample", ".template", ".dist", ".defaults")

_R = RuleDoc
RULES = (
    _R(
        "env.missing-required",
        "Required environment variable is not set",
        Severity.HIGH,
        "The app reads this variable at runtime; without it the first request that needs it fails, in "
        "front of users, instead of the deploy failing early.",
        "Set the variable for this environment in your hosting platform (and in the .env file for local "
        "runs), or mark it `required: false` in the manifest if the app really copes without it.",
    ),
    _R(
        "env.invalid-value",
        "Environment variable has the wrong format",
        Severity.HIGH,
        "A malformed value (a URL without scheme, a port that is not a number) passes the deploy and "
        "breaks at runtime.",
        "Correct the value where it is defined; the manifest says which format is expected.",
    ),
    _R(
        "env.public-secret",
        "Secret behind a public client prefix",
        Severity.CRITICAL,
        "Frameworks inline variables with public prefixes (NEXT_PUBLIC_, VITE_, EXPO_PUBLIC_, ...) into "
        "the JavaScript bundle; every visitor can read them.",
        "Rotate the secret now, rename the variable without the public prefix, and read it only on the "
        "server (an API route or server action) instead of in client code.",
    ),
    _R(
        "env.local-address-in-production",
        "Production value points at a local address",
        Severity.HIGH,
        "localhost, 127.0.0.1, 0.0.0.0 and *.local mean the server itself or a developer's machine; in "
        "production the feature that uses it is simply broken.",
        "Point the variable at the production service's real host name.",
    ),
    _R(
        "env.test-credential-in-production",
        "Test or sandbox credential in production",
        Severity.HIGH,
        "A test-mode key in production means payments or messages silently do nothing real.",
        "Use the live credential for production and keep test keys to development and preview.",
    ),
    _R(
        "env.staging-host-in-production",
        "Production value points at a staging host",
        Severity.HIGH,
        "Production talking to staging mixes real customers' data with test systems, and a staging "
        "token that opens production is a breach waiting to happen.",
        "Point production at production services; give staging its own credentials.",
    ),
    _R(
        "env.duplicate-definition",
        "Variable defined more than once",
        Severity.MEDIUM,
        "When two files define the same variable, which one wins depends on load order; a different "
        "value in each is a bug that only shows in one environment.",
        "Keep one definition per environment and delete the other.",
    ),
    _R(
        "env.malformed-line",
        "Line in an env file is not KEY=VALUE",
        Severity.MEDIUM,
        "dotenv loaders skip lines they cannot parse, so the variable on it is silently missing.",
        "Write the line as KEY=VALUE; quote values that contain spaces or #.",
    ),
    _R(
        "env.undeclared-in-code",
        "Code reads a variable the manifest does not declare",
        Severity.MEDIUM,
        "An undeclared variable is set nowhere on purpose: the first deploy to a new environment "
        "breaks and nobody knows why.",
        "Declare the variable in the env manifest with its type and where it is required.",
    ),
    _R(
        "env.not-in-manifest",
        "Env file sets a variable the manifest does not declare",
        Severity.LOW,
        "Unknown variables are usually leftovers or typos of a declared name.",
        "Declare it in the manifest, or delete it from the file.",
    ),
    _R(
        "env.unreadable-source",
        "A source file could not be read for variable reads",
        Severity.MEDIUM,
        "The variables that file reads are unknown: one of them may be missing from the manifest and "
        "from production. A FIFO or device is never opened, since reading it could block or never end.",
        "Replace it with a regular file, make it readable, or leave its folder out of checks.env.code.",
    ),
    _R(
        "env.no-sources",
        "No environment values to check",
        Severity.MEDIUM,
        "Without a .env file, platform export or process environment, nothing proves the required variables are set.",
        "List sources under checks.env.targets in gate.yml (files, platform_export or process: true).",
    ),
)


def load_rules() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(rules_file("env", "rules.yml").read_text())
    return data


@dataclass
class _Target:
    environment: str
    definitions: list[Definition] = field(default_factory=list)
    bad_lines: list[BadLine] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)


def _location(definition: Definition) -> Location:
    if definition.line is None:
        return Location(name=f"{definition.source} {definition.name}")
    return Location(path=definition.source, line=definition.line)


class EnvCheck(Check):
    name = "env"
    summary = "Environment variables against a manifest: present, well-formed, no secret made public."
    rules = RULES
    options = (
        CheckOption("--manifest", "manifest", "Env manifest file, relative to the project root.", metavar="FILE"),
        CheckOption(
            "--process-env",
            "process_environment",
            "Also check the process environment as this environment (e.g. production).",
            metavar="ENV",
        ),
    )
    config_schema: ClassVar[Mapping[str, Any]] = {
        "properties": {
            "manifest": {
                "type": "string",
                "format": "repo-path",
                "description": "Env manifest file (default env.manifest.yml).",
            },
            "environments": {"type": "array", "items": {"type": "string"}},
            "production": {"type": "array", "items": {"type": "string"}},
            "variables": {"type": "object", "description": "Inline manifest: same shape as env.manifest.yml."},
            "process_environment": {
                "type": "string",
                "description": "Check the process environment as this environment.",
            },
            "targets": {
                "type": "array",
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["environment"],
                    "properties": {
                        "environment": {"type": "string"},
                        "files": {"$ref": "#/$defs/repo-paths"},
                        "platform_export": {"type": "string", "format": "repo-path"},
                        "process": {"type": "boolean"},
                    },
                },
            },
            "code": {
                "$ref": "#/$defs/repo-paths",
                "description": "Folders whose code is searched for variable reads ([] to skip).",
            },
        }
    }

    def prepare(self, ctx: CheckContext) -> None:
        self._rules = load_rules()
        self._manifest = load_manifest(ctx.root, ctx.config, ctx.config_path)
        for entry in ctx.config.get("targets", []):
            for relative in [
                *entry.get("files", []),
                *([entry["platform_export"]] if "platform_export" in entry else []),
            ]:
                require_file(ctx.root, relative)

    def run(self, ctx: CheckContext) -> Iterator[Result]:
        rules, manifest = self._rules, self._manifest
        value_rules = ValueRules(rules)
        ignored = set(rules["ignore_names"])
        ctx.progress.update("reading code for variable reads")
        unreadable: list[tuple[str, str]] = []
        usages = list(scan_tree(ctx.root, ctx.config.get("code", ["."]), CodePatterns.from_rules(rules), unreadable))
        for path, reason in unreadable:
            yield self.finding(
                "env.unreadable-source",
                f"{path} was not read ({reason}); the variables it reads are unknown.",
                location=Location(path=path),
            )
        yield from self._undeclared_in_code(manifest, usages, ignored)
        yield from self._declared_public_secrets(manifest, value_rules)
        targets = self._targets(ctx, manifest, {u.name for u in usages} | set(manifest.variables))
        if not targets:
            yield self.finding(
                "env.no-sources",
                "No .env files matching the manifest's environments were found, and gate.yml names no "
                "other source, so no value was checked.",
                location=Location(path=str(Path(str(manifest.path)).name)),
            )
        for target in targets:
            ctx.progress.update(f"checking {target.environment}")
            yield from self._check_target(target, manifest, value_rules, ignored)

    def _targets(self, ctx: CheckContext, manifest: Manifest, names: set[str]) -> list[_Target]:
        configured = ctx.config.get("targets")
        targets: list[_Target] = []
        if configured is None:
            configured = self._discover(ctx.root, manifest)
        for entry in configured:
            target = _Target(entry["environment"])
            for relative in entry.get("files", []):
                found, bad = read_dotenv(ctx.root, relative)
                target.definitions += found
                target.bad_lines += bad
                target.sources.append(relative)
            if "platform_export" in entry:
                found, bad = read_platform_export(ctx.root, entry["platform_export"])
                target.definitions += found
                target.bad_lines += bad
                target.sources.append(entry["platform_export"])
            if entry.get("process"):
                target.definitions += read_process(ctx.environ, names)
                target.sources.append("the process environment")
            targets.append(target)
        process_env = ctx.config.get("process_environment")
        if process_env:
            targets.append(
                _Target(process_env, list(read_process(ctx.environ, names)), [], ["the process environment"])
            )
        return targets

    @staticmethod
    def _discover(root: Path, manifest: Manifest) -> list[dict[str, Any]]:
        """`.env` is development; `.env.NAME` and `.env.NAME.local` belong to environment NAME."""
        found: list[dict[str, Any]] = []
        for environment in manifest.environments:
            names = [f".env.{environment}", f".env.{environment}.local"]
            if environment == "development":
                names = [".env", ".env.local", *names]
            files = [name for name in names if (root / name).is_file() and not (root / name).is_symlink()]
            if files:
                found.append({"environment": environment, "files": files})
        return found

    def _undeclared_in_code(self, manifest: Manifest, usages: list[Any], ignored: set[str]) -> Iterator[Result]:
        reported: set[str] = set()
        for usage in usages:
            if usage.name in manifest.variables or usage.name in ignored or usage.name in reported:
                continue
            reported.add(usage.name)
            yield self.finding(
                "env.undeclared-in-code",
                f"{usage.name} is read here but is not declared in {Path(str(manifest.path)).name}.",
                location=Location(path=usage.path, line=usage.line),
                subject=usage.name,
            )

    def _declared_public_secrets(self, manifest: Manifest, value_rules: ValueRules) -> Iterator[Result]:
        for spec in manifest.variables.values():
            public = value_rules.public_prefix(spec.name)
            if public and spec.secret:
                yield self.finding(
                    "env.public-secret",
                    f"{spec.name} is declared secret but its {public[0]} prefix makes {public[1]} ship it to "
                    "every browser.",
                    location=Location(path=str(spec.position.path), line=spec.position.line),
                    subject=spec.name,
                )

    def _check_target(
        self, target: _Target, manifest: Manifest, value_rules: ValueRules, ignored: set[str]
    ) -> Iterator[Result]:
        env = target.environment
        production = env in manifest.production
        for bad in target.bad_lines:
            yield self.finding(
                "env.malformed-line",
                f"{bad.reason}; loaders skip it, so whatever it defines is missing in {env}.",
                location=Location(path=bad.source, line=bad.line),
                subject=f"{env}:{bad.line}",
            )
        latest: dict[str, Definition] = {}
        for definition in target.definitions:
            spec = manifest.variables.get(definition.name)
            if (
                (spec and spec.secret)
                or value_rules.name_says_secret(definition.name)
                or value_rules.looks_secret(definition.value)
            ):
                redact.register(definition.value)
            earlier = latest.get(definition.name)
            if earlier is not None:
                differs = earlier.value != definition.value
                yield self.finding(
                    "env.duplicate-definition",
                    f"{definition.name} is defined for {env} both at {_location(earlier)} and here"
                    + (", with different values; the last one loaded wins." if differs else ", with the same value."),
                    severity=Severity.MEDIUM if differs else Severity.LOW,
                    location=_location(definition),
                    subject=f"{env}:{definition.name}",
                    details={"first": str(_location(earlier))},
                )
            latest[definition.name] = definition
        for name, spec in manifest.variables.items():
            if env in spec.required_in and name not in latest:
                where = ", ".join(target.sources) or "no source"
                yield self.finding(
                    "env.missing-required",
                    f"{name} is required in {env} but is not set in {where}.",
                    location=Location(path=str(spec.position.path), line=spec.position.line),
                    subject=f"{env}:{name}",
                )
        for name, definition in latest.items():
            yield from self._check_value(
                definition, manifest.variables.get(name), env, production, value_rules, ignored, manifest
            )

    def _check_value(
        self,
        definition: Definition,
        spec: VariableSpec | None,
        env: str,
        production: bool,
        value_rules: ValueRules,
        ignored: set[str],
        manifest: Manifest,
    ) -> Iterator[Result]:
        name, value = definition.name, definition.value
        location = _location(definition)
        subject = f"{env}:{name}"
        if spec is None:
            if name not in ignored:
                yield self.finding(
                    "env.not-in-manifest",
                    f"{name} is set for {env} but not declared in {Path(str(manifest.path)).name}.",
                    location=location,
                    subject=subject,
                )
        else:
            problem = format_problem(spec, value)
            if problem:
                yield self.finding(
                    "env.invalid-value",
                    f"The value of {name} for {env} {problem} (expected type: {spec.type}).",
                    location=location,
                    subject=subject,
                )
        public = value_rules.public_prefix(name)
        look = value_rules.looks_secret(value)
        if public and not (spec and spec.secret) and (look or value_rules.name_says_secret(name[len(public[0]) :])):
            kind = look.kind if look else "secret-named value"
            yield self.finding(
                "env.public-secret",
                f"{name} holds a {kind}, and its {public[0]} prefix makes {public[1]} ship it to every browser.",
                location=location,
                subject=subject,
                evidence=redact.evidence(value, kind, look.public_prefix if look else 0),
            )
        if not production:
            return
        for host in value_rules.hosts_in(value):
            if value_rules.is_local(host):
                rule, why = "env.local-address-in-production", "which is not reachable as a production service"
            elif value_rules.is_staging(host):
                rule, why = "env.staging-host-in-production", "a staging or test host"
            else:
                continue
            yield self.finding(rule, f"{name} for {env} points at {host}, {why}.", location=location, subject=subject)
            break
        test_kind = value_rules.test_credential(value)
        if test_kind:
            yield self.finding(
                "env.test-credential-in-production",
                f"{name} for {env} holds a {test_kind}.",
                location=location,
                subject=subject,
                evidence=redact.evidence(value, test_kind, 8) if value_rules.looks_secret(value) else None,
            )
