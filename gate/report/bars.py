"""A measured value against its limit as a small text bar, shared by the console and job summary."""

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
