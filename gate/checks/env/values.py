"""Judging one value: its format, whether it looks secret, local or meant for test."""

from __future__ import annotations

import ipaddress
import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gate.checks.env.manifest import VariableSpec, user_pattern
from gate.config import units

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_HOSTISH = re.compile(r"^[A-Za-z0-9.-]+(:\d+)?$")
_TRUE_FALSE = {"true", "false", "1", "0", "yes", "no", "on", "off"}


def _is_url(value: str, https_only: bool) -> bool:
    parsed = urllib.parse.urlparse(value)
    if https_only:
        return parsed.scheme == "https" and bool(parsed.hostname)
    return bool(parsed.scheme) and bool(parsed.netloc)


def _int_in_range(value: str, low: int | None, high: int | None) -> str | None:
    try:
        number = int(value)
    except ValueError:
        return "is not a whole number"
    if low is not None and number < low:
        return f"is below the minimum {low}"
    if high is not None and number > high:
        return f"is above the maximum {high}"
    return None


def format_problem(spec: VariableSpec, value: str) -> str | None:
    """Why the value does not fit the declared type, without ever quoting the value."""
    kind = spec.type
    if kind == "string":
        return None
    if kind == "non-empty":
        return None if value.strip() else "is empty"
    if kind == "url":
        return None if _is_url(value, False) else "is not a URL (scheme://host/...)"
    if kind == "https-url":
        return None if _is_url(value, True) else "is not an https:// URL"
    if kind == "email":
        return None if _EMAIL.match(value) else "is not an email address"
    if kind == "int":
        return _int_in_range(value.strip(), spec.minimum, spec.maximum)
    if kind == "port":
        return _int_in_range(value.strip(), spec.minimum or 1, spec.maximum or 65535)
    if kind == "bool":
        return None if value.strip().lower() in _TRUE_FALSE else "is not true/false"
    if kind == "enum":
        return None if value in spec.values else f"is not one of: {', '.join(spec.values)}"
    if kind == "regex":
        assert spec.pattern is not None
        return None if user_pattern(spec.pattern).fullmatch(value) else f"does not match the pattern {spec.pattern}"
    if kind == "duration":
        return None if units.is_duration(value) else "is not a duration like 300ms or 2s"
    raise AssertionError(f"unknown type {kind}")


@dataclass(frozen=True)
class SecretLook:
    kind: str
    public_prefix: int


class ValueRules:
    """The data in rules/env/rules.yml, compiled once."""

    def __init__(self, rules: Mapping[str, Any]) -> None:
        self.public_prefixes: list[tuple[str, str]] = [(p["prefix"], p["framework"]) for p in rules["public_prefixes"]]
        self.secret_words: list[str] = list(rules["secret_name_words"])
        self.secret_values = [
            (re.compile(e["pattern"]), e["kind"], int(e.get("public_prefix", 0))) for e in rules["secret_values"]
        ]
        self.public_values = [re.compile(p) for p in rules["public_values"]]
        self.test_credentials: list[tuple[re.Pattern[str], str]] = [
            (re.compile(e["pattern"]), str(e["kind"])) for e in rules["test_credentials"]
        ]
        self.staging_words = set(rules["staging_host_words"])
        self.local_hosts = set(rules["local_hosts"])
        self.local_suffixes = tuple(rules["local_host_suffixes"])

    def public_prefix(self, name: str) -> tuple[str, str] | None:
        for prefix, framework in sorted(self.public_prefixes, key=lambda p: -len(p[0])):
            if name.startswith(prefix):
                return prefix, framework
        return None

    def name_says_secret(self, name: str) -> bool:
        upper = name.upper()
        return any(word in upper for word in self.secret_words)

    def looks_secret(self, value: str) -> SecretLook | None:
        if any(p.search(value) for p in self.public_values):
            return None
        for pattern, kind, prefix in self.secret_values:
            if pattern.search(value):
                return SecretLook(kind, prefix)
        return None

    def test_credential(self, value: str) -> str | None:
        for pattern, kind in self.test_credentials:
            if pattern.search(value):
                return kind
        return None

    def hosts_in(self, value: str) -> list[str]:
        """Host names a value points at: URLs anywhere in it, or the value itself as host[:port]."""
        hosts = []
        for token in re.split(r"[\s,;]+", value.strip()):
            if "://" in token:
                try:
                    host = urllib.parse.urlparse(token).hostname
                except ValueError:
                    host = None
                if host:
                    hosts.append(host.lower())
            elif _HOSTISH.match(token) and ("." in token or token.split(":")[0] in self.local_hosts):
                hosts.append(token.rsplit(":", 1)[0].lower() if token.count(":") == 1 else token.lower())
        return hosts

    def is_local(self, host: str) -> bool:
        if host in self.local_hosts or host.endswith(self.local_suffixes):
            return True
        try:
            address = ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            return False
        return address.is_loopback or address.is_private or address.is_unspecified or address.is_link_local

    def is_staging(self, host: str) -> bool:
        labels = re.split(r"[.-]", host)
        return any(label in self.staging_words for label in labels[:-1])
