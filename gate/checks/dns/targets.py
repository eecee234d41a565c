"""The domains one run checks, each with the settings gate.yml gives it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Target:
    """One domain to check, with the settings gate.yml gives it."""

    domain: str
    settings: Mapping[str, Any]


def targets(config: Mapping[str, Any]) -> tuple[list[Target], list[str]]:
    """The domains to check, and those `domains` lists that `domain` (or --domain) leaves out.

    Each entry of `domains` takes the top-level `caa`, `email` and `dnssec` as defaults (the
    preset's thresholds live there); its host map and canonical host are its own.
    """
    entries = {str(e["domain"]).lower().rstrip("."): e for e in config.get("domains", ())}
    chosen = config.get("domain")
    if chosen:
        name = str(chosen).lower().rstrip(".")
        picked = {name: entries.get(name, config)}
    else:
        picked = entries
    checked = [Target(name, _settings(config, entry)) for name, entry in picked.items()]
    return checked, [name for name in entries if name not in picked]


def _settings(config: Mapping[str, Any], entry: Mapping[str, Any]) -> dict[str, Any]:
    settings: dict[str, Any] = {"dnssec": entry.get("dnssec", config.get("dnssec", True))}
    for key in ("caa", "email"):
        settings[key] = {**config.get(key, {}), **entry.get(key, {})}
    for key in ("hosts", "canonical"):
        settings[key] = entry.get(key)
    return settings
