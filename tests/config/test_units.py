"""Durations and percentages as gate.yml writes them."""

from __future__ import annotations

import pytest

from gate.config import units


@pytest.mark.parametrize(
    ("text", "expected"), [("300ms", 0.3), ("2s", 2.0), ("1.5s", 1.5), ("5m", 300.0), ("1h", 3600.0)]
)
def test_durations_convert_to_seconds(text: str, expected: float) -> None:
    assert units.is_duration(text)
    assert units.seconds(text) == pytest.approx(expected)
    assert units.milliseconds(text) == pytest.approx(expected * 1000)


@pytest.mark.parametrize("text", ["300", "3 seconds", "-1s", "1d", "", "ms"])
def test_malformed_durations_are_refused(text: str) -> None:
    assert not units.is_duration(text)
    with pytest.raises(ValueError, match="not a duration"):
        units.seconds(text)


def test_non_strings_are_not_durations_or_percentages() -> None:
    assert not units.is_duration(300)
    assert not units.is_percent(1)


@pytest.mark.parametrize(("text", "expected"), [("1%", 0.01), ("0.5%", 0.005), ("100%", 1.0)])
def test_percentages_convert_to_fractions(text: str, expected: float) -> None:
    assert units.is_percent(text)
    assert units.fraction(text) == pytest.approx(expected)


@pytest.mark.parametrize("text", ["1", "101%", "one%", "%"])
def test_malformed_percentages_are_refused(text: str) -> None:
    assert not units.is_percent(text)
    if not text.endswith("%") or text == "%" or "one" in text:
        with pytest.raises(ValueError, match="not a percentage"):
            units.fraction(text)
