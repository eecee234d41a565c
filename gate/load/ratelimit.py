"""A bounded burst against an auth-sensitive route: does a rate limit answer before N requests?

Login, one-time codes and password resets must slow a guesser down. The probe sends at most
`limit` requests one after another on a keep-alive connection (reconnecting when the server
closes it) and stops at the first response carrying the signal: a 429 by default, or any status
or response header gate.yml names (some stacks lock the account or answer 403 with a header).
No signal by the N-th request is the finding; the probe never sends more than N.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from gate.errors import InputError
from gate.load.wire import Connection, Endpoint, Exchange, Request, clock, connect, describe_connect_error, exchange

MAX_BURST = 1000


@dataclass(frozen=True)
class LimitSignal:
    """What counts as "rate limited": one of `statuses`, or a response that carries `header`."""

    statuses: frozenset[int] = frozenset({429})
    header: str | None = None

    def seen(self, response: Exchange) -> str | None:
        if response.status in self.statuses:
            return f"HTTP {response.status}"
        if self.header is not None and response.header(self.header) is not None:
            return f"header {self.header}"
        return None


@dataclass(frozen=True)
class BurstResult:
    """`limited_at` is the 1-based request that met the signal, None when none did."""

    limit: int
    sent: int
    limited_at: int | None
    signal: str | None
    statuses: dict[int, int]
    errors: dict[str, int]
    duration_s: float
    retry_after: str | None = None

    @property
    def limited(self) -> bool:
        return self.limited_at is not None


@dataclass
class _Burst:
    statuses: Counter[int] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)


async def burst_probe(
    endpoint: Endpoint,
    request: Request,
    *,
    limit: int,
    signal: LimitSignal = LimitSignal(),
    timeout_s: float = 10.0,
    deadline_s: float = 60.0,
) -> BurstResult:
    """Send up to `limit` requests back to back until one carries `signal`, bounded by `deadline_s`."""
    if not 0 < limit <= MAX_BURST:
        raise InputError(f"a rate-limit burst must be 1 to {MAX_BURST} requests", hint="lower the burst size")
    started = clock()
    stop = started + deadline_s
    tally = _Burst()
    connection: Connection | None = None
    sent = 0
    try:
        while sent < limit and clock() < stop:
            wait = min(timeout_s, stop - clock())
            if connection is None or not connection.reusable:
                try:
                    connection = await connect(endpoint, timeout=wait)
                except (TimeoutError, OSError) as error:
                    sent += 1
                    tally.errors[describe_connect_error(error)] += 1
                    continue
            response = await exchange(connection, request, timeout=wait)
            sent += 1
            if response.error is not None:
                tally.errors["timeout" if response.error.startswith("timed out") else response.error] += 1
                continue
            tally.statuses[response.status] += 1
            seen = signal.seen(response)
            if seen is not None:
                return BurstResult(
                    limit,
                    sent,
                    sent,
                    seen,
                    dict(tally.statuses),
                    dict(tally.errors),
                    clock() - started,
                    response.header("retry-after"),
                )
    finally:
        if connection is not None:
            connection.abort()
    return BurstResult(limit, sent, None, None, dict(tally.statuses), dict(tally.errors), clock() - started)
