"""Durations and percentages as people write them in gate.yml (`300ms`, `2s`, `1%`)."""

from __future__ import annotations

import re

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)\s*$")
_PERCENT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%\s*$")
_SCALE = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}

DURATION_HINT = "write a duration with its unit, like 300ms, 2s, 1.5s or 5m"
PERCENT_HINT = "write a percentage with a % sign, like 1% or 0.5%"


def is_duration(value: object) -> bool:
    return isinstance(value, str) and _DURATION.match(value) is not None


def is_percent(value: object) -> bool:
    if not isinstance(value, str):
        return False
    match = _PERCENT.match(value)
    return match is not None and float(match.group(1)) <= 100.0


def seconds(value: str) -> float:
    """A duration string in seconds; the schema has already checked its form."""
    match = _DURATION.match(value)
    if match is None:
        raise ValueError(f"not a duration: {value!r}")
    return float(match.group(1)) * _SCALE[match.group(2)]


def milliseconds(value: str) -> float:
    return seconds(value) * 1000.0


def fraction(value: str) -> float:
    """A percentage string as a fraction of one (`1%` is 0.01)."""
    match = _PERCENT.match(value)
    if match is None:
        raise ValueError(f"not a percentage: {value!r}")
    return float(match.group(1)) / 100.0
