"""The detectors of the secrets check: detect-secrets' plugins plus plugins generated from data.

`rules/secrets/detectors.yml` names, for each detect-secrets plugin the gate uses, its rule id,
severity and prefilter keywords, and describes every extra detector (pattern, keywords,
severity). Extra detectors become real detect-secrets plugins (`RegexBasedDetector` subclasses),
so they run through the same `analyze_line` as detect-secrets' own.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from gate.errors import InputError, Position
from gate.model import Severity
from gate.rules_data import rules_file

_ESCAPE_OR_CLASS = re.compile(r"\\.|\[(?:\\.|[^\]\\])*\]")
_UNBOUNDED = re.compile(r"[+*]|\{\d+,\}")


@dataclass(frozen=True)
class Run:
    """A run of characters every match of a detector lies in: `chars` (a regex class), at least
    `length` long, right after a quote when `quoted`, with at least `distinct` different ones
    (a string of n different characters holds at most log2(n) bits of entropy)."""

    chars: str
    length: int
    quoted: bool = False
    distinct: int = 0


@dataclass(frozen=True)
class Detector:
    """One detect-secrets plugin instance and what the gate needs to know about it."""

    rule_id: str
    title: str
    severity: Severity
    plugin: Any
    # Lower-case ASCII byte strings; a line holding none of them cannot produce a match.
    keywords: tuple[bytes, ...]
    # Alternatives to keywords: a regex that finds every match, or a run of characters every
    # match lies in.
    trigger: re.Pattern[bytes] | None
    run: Run | None
    public_prefix: int
    generic: bool
    files: re.Pattern[str] | None
    fix: str | None
    # "pem": the match is a key's header and the value is the key body after it.
    body: str | None = None
    # The secret is UUID-shaped by design (a legacy Heroku key), so a UUID is no reason to drop it.
    uuid: bool = False
    # A URL password to a local or documentation host is reported at low severity, under
    # `local`: the index of this detector's low-severity twin.
    local: int | None = None
    # False for such a twin: it labels hits, it finds none.
    scanned: bool = True
    # A detector limited to some files sees every line of them, unless its keywords are common
    # enough that the prefilter finds its lines anyway (then reading every line would only cost).
    every_line: bool = True

    def applies_to(self, path: str) -> bool:
        return self.files is None or bool(self.files.search(path.rsplit("/", 1)[-1]))


def jwt_claims(token: str) -> Mapping[str, Any] | None:
    """The payload of a JWT-shaped string, or None when it does not decode to a JSON object."""
    parts = token.split(".")
    if len(parts) < 2:
        return None
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None
    return claims if isinstance(claims, dict) else None


def _plugin_class(spec: Mapping[str, Any], pattern: re.Pattern[str]) -> type[Any]:
    """A detect-secrets `RegexBasedDetector` for one data-defined detector."""
    from detect_secrets.plugins.base import RegexBasedDetector

    claims: Mapping[str, Any] = spec.get("jwt_claims") or {}
    is_jwt = "jwt_claims" in spec

    def analyze_string(self: Any, string: str) -> Any:
        for match in RegexBasedDetector.analyze_string(self, string):
            if is_jwt:
                payload = jwt_claims(match)
                if payload is None or any(payload.get(k) != v for k, v in claims.items()):
                    continue
            yield match

    name = "Gate" + "".join(part.title() for part in re.split(r"[^A-Za-z0-9]", spec["id"])) + "Detector"
    return type(
        name,
        (RegexBasedDetector,),
        {"secret_type": spec["title"], "denylist": (pattern,), "analyze_string": analyze_string},
    )


def _keywords(values: Iterable[str]) -> tuple[bytes, ...]:
    # ASCII-only lowering on both sides, so offsets in the lowered buffer match the original.
    return tuple(sorted({value.encode("utf-8").lower() for value in values}))


def _fail(where: str, message: str, hint: str) -> InputError:
    return InputError(message, Position(where), hint=hint)


def _builtin_plugins() -> dict[str, type[Any]]:
    import importlib
    import inspect
    import pkgutil

    import detect_secrets.plugins as package
    from detect_secrets.plugins.base import BasePlugin

    found: dict[str, type[Any]] = {}
    for module_info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"{package.__name__}.{module_info.name}")
        for name, value in inspect.getmembers(module, inspect.isclass):
            if issubclass(value, BasePlugin) and not inspect.isabstract(value) and value.__module__ == module.__name__:
                found[name] = value
    return found


def load_detectors(path: Path | None = None) -> tuple[Detector, ...]:
    """Every detector, keyed ones first so an overlapping generic hit loses to the specific one."""
    path = path or rules_file("secrets", "detectors.yml")
    where = str(path)
    data = yaml.safe_load(path.read_text())
    available = _builtin_plugins()
    detectors: list[Detector] = []
    for spec in data.get("detectors", []):
        pattern_text = spec["pattern"]
        if _UNBOUNDED.search(_ESCAPE_OR_CLASS.sub("", pattern_text)):
            raise _fail(
                where,
                f"detector {spec['id']}: pattern has an unbounded quantifier",
                "use {m,n} so the time a line can take stays bounded",
            )
        try:
            pattern = re.compile(pattern_text)
        except re.error as error:
            raise _fail(where, f"detector {spec['id']}: bad pattern: {error}", "fix the regex") from error
        if pattern.groups > 1:
            raise _fail(where, f"detector {spec['id']}: more than one capturing group", "use (?:...) for the others")
        detectors.append(_detector(spec, _plugin_class(spec, pattern)(), where))
    # After the gate's own, so where both match the same text the more precise one is kept.
    for name, spec in data.get("builtin", {}).items():
        if name not in available:
            raise _fail(
                where, f"detect-secrets has no plugin named {name}", "check the installed detect-secrets version"
            )
        detectors.append(_detector(spec, available[name](**spec.get("args", {})), where))
    detectors.sort(key=lambda d: d.generic)
    demoted = {f"secrets.{s['id']}" for s in rule_entries(data) if s.get("local_hosts") == "demote"}
    for index, detector in enumerate(list(detectors)):
        if detector.rule_id in demoted:
            detectors[index] = replace(detector, local=len(detectors))
            detectors.append(
                replace(
                    detector,
                    rule_id=detector.rule_id + LOCAL_SUFFIX,
                    title=local_title(detector.title),
                    severity=Severity.LOW,
                    keywords=(),
                    trigger=None,
                    run=None,
                    scanned=False,
                )
            )
    return tuple(detectors)


LOCAL_SUFFIX = "-local"


def local_title(title: str) -> str:
    return f"{title} to a local or example host"


def rule_entries(data: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Every detector entry of the rules file, detect-secrets' plugins first."""
    return [*data.get("builtin", {}).values(), *data.get("detectors", [])]


