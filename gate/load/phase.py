"""How one phase of a load run (the warm-up or the measured one) sends requests and counts them.

The request path is where a load client spends its time, and every microsecond spent there is a
request the server was not asked for: against one nginx worker a client has about 5 us per request.
So the closed model's lanes are not tasks. A lane (`_Lane`) is an object whose next request leaves
from a callback: the connection's `on_end` records the answer and puts the lane in a batch that
runs once per loop iteration (after every socket the loop found readable was read, as a task
would), on the connection that just came free. No task, future or timer is made per request;
each connection has one timeout timer that follows its deadlines (`wire.Connection.send`).
"""

from __future__ import annotations

import asyncio
from array import array
from collections import Counter
from dataclasses import dataclass, field

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


@dataclass(slots=True)
class Tally:
    """Every measured request: its latency from the time it was due, and its errors by kind."""

    expect: frozenset[int] | None
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
            status = exchange.status
            if not (status in self.expect if self.expect is not None else 0 < status < 400):
                self.errors[f"status {status}"] += 1
        self.latencies_ms.append((end - started) * 1000.0)

    def failed(self, reason: str, started: float | None = None) -> None:
        self.requests += 1
        self.errors[_kind(reason)] += 1
        if started is not None:
            self.latencies_ms.append((clock() - started) * 1000.0)


def _kind(error: str) -> str:
    return "timeout" if error.startswith("timed out") else error


class Pool:
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


@dataclass(slots=True)
class Phase:
    """What every request of one phase shares. `tally` is None in the warm-up (nothing is counted)."""

    pool: Pool
    request: Request
    tally: Tally | None
    timeout_s: float
    # Set when the phase ends, by its own end or cut off by the run's deadline: a request still in
    # flight then is neither recorded nor followed by another; it stays pending and is counted so.
    over: bool = False
    timeout_reason: str = field(init=False)

    def __post_init__(self) -> None:
        self.timeout_reason = f"timed out after {self.timeout_s:g}s"


class _Sender:
    """Sends one request at a time for a phase, each timed out and recorded against when it was due."""

    __slots__ = ("connection", "due", "phase")

    def __init__(self, phase: Phase) -> None:
        self.phase = phase
        self.connection: Connection | None = None
        self.due = 0.0

    def send(self, connection: Connection, due: float) -> bool:
        """Send now; False (recorded as an error) when the connection was lost before anything left."""
        phase = self.phase
        self.connection = connection
        self.due = due
        try:
            connection.send(
                phase.request, on_end=self.ended, deadline=due + phase.timeout_s, timeout_reason=phase.timeout_reason
            )
        except ConnectionLost as error:
            if phase.tally is not None:
                phase.tally.failed(str(error))
            return False
        if phase.tally is not None:
            phase.tally.pending += 1
        return True

    def ended(self, exchange: Exchange) -> None:
        phase = self.phase
        if phase.over:
            return
        tally = phase.tally
        if tally is not None:
            tally.pending -= 1
            tally.record(exchange, self.due)
        self.landed()

    def landed(self) -> None:
        raise NotImplementedError


class _Once(_Sender):
    """One request, awaited: the open model's way (each request is due at its own time)."""

    __slots__ = ("done",)

    def __init__(self, phase: Phase, done: asyncio.Future[None]) -> None:
        super().__init__(phase)
        self.done = done

    def landed(self) -> None:
        if self.connection is not None:
            self.phase.pool.give(self.connection)
        self.done.set_result(None)


async def send_one(phase: Phase, due: float) -> None:
    """Send one request on a pooled connection (a new one if none is idle), recording it against `due`."""
    connection = phase.pool.idle_one()
    if connection is None:
        try:
            connection = await phase.pool.new(max(0.0, due + phase.timeout_s - clock()))
        except (TimeoutError, OSError) as error:
            if phase.tally is not None:
                phase.tally.failed(describe_connect_error(error))
            return
    done = connection.loop.create_future()
    if _Once(phase, done).send(connection, due):
        await done


class _Lanes:
    """The closed model: `lanes` lanes, each sending its next request when its last one ends."""

    __slots__ = ("cap", "connecting", "finished", "loop", "phase", "ready", "running", "stop_at", "tickets")

    def __init__(self, phase: Phase, count: int | None, stop_at: float | None, cap: int) -> None:
        self.phase = phase
        self.tickets = count
        self.stop_at = stop_at
        self.cap = cap
        self.loop = asyncio.get_running_loop()
        self.finished: asyncio.Future[None] = self.loop.create_future()
        self.running = 0
        self.ready: list[_Lane] = []
        self.connecting: set[asyncio.Task[None]] = set()

    def start(self, lanes: int) -> None:
        self.running = lanes
        self.ready = [_Lane(self) for _ in range(lanes)]
        self.flush()

    def soon(self, lane: _Lane) -> None:
        if not self.ready:
            self.loop.call_soon(self.flush)
        self.ready.append(lane)

    def flush(self) -> None:
        ready, self.ready = self.ready, []
        try:
            for lane in ready:
                lane.next()
        except Exception as error:  # noqa: BLE001 - a bug must end the phase, not silently stop lanes
            if not self.finished.done():
                self.finished.set_exception(error)

    def connect(self, lane: _Lane, due: float) -> None:
        task = self.loop.create_task(self._connect(lane, due))
        self.connecting.add(task)
        task.add_done_callback(self.connecting.discard)

    async def _connect(self, lane: _Lane, due: float) -> None:
        phase = self.phase
        try:
            connection = await phase.pool.new(max(0.0, due + phase.timeout_s - clock()))
        except (TimeoutError, OSError) as error:
            if phase.tally is not None:
                phase.tally.failed(describe_connect_error(error))
            self.soon(lane)
            return
        if not lane.send(connection, due):
            self.soon(lane)

    def lane_ended(self) -> None:
        self.running -= 1
        if self.running == 0 and not self.finished.done():
            self.finished.set_result(None)

    async def stop(self) -> None:
        self.phase.over = True
        for task in list(self.connecting):
            task.cancel()
        await asyncio.gather(*self.connecting, return_exceptions=True)


class _Lane(_Sender):
    """One closed-model lane: it keeps its connection while the server keeps it open."""

    __slots__ = ("lanes",)

    def __init__(self, lanes: _Lanes) -> None:
        super().__init__(lanes.phase)
        self.lanes = lanes

    def landed(self) -> None:
        lanes = self.lanes
        if not lanes.ready:
            lanes.loop.call_soon(lanes.flush)
        lanes.ready.append(self)

    def next(self) -> None:
        lanes, phase = self.lanes, self.phase
        tally = phase.tally
        connection = self.connection
        while not phase.over:
            if lanes.tickets is not None:
                if lanes.tickets <= 0:
                    break
                lanes.tickets -= 1
            if tally is not None and tally.requests >= lanes.cap:
                break
            now = clock()
            if lanes.stop_at is not None and now >= lanes.stop_at:
                break
            if connection is None or connection.closed or connection.exchange is not None:
                connection = phase.pool.idle_one()
                if connection is None:
                    lanes.connect(self, now)
                    return
            if self.send(connection, now):
                return
            connection = None
        if connection is not None:
            phase.pool.give(connection)
        lanes.lane_ended()


async def run_closed(phase: Phase, lanes: int, count: int | None, stop_at: float | None, cap: int) -> None:
    """`lanes` lanes until `count` requests were sent, `stop_at` came, or `cap` were counted."""
    closed = _Lanes(phase, count, stop_at, cap)
    closed.start(lanes if count is None else min(lanes, count))
    try:
        await closed.finished
    finally:
        await closed.stop()
