"""What every faulted run must show: a closed verdict, a named cause, bounded time and memory."""

from __future__ import annotations

from collections.abc import Iterable

from helpers import Outcome

from faults.peers import Bounds

# Generous for a loaded 2-core CI box: the budgets are what the gate promises plus slack, and
# each is far below what a hang (the test's own timeout) or an unbounded read would take.
MEMORY_BUDGET = 64 * 1024 * 1024


def fails_closed(
    outcome: Outcome,
    bounds: Bounds,
    causes: Iterable[str],
    *,
    codes: tuple[int, ...] = (3,),
    seconds: float = 20.0,
    memory: int = MEMORY_BUDGET,
) -> None:
    """The run was blocked (never a pass), said why, and stayed within time and memory."""
    assert outcome.exit_code in codes, outcome.output
    assert outcome.exit_code != 0
    assert "Traceback" not in outcome.output, outcome.output
    for cause in causes:
        assert cause in outcome.output, f"{cause!r} not in:\n{outcome.output}"
    assert bounds.seconds < seconds, f"took {bounds.seconds:.1f}s"
    assert bounds.peak_bytes < memory, f"peak {bounds.peak_bytes} bytes"
