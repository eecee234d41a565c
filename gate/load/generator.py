"""The bounded load run: one cold request, a warm-up that is not counted, then the measured phase.

Two ways to apply load, as k6 names them:

* closed model (`Closed`): `concurrency` workers, each sending its next request when the last one
  ends. Simple, but a slow server slows the test down with it, so it under-samples slowness.
* open model (`Open`): requests are due at a fixed arrival rate whatever the server does, and
  latency is measured from the time each was *due*, not from when a connection was free to send it.
  A server that stalls for a second then shows a second of latency on every request due in that
  second (the "coordinated omission" correction wrk2 made known).

Everything is bounded: request count (`MAX_REQUESTS`), connections, per-request timeout and the
whole run's deadline. A request that times out, or is still waiting when the run's deadline comes,
is an error and keeps the latency it had reached, so timing out never makes a server look fast.

The run happens on its own thread with its own event loop (uvloop when installed), so that other
checks running on the gate's main loop neither slow it nor are slowed by it; `SelfMonitor` watches
that loop and the thread's CPU and says when the client, not the server, was the bottleneck.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

from gate.errors import InputError
from gate.load.monitor import DEFAULT_LIMITS, ClientHealth, HealthLimits, SelfMonitor
from gate.load.phase import Phase, Pool, Tally, run_closed, send_one
from gate.load.stats import Latencies
from gate.load.wire import Endpoint, Request, clock, connect, describe_connect_error, exchange

MAX_REQUESTS = 200_000
MAX_CONNECTIONS = 512
T = TypeVar("T")
# (requests done, requests planned or None for a duration-bound load)
LoadProgress = Callable[[int, int | None], None]
PROGRESS_EVERY_S = 0.5


@dataclass(frozen=True)
class Closed:
    """`concurrency` workers back to back, for `requests` requests or `duration_s` seconds."""

    concurrency: int
    requests: int | None = None
    duration_s: float | None = None

    def describe(self) -> str:
        return f"concurrency {self.concurrency}"


@dataclass(frozen=True)
class Open:
    """Requests due at `rate` per second for `requests` requests or `duration_s` seconds."""

    rate: float
    requests: int | None = None
    duration_s: float | None = None
    max_connections: int = 256

    def describe(self) -> str:
        return f"{self.rate:g} requests/s"

    def count(self) -> int:
        if self.requests is not None:
            return self.requests
        assert self.duration_s is not None
        return max(1, int(self.duration_s * self.rate))


@dataclass(frozen=True)
class LoadPlan:
    """How hard, how long and how bounded. `expect`: statuses that are a success (default: below 400)."""

    model: Closed | Open
    warmup: int = 10
    timeout_s: float = 10.0
    deadline_s: float = 120.0
    expect: frozenset[int] | None = None
    limits: HealthLimits = DEFAULT_LIMITS

    def __post_init__(self) -> None:
        model = self.model
        if (model.requests is None) == (model.duration_s is None):
            raise InputError(
                "a load needs exactly one of a request count or a duration", hint="set requests or duration"
            )
        if model.requests is not None and not 0 < model.requests <= MAX_REQUESTS:
            raise InputError(f"requests must be between 1 and {MAX_REQUESTS}", hint="lower the request count")
        if model.duration_s is not None and not 0 < model.duration_s <= self.deadline_s:
            raise InputError("the load duration must be positive and within the run's deadline", hint="shorten it")
        if isinstance(model, Closed) and not 0 < model.concurrency <= MAX_CONNECTIONS:
            raise InputError(f"concurrency must be between 1 and {MAX_CONNECTIONS}", hint="lower the concurrency")
        if isinstance(model, Open):
            if model.rate <= 0 or not 0 < model.max_connections <= MAX_CONNECTIONS:
                raise InputError(
                    f"an arrival rate must be positive with 1 to {MAX_CONNECTIONS} connections", hint="fix rate"
                )
            if model.count() > MAX_REQUESTS:
                raise InputError(f"rate x duration exceeds {MAX_REQUESTS} requests", hint="lower the rate or duration")
        if self.warmup < 0 or self.timeout_s <= 0:
            raise InputError("warmup must be >= 0 and timeout positive", hint="fix the load settings")

    def success(self, status: int) -> bool:
        return status in self.expect if self.expect is not None else 0 < status < 400


@dataclass(frozen=True)
class Cold:
    """The very first request, on a fresh connection, timed from the connect to the last byte."""

    ms: float | None
    status: int
    error: str | None


@dataclass(frozen=True)
class LoadResult:
    """What a bounded run measured. `latencies` covers every answered or timed-out request."""

    model: str
    requests: int
    errors: dict[str, int]
    latencies: Latencies
    duration_s: float
    cold: Cold
    health: ClientHealth
    client_bound: str | None
    truncated: bool = False

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    @property
    def error_rate(self) -> float | None:
        return self.error_count / self.requests if self.requests else None

    @property
    def rate(self) -> float:
        return self.requests / self.duration_s if self.duration_s > 0 else 0.0


async def _open(phase: Phase, plan: LoadPlan, model: Open, tally: Tally, monitor: SelfMonitor) -> None:
    loop = asyncio.get_running_loop()
    slots = asyncio.Semaphore(model.max_connections)
    interval = 1.0 / model.rate
    start = clock()
    in_flight: set[asyncio.Task[None]] = set()

    # Requests waiting for a connection are bounded too: past this backlog the dispatcher itself
    # waits, and the requests it then sends late still count from their due time.
    backlog = model.max_connections * 2
    room = asyncio.Event()

    def finished(task: asyncio.Task[None]) -> None:
        in_flight.discard(task)
        room.set()

    async def due_at(due: float, held_back: bool) -> None:
        deadline = due + plan.timeout_s
        if slots.locked():
            # Every connection is busy: the server is behind, and that wait is its latency.
            try:
                await asyncio.wait_for(slots.acquire(), max(0.0, deadline - clock()))
            except TimeoutError:
                tally.failed(f"timed out after {plan.timeout_s:g}s", due)
                return
        else:
            await slots.acquire()
            if not held_back:
                monitor.dispatched_late(clock() - due)
        try:
            await send_one(phase, due)
        finally:
            slots.release()

    try:
        for index in range(model.count()):
            due = start + index * interval
            held_back = False
            while len(in_flight) >= backlog:
                room.clear()
                await room.wait()
                held_back = True
            delay = due - clock()
            if delay > 0:
                await asyncio.sleep(delay)
            task = loop.create_task(due_at(due, held_back))
            in_flight.add(task)
            task.add_done_callback(finished)
        if in_flight:
            await asyncio.gather(*in_flight)
    finally:
        # Cut off by the run's deadline: nothing may outlive the run on its loop.
        phase.over = True
        for task in list(in_flight):
            task.cancel()
        await asyncio.gather(*in_flight, return_exceptions=True)


async def _cold(endpoint: Endpoint, request: Request, plan: LoadPlan) -> Cold:
    started = clock()
    try:
        connection = await connect(endpoint, timeout=min(plan.timeout_s, plan.deadline_s))
    except (TimeoutError, OSError) as error:
        return Cold(None, 0, describe_connect_error(error))
    try:
        answer = await exchange(connection, request, timeout=min(plan.timeout_s, plan.deadline_s))
    finally:
        connection.abort()
    if answer.error is not None:
        return Cold(None, answer.status, answer.error)
    failed = None if plan.success(answer.status) else f"status {answer.status}"
    return Cold((answer.t_end - started) * 1000.0, answer.status, failed)


async def _bounded(coroutine: Coroutine[Any, Any, T], seconds: float) -> tuple[T | None, bool]:
    try:
        return await asyncio.wait_for(coroutine, seconds), False
    except TimeoutError:
        return None, True


async def _watch(tally: Tally, planned: int | None, progress: LoadProgress) -> None:
    """Says how many requests are done every so often; polled, so the request path pays nothing."""
    while True:
        progress(tally.requests, planned)
        await asyncio.sleep(PROGRESS_EVERY_S)


async def load(
    endpoint: Endpoint, request: Request, plan: LoadPlan, progress: LoadProgress | None = None
) -> LoadResult:
    """Run `plan` against one request on the current event loop. Prefer `run_load` from other code.

    `progress`, if given, hears (requests done, requests planned or None) during the measured phase.
    """
    run_deadline = clock() + plan.deadline_s
    pool = Pool(endpoint, plan.timeout_s)
    tally = Tally(plan.expect)
    monitor = SelfMonitor()
    model = plan.model
    planned: int | None = None
    watcher: asyncio.Future[None] | None = None
    try:
        cold = await _cold(endpoint, request, plan)
        if plan.warmup:
            lanes = model.concurrency if isinstance(model, Closed) else min(model.max_connections, 8)
            warming = run_closed(Phase(pool, request, None, plan.timeout_s), lanes, plan.warmup, None, MAX_REQUESTS)
            await _bounded(warming, run_deadline - clock())
        monitor.start()
        started = clock()
        measured = Phase(pool, request, tally, plan.timeout_s)
        if isinstance(model, Closed):
            stop_at = started + model.duration_s if model.duration_s is not None else None
            phase = run_closed(measured, model.concurrency, model.requests, stop_at, MAX_REQUESTS)
        else:
            phase = _open(measured, plan, model, tally, monitor)
        planned = model.requests if isinstance(model, Closed) else model.count()
        if progress is not None:
            watcher = asyncio.ensure_future(_watch(tally, planned, progress))
        _, truncated = await _bounded(phase, max(0.0, run_deadline - clock()))
        duration = clock() - started
        health = await monitor.stop()
    finally:
        pool.close()
        if progress is not None and watcher is not None:
            watcher.cancel()
            progress(tally.requests, planned)
    if truncated:
        # A duration-bound run counts what was in flight at the cut; a count-bound one, all it still owed.
        missing = max(0, planned - tally.requests) if planned is not None else tally.pending
        if missing:
            tally.errors["not finished before the run's deadline"] += missing
            tally.requests += missing
    latencies = Latencies.of(tally.latencies_ms)
    return LoadResult(
        model=model.describe(),
        requests=tally.requests,
        errors=dict(tally.errors),
        latencies=latencies,
        duration_s=duration,
        cold=cold,
        health=health,
        client_bound=health.bottleneck(latencies.at(0.5), plan.limits),
        truncated=truncated,
    )


def new_loop() -> asyncio.AbstractEventLoop:
    """uvloop when installed: measured about four times the request rate of asyncio's own loop."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency on the platforms it supports
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def run_in_own_loop(function: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine on a fresh loop in the calling thread and close the loop after."""
    loop = new_loop()
    try:
        return loop.run_until_complete(function())
    finally:
        with contextlib.suppress(RuntimeError):
            loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


async def run_load(
    endpoint: Endpoint, request: Request, plan: LoadPlan, progress: LoadProgress | None = None
) -> LoadResult:
    """Run `plan` on its own thread and loop, so the caller's loop neither slows it nor is slowed."""
    return await asyncio.to_thread(run_in_own_loop, lambda: load(endpoint, request, plan, progress))
