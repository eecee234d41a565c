"""What is wrong with the declared variables, the code's reads and each environment's values.

No value is ever quoted in a finding: a secret one is registered with the redactor and shown
only as redacted evidence, the rest are described ("is not an https:// URL").
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from gate import redact
from gate.checks.env.manifest import Manifest, VariableSpec
from gate.checks.env.rules import RULES
from gate.checks.env.sources import Definition
from gate.checks.env.targets import Target
from gate.checks.env.usage import Usage
from gate.checks.env.values import ValueRules, format_problem
from gate.model import Finding, Location, Severity


def _location(definition: Definition) -> Location:
    if definition.line is None:
        return Location(name=f"{definition.source} {definition.name}")
    return Location(path=definition.source, line=definition.line)


@dataclass(frozen=True)
class Judge:
    """The manifest and the tunable value rules every judgement reads; `ignored` names are never reported."""

    manifest: Manifest
    values: ValueRules
    ignored: set[str]

    @property
    def manifest_name(self) -> str:
        return Path(str(self.manifest.path)).name

    def unreadable_sources(self, unreadable: Iterable[tuple[str, str]]) -> Iterator[Finding]:
        for path, reason in unreadable:
            yield RULES.finding(
                "env.unreadable-source",
                f"{path} was not read ({reason}); the variables it reads are unknown.",
                location=Location(path=path),
            )

    def undeclared_in_code(self, usages: Iterable[Usage]) -> Iterator[Finding]:
        reported: set[str] = set()
        for usage in usages:
            if usage.name in self.manifest.variables or usage.name in self.ignored or usage.name in reported:
                continue
            reported.add(usage.name)
            yield RULES.finding(
                "env.undeclared-in-code",
                f"{usage.name} is read here but is not declared in {self.manifest_name}.",
                location=Location(path=usage.path, line=usage.line),
                subject=usage.name,
            )

    def declared_public_secrets(self) -> Iterator[Finding]:
        for spec in self.manifest.variables.values():
            public = self.values.public_prefix(spec.name)
            if public and spec.secret:
                yield RULES.finding(
                    "env.public-secret",
                    f"{spec.name} is declared secret but its {public[0]} prefix makes {public[1]} ship it to "
                    "every browser.",
                    location=Location(path=str(spec.position.path), line=spec.position.line),
                    subject=spec.name,
                )

    def no_sources(self) -> Finding:
        return RULES.finding(
            "env.no-sources",
            "No .env files matching the manifest's environments were found, and gate.yml names no "
            "other source, so no value was checked.",
            location=Location(path=self.manifest_name),
        )

    def target(self, target: Target) -> Iterator[Finding]:
        env = target.environment
        for bad in target.bad_lines:
            yield RULES.finding(
                "env.malformed-line",
                f"{bad.reason}; loaders skip it, so whatever it defines is missing in {env}.",
                location=Location(path=bad.source, line=bad.line),
                subject=f"{env}:{bad.line}",
            )
        latest: dict[str, Definition] = {}
        for definition in target.definitions:
            self._register_if_secret(definition)
            earlier = latest.get(definition.name)
            if earlier is not None:
                yield _duplicate(env, earlier, definition)
            latest[definition.name] = definition
        for name, spec in self.manifest.variables.items():
            if env in spec.required_in and name not in latest:
                where = ", ".join(target.sources) or "no source"
                yield RULES.finding(
                    "env.missing-required",
                    f"{name} is required in {env} but is not set in {where}.",
                    location=Location(path=str(spec.position.path), line=spec.position.line),
                    subject=f"{env}:{name}",
                )
        production = env in self.manifest.production
        for name, definition in latest.items():
            declared = self.manifest.variables.get(name)
            yield from self._against_manifest(definition, declared, env)
            yield from self._public_secret(definition, declared, env)
            if production:
                yield from self._in_production(definition, env)

    def _register_if_secret(self, definition: Definition) -> None:
        spec = self.manifest.variables.get(definition.name)
        if (
            (spec and spec.secret)
            or self.values.name_says_secret(definition.name)
            or self.values.looks_secret(definition.value)
        ):
            redact.register(definition.value)

    def _against_manifest(self, definition: Definition, spec: VariableSpec | None, env: str) -> Iterator[Finding]:
        name, subject = definition.name, f"{env}:{definition.name}"
        if spec is None:
            if name not in self.ignored:
                yield RULES.finding(
                    "env.not-in-manifest",
                    f"{name} is set for {env} but not declared in {self.manifest_name}.",
                    location=_location(definition),
                    subject=subject,
                )
            return
        problem = format_problem(spec, definition.value)
        if problem:
            yield RULES.finding(
                "env.invalid-value",
                f"The value of {name} for {env} {problem} (expected type: {spec.type}).",
                location=_location(definition),
                subject=subject,
            )

    def _public_secret(self, definition: Definition, spec: VariableSpec | None, env: str) -> Iterator[Finding]:
        name, value = definition.name, definition.value
        public = self.values.public_prefix(name)
        look = self.values.looks_secret(value)
        if public and not (spec and spec.secret) and (look or self.values.name_says_secret(name[len(public[0]) :])):
            kind = look.kind if look else "secret-named value"
            yield RULES.finding(
                "env.public-secret",
                f"{name} holds a {kind}, and its {public[0]} prefix makes {public[1]} ship it to every browser.",
                location=_location(definition),
                subject=f"{env}:{name}",
                evidence=redact.evidence(value, kind, look.public_prefix if look else 0),
            )

    def _in_production(self, definition: Definition, env: str) -> Iterator[Finding]:
        name, value = definition.name, definition.value
        location, subject = _location(definition), f"{env}:{name}"
        for host in self.values.hosts_in(value):
            if self.values.is_local(host):
                rule, why = "env.local-address-in-production", "which is not reachable as a production service"
            elif self.values.is_staging(host):
                rule, why = "env.staging-host-in-production", "a staging or test host"
            else:
                continue
            yield RULES.finding(rule, f"{name} for {env} points at {host}, {why}.", location=location, subject=subject)
            break
        test_kind = self.values.test_credential(value)
        if test_kind:
            yield RULES.finding(
                "env.test-credential-in-production",
                f"{name} for {env} holds a {test_kind}.",
                location=location,
                subject=subject,
                evidence=redact.evidence(value, test_kind, 8) if self.values.looks_secret(value) else None,
            )


def _duplicate(env: str, earlier: Definition, definition: Definition) -> Finding:
    differs = earlier.value != definition.value
    return RULES.finding(
        "env.duplicate-definition",
        f"{definition.name} is defined for {env} both at {_location(earlier)} and here"
        + (", with different values; the last one loaded wins." if differs else ", with the same value."),
        severity=Severity.MEDIUM if differs else Severity.LOW,
        location=_location(definition),
        subject=f"{env}:{definition.name}",
        details={"first": str(_location(earlier))},
    )
