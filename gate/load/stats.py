"""Exact percentiles over every sample, and the rule for when a percentile means something.

Every latency is kept (8 bytes each; a bounded run has at most a few hundred thousand), sorted
once, and read by nearest rank, the definition wrk, hey and HdrHistogram report. Nothing is
averaged or interpolated: the p95 is a latency some request really had.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

#: How many samples must lie at or beyond a percentile before it is judged. With 5, p50 needs 10
#: samples, p95 100 and p99 500: below that the "p99" of a run is little more than its maximum.
DEFAULT_TAIL_SAMPLES = 5
PERCENTILES = (0.50, 0.95, 0.99)


def percentile(ordered: Sequence[float], q: float) -> float:
    """The nearest-rank q-quantile (0 < q <= 1) of samples already sorted ascending."""
    if not ordered:
        raise ValueError("no samples")
    if not 0.0 < q <= 1.0:
        raise ValueError(f"quantile {q} is outside (0, 1]")
    rank = max(1, math.ceil(round(q * len(ordered), 9)))
    return ordered[rank - 1]


def samples_needed(q: float, tail: int = DEFAULT_TAIL_SAMPLES) -> int:
    """The fewest samples for which at least `tail` of them lie at or above the q-quantile."""
    return max(1, math.ceil(round(tail / (1.0 - q), 9))) if q < 1.0 else 1


def label(q: float) -> str:
    """`p50`, `p95`, `p99`, `p99.9`."""
    text = f"{q * 100:.3f}".rstrip("0").rstrip(".")
    return f"p{text}"


@dataclass(frozen=True)
class Latencies:
    """Sorted latencies in milliseconds with their exact percentiles."""

    ordered: tuple[float, ...]

    @classmethod
    def of(cls, values_ms: Iterable[float]) -> Latencies:
        return cls(tuple(sorted(values_ms)))

    @property
    def count(self) -> int:
        return len(self.ordered)

    def at(self, q: float) -> float | None:
        return percentile(self.ordered, q) if self.ordered else None

    def judgeable(self, q: float, tail: int = DEFAULT_TAIL_SAMPLES) -> bool:
        return self.count >= samples_needed(q, tail)

    @property
    def max(self) -> float | None:
        return self.ordered[-1] if self.ordered else None

    @property
    def mean(self) -> float | None:
        # Shown for context only; nothing is judged on a mean.
        return math.fsum(self.ordered) / self.count if self.ordered else None