def _run(spec: Mapping[str, Any], where: str) -> Run:
    data = spec["run"]
    run = Run(str(data["chars"]), int(data["min"]), bool(data.get("quoted", False)), int(data.get("distinct", 0)))
    if run.quoted and any(re.fullmatch(f"[{run.chars}]", quote) for quote in "'\""):
        # The prefilter reads a quote as the start of a quoted run, never as part of one.
        raise _fail(where, f"detector {spec['id']}: run characters include a quote", "leave quotes out of chars")
    if run.distinct > run.length:
        raise _fail(where, f"detector {spec['id']}: run has more distinct characters than length", "lower distinct")
    return run


def _detector(spec: Mapping[str, Any], plugin: Any, where: str) -> Detector:
    keywords = _keywords(spec.get("keywords", ()))
    trigger = re.compile(spec["trigger"].encode()) if "trigger" in spec else None
    run = _run(spec, where) if "run" in spec else None
    if spec.get("local_hosts") not in (None, "demote"):
        raise _fail(
            where, f"detector {spec['id']}: unknown local_hosts value", "use `local_hosts: demote` or leave it out"
        )
    if spec.get("body") not in (None, "pem"):
        raise _fail(where, f"detector {spec['id']}: unknown body {spec['body']!r}", "use `body: pem` or leave it out")
    if not keywords and trigger is None and run is None:
        raise _fail(
            where,
            f"detector {spec['id']} has neither keywords nor trigger nor run",
            "add keywords the prefilter can use",
        )
    return Detector(
        rule_id=f"secrets.{spec['id']}",
        title=spec["title"],
        severity=Severity.parse(spec["severity"]),
        plugin=plugin,
        keywords=keywords,
        trigger=trigger,
        run=run,
        public_prefix=int(spec.get("public_prefix", 0)),
        generic=bool(spec.get("generic", False)),
        files=re.compile(spec["files"]) if "files" in spec else None,
        fix=spec.get("fix"),
        body=spec.get("body"),
        uuid=bool(spec.get("uuid", False)),
        every_line=bool(spec.get("every_line", True)),
    )


@cache
def default_detectors() -> tuple[Detector, ...]:
    return load_detectors()


@dataclass(frozen=True)
class FilterData:
    placeholder_fragments: tuple[str, ...]
    placeholder_values: frozenset[str]
    documented_examples: frozenset[str]
    example_jwt_payloads: tuple[Mapping[str, Any], ...]
    public_jwt_payloads: tuple[Mapping[str, Any], ...]
    local_hosts: frozenset[str]
    reserved_domains: tuple[str, ...]
    integrity_prefixes: tuple[str, ...]
    hash_words: tuple[str, ...]
    hash_lengths: frozenset[int]
    lock_files: frozenset[str]
    mask_run: re.Pattern[str]
    not_secret_shapes: tuple[re.Pattern[str], ...]
    public_values: tuple[re.Pattern[str], ...]
    public_names: tuple[str, ...]
    alphabet_share: float


@cache
def filter_data() -> FilterData:
    data = yaml.safe_load(rules_file("secrets", "filters.yml").read_text())
    return FilterData(
        placeholder_fragments=tuple(f.lower() for f in data["placeholder_fragments"]),
        placeholder_values=frozenset(v.lower() for v in data["placeholder_values"]),
        documented_examples=frozenset(data["documented_examples"]),
        example_jwt_payloads=tuple(data["example_jwt_payloads"]),
        public_jwt_payloads=tuple(data["public_jwt_payloads"]),
        local_hosts=frozenset(h.lower() for h in data["local_hosts"]),
        reserved_domains=tuple(d.lower() for d in data["reserved_domains"]),
        integrity_prefixes=tuple(data["integrity_prefixes"]),
        hash_words=tuple(data["hash_words"]),
        hash_lengths=frozenset(int(n) for n in data["hash_lengths"]),
        lock_files=frozenset(data["lock_files"]),
        mask_run=re.compile(r"(.)\1{" + str(int(data["mask_run"]) - 1) + "}"),
        not_secret_shapes=tuple(re.compile(p) for p in data["not_secret_shapes"]),
        public_values=tuple(re.compile(p) for p in data["public_values"]),
        public_names=tuple(n.lower() for n in data["public_names"]),
        alphabet_share=float(data["alphabet_share"]),
    )
