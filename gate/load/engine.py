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
from array import array
from collections import Counter
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

from gate.errors import InputError
from gate.load.monitor import DEFAULT_LIMITS, ClientHealth, HealthLimits, SelfMonitor
from gate.load.stats import Latencies
from gate.load.wire import (
    Connection,
    ConnectionLost,
    Endpoint,
    Exchange,
    Request,
    clock,
    connect,
    describe_connect_error,
)

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


@dataclass
class _Tally:
    plan: LoadPlan
    latencies_ms: array[float] = field(default_factory=lambda: array("d"))
    errors: Counter[str] = field(default_factory=Counter)
    requests: int = 0
    pending: int = 0

    def record(self, exchange: Exchange, started: float) -> None:
        self.requests += 1
        if exchange.error is not None:
            self.errors[_kind(exchange.error)] += 1
            if not exchange.status and not exchange.error.startswith("timed out"):
                return  # a refused or broken connection has no latency worth keeping
            end = exchange.t_end or clock()
        else:
            end = exchange.t_end
            if not self.plan.success(exchange.status):
                self.errors[f"status {exchange.status}"] += 1
        self.latencies_ms.append((end - started) * 1000.0)

    def failed(self, reason: str, started: float | None = None) -> None:
        self.requests += 1
        self.errors[_kind(reason)] += 1
        if started is not None:
            self.latencies_ms.append((clock() - started) * 1000.0)


def _kind(error: str) -> str:
    return "timeout" if error.startswith("timed out") else error


class _Pool:
    """Idle keep-alive connections, reused across the warm-up and the measured phase."""

    def __init__(self, endpoint: Endpoint, timeout: float) -> None:
        self.endpoint = endpoint
        self.timeout = timeout
        self.idle: list[Connection] = []
        self.all: list[Connection] = []

    def idle_one(self) -> Connection | None:
        while self.idle:
            connection = self.idle.pop()
            if connection.reusable:
                return connection
        return None

    async def new(self, timeout: float) -> Connection:
        connection = await connect(self.endpoint, timeout=min(timeout, self.timeout))
        self.all.append(connection)
        return connection

    def give(self, connection: Connection) -> None:
        if connection.reusable:
            self.idle.append(connection)

    def close(self) -> None:
        # Ends whatever is still in flight now, so that no request's timer outlives the run.
        for connection in self.all:
            connection.fail("the load run ended")


@dataclass
class _Phase:
    """What every request of one phase (the warm-up or the measured one) shares."""

    pool: _Pool
    request: Request
    tally: _Tally | None
    timeout_s: float
    # Set when the phase ends, by its own end or cut off by the run's deadline: a request still in
    # flight then is neither recorded nor followed by another; it stays pending and is counted so.
    over: bool = False
    timeout_reason: str = field(init=False)

    def __post_init__(self) -> None:
        self.timeout_reason = f"timed out after {self.timeout_s:g}s"


def _fly(phase: _Phase, connection: Connection, due: float, landed: Callable[[], None]) -> bool:
    """Send on `connection` now; when the answer ends, record it against `due` and call `landed`.

    It times out `phase.timeout_s` after `due`. False when the connection was lost before anything
    was sent (recorded as an error; `landed` is not called). `landed` runs inside the callback that
    ended the exchange.
    """
    tally = phase.tally

    def ended(exchange: Exchange) -> None:
        if phase.over:
            return
        phase.pool.give(connection)
        if tally is not None:
            tally.pending -= 1
            tally.record(exchange, due)
        landed()

    try:
        connection.send(
            phase.request, on_end=ended, deadline=due + phase.timeout_s, timeout_reason=phase.timeout_reason
        )
    except ConnectionLost as error:
        if tally is not None:
            tally.failed(str(error))
        return False
    if tally is not None:
        tally.pending += 1
    return True


async def _one(phase: _Phase, due: float) -> None:
    """Send one request on a pooled connection (a new one if none is idle), recording it against `due`."""
    connection = phase.pool.idle_one()
    if connection is None:
        try:
            connection = await phase.pool.new(max(0.0, due + phase.timeout_s - clock()))
        except (TimeoutError, OSError) as error:
            if phase.tally is not None:
                phase.tally.failed(describe_connect_error(error))
            return
    landed = connection.loop.create_future()
    if _fly(phase, connection, due, lambda: landed.set_result(None)):
        await landed


