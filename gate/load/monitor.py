"""The gate watching itself while it loads a server, so its own slowness is never blamed on the server.

Two signals. Event-loop lag: a timer that should fire every few milliseconds and how late it
fires; a late timer means a response that arrived was also timestamped late. CPU of the load
thread: at one full core the client sets the pace, and every latency it reports includes its own
queueing. Either one past its limit makes the run "client-bound", and the budget is not judged.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field

from gate.load.stats import Latencies

TIMER_TICK_S = 0.001


@dataclass(frozen=True)
class HealthLimits:
    """When the client counts as the bottleneck. Lag is judged at its p95 so one OS hiccup is not enough."""

    max_cpu_ratio: float = 0.90
    lag_floor_ms: float = 5.0
    lag_share_of_latency: float = 0.05


DEFAULT_LIMITS = HealthLimits()


@dataclass(frozen=True)
class ClientHealth:
    """How the load thread fared: timer lag, late dispatches (open model) and CPU per wall second."""

    lag_p95_ms: float
    lag_max_ms: float
    lag_samples: int
    thread_cpu_ratio: float
    process_cpu_s: float
    wall_s: float
    dispatch_late_p95_ms: float = 0.0

    def bottleneck(self, typical_latency_ms: float | None, limits: HealthLimits = DEFAULT_LIMITS) -> str | None:
        """Why the client, not the server, limited this run; None when the numbers can be trusted."""
        if self.thread_cpu_ratio >= limits.max_cpu_ratio:
            return (
                f"the gate's load thread was busy {self.thread_cpu_ratio:.0%} of the run: "
                "it, not the server, set the pace; lower the concurrency or rate, or run the load from k6 or Locust"
            )
        allowed = max(limits.lag_floor_ms, limits.lag_share_of_latency * (typical_latency_ms or 0.0))
        if self.lag_p95_ms > allowed:
            return (
                f"the gate's event loop ran {self.lag_p95_ms:.1f} ms late at p95 (allowed {allowed:.1f} ms): "
                "responses were timestamped late, so latencies would be inflated; "
                "the machine running the gate is too busy"
            )
        if self.dispatch_late_p95_ms > allowed:
            return (
                f"the gate sent requests {self.dispatch_late_p95_ms:.1f} ms behind schedule at p95 "
                f"(allowed {allowed:.1f} ms): it could not keep up the arrival rate"
            )
        return None


@dataclass
class SelfMonitor:
    """Samples event-loop lag every `interval` seconds on the running loop until stopped."""

    interval: float = 0.005
    _lags: list[float] = field(default_factory=list)
    _dispatch_late: list[float] = field(default_factory=list)
    _task: asyncio.Task[None] | None = None
    _wall0: float = 0.0
    _thread0: float = 0.0
    _process0: float = 0.0

    def start(self) -> None:
        self._wall0 = time.perf_counter()
        self._thread0 = time.thread_time()
        self._process0 = time.process_time()
        self._task = asyncio.get_running_loop().create_task(self._sample())

    def dispatched_late(self, seconds: float) -> None:
        """An open-model request left this long after its scheduled time although a connection was free."""
        self._dispatch_late.append(seconds * 1000.0)

    async def _sample(self) -> None:
        while True:
            before = time.perf_counter()
            await asyncio.sleep(self.interval)
            # uvloop's timers tick in whole milliseconds: up to one tick late is the timer, not lag.
            late = time.perf_counter() - before - self.interval - TIMER_TICK_S
            self._lags.append(max(0.0, late * 1000.0))

    async def stop(self) -> ClientHealth:
        wall = time.perf_counter() - self._wall0
        thread_cpu = time.thread_time() - self._thread0
        process_cpu = time.process_time() - self._process0
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        lags = Latencies.of(self._lags)
        late = Latencies.of(self._dispatch_late)
        return ClientHealth(
            lag_p95_ms=lags.at(0.95) or 0.0,
            lag_max_ms=lags.max or 0.0,
            lag_samples=lags.count,
            thread_cpu_ratio=thread_cpu / wall if wall > 0 else 0.0,
            process_cpu_s=process_cpu,
            wall_s=wall,
            dispatch_late_p95_ms=late.at(0.95) or 0.0,
        )
