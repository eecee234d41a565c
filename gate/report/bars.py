"""A measured value against its limit, as a number and a small text bar, shared by the console and job summary."""

from __future__ import annotations

BAR_WIDTH = 20


def bar(value: float | None, limit: float | None, width: int = BAR_WIDTH) -> str:
    """A fixed-width bar of value against limit; the limit is marked with │ where it falls."""
    if value is None or limit is None or limit <= 0 or value < 0:
        return ""
    scale = max(value, limit)
    filled = round(width * value / scale)
    mark = round(width * limit / scale)
    cells = ["█" if i < filled else "░" for i in range(width)]
    cells.insert(mark, "│")
    return "".join(cells)


def number(value: float | None, unit: str) -> str:
    """A measured value or limit for people: ratios as percentages, three significant digits below 10."""
    if value is None:
        return "n/a"
    if unit == "ratio":
        return f"{value * 100:.2f}%"
    return f"{value:.0f} {unit}" if abs(value) >= 10 else f"{value:.3g} {unit}"