async def _closed(phase: _Phase, plan: LoadPlan, model: Closed, count: int | None, stop_at: float | None) -> None:
    """`model.concurrency` lanes, each sending its next request when its last one ends.

    A lane is a chain of callbacks, not a task: its next request leaves from the callback that
    ended the last one, on the connection that just came free. Only a lane that must open a
    connection waits in a task. This halves the client's cost per request against a fast server.
    """
    loop = asyncio.get_running_loop()
    tally = phase.tally
    finished: asyncio.Future[None] = loop.create_future()
    tickets = count
    lanes = model.concurrency if count is None else min(model.concurrency, count)
    connecting: set[asyncio.Task[None]] = set()

    def next_request() -> None:
        nonlocal tickets, lanes
        try:
            while not phase.over:
                if tickets is not None:
                    if tickets <= 0:
                        break
                    tickets -= 1
                if tally is not None and tally.requests >= MAX_REQUESTS:
                    break
                now = clock()
                if stop_at is not None and now >= stop_at:
                    break
                connection = phase.pool.idle_one()
                if connection is None:
                    task = loop.create_task(connect_first(now))
                    connecting.add(task)
                    task.add_done_callback(connecting.discard)
                    return
                if _fly(phase, connection, now, send_soon):
                    return
            lanes -= 1
            if lanes == 0 and not finished.done():
                finished.set_result(None)
        except Exception as error:  # noqa: BLE001 - a bug must end the phase, not silently stop one lane
            if not finished.done():
                finished.set_exception(error)

    def send_soon() -> None:
        loop.call_soon(next_request)

    async def connect_first(due: float) -> None:
        await _one(phase, due)
        next_request()

    for _ in range(lanes):
        next_request()
    try:
        await finished
    finally:
        phase.over = True
        for task in list(connecting):
            task.cancel()
        await asyncio.gather(*connecting, return_exceptions=True)


async def _open(phase: _Phase, plan: LoadPlan, model: Open, tally: _Tally, monitor: SelfMonitor) -> None:
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
            await _one(phase, due)
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
    loop = asyncio.get_running_loop()
    started = clock()
    try:
        connection = await connect(endpoint, timeout=min(plan.timeout_s, plan.deadline_s))
    except (TimeoutError, OSError) as error:
        return Cold(None, 0, describe_connect_error(error))
    try:
        sent = connection.send(request)
        limit = min(plan.timeout_s, plan.deadline_s)
        timer = loop.call_later(limit, connection.fail, f"timed out after {limit:g}s")
        try:
            exchange = await sent.done
        finally:
            timer.cancel()
    finally:
        connection.abort()
    if exchange.error is not None:
        return Cold(None, exchange.status, exchange.error)
    failed = None if plan.success(exchange.status) else f"status {exchange.status}"
    return Cold((exchange.t_end - started) * 1000.0, exchange.status, failed)


async def _bounded(coroutine: Coroutine[Any, Any, T], seconds: float) -> tuple[T | None, bool]:
    try:
        return await asyncio.wait_for(coroutine, seconds), False
    except TimeoutError:
        return None, True


async def _watch(tally: _Tally, planned: int | None, progress: LoadProgress) -> None:
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
    pool = _Pool(endpoint, plan.timeout_s)
    tally = _Tally(plan)
    monitor = SelfMonitor()
    model = plan.model
    planned: int | None = None
    watcher: asyncio.Future[None] | None = None
    try:
        cold = await _cold(endpoint, request, plan)
        if plan.warmup:
            warm = Closed(model.concurrency if isinstance(model, Closed) else min(model.max_connections, 8))
            warming = _Phase(pool, request, None, plan.timeout_s)
            await _bounded(_closed(warming, plan, warm, plan.warmup, None), run_deadline - clock())
        monitor.start()
        started = clock()
        measured = _Phase(pool, request, tally, plan.timeout_s)
        if isinstance(model, Closed):
            stop_at = started + model.duration_s if model.duration_s is not None else None
            phase = _closed(measured, plan, model, model.requests, stop_at)
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
