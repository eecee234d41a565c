"""Which client should the load phase use? Measured on loopback against one uvicorn process.

For each candidate, at concurrency 16 and 64 and for the same number of seconds: the request rate
on a fast endpoint (as a ratio to wrk's, measured in the same run) and the p95 reported for the
known distribution (90 % at 20 ms, 10 % at 250 ms: true p95 250 ms). A client that reports a far
higher p95 than the truth is measuring its own queueing. CPU microseconds per request is the
column the server cannot distort: on loopback the server is often the bottleneck for fast
clients, and then request rates tie while CPU per request still tells them apart.

    python benchmarks/load_client_choice.py [--seconds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.load_accuracy import wrk  # noqa: E402
from benchmarks.machine import conditions  # noqa: E402
from gate.load.generator import Closed, LoadPlan, load, new_loop  # noqa: E402
from gate.load.monitor import HealthLimits  # noqa: E402
from gate.load.stats import Latencies  # noqa: E402
from gate.load.wire import Endpoint, Request  # noqa: E402
from tests.support.load_server import serve  # noqa: E402

Runner = Callable[[str, int, float], Awaitable[tuple[int, float, Latencies]]]


async def _httpx(url: str, concurrency: int, seconds: float, shared: bool) -> tuple[int, float, Latencies]:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    one = httpx.AsyncClient(limits=limits) if shared else None
    clients = [one or httpx.AsyncClient(limits=httpx.Limits(max_connections=1)) for _ in range(concurrency)]
    samples: list[float] = []
    stop = time.perf_counter() + seconds

    async def worker(client: httpx.AsyncClient) -> None:
        while time.perf_counter() < stop:
            started = time.perf_counter()
            await client.get(url)
            samples.append((time.perf_counter() - started) * 1000.0)

    started = time.perf_counter()
    await asyncio.gather(*(worker(client) for client in clients))
    elapsed = time.perf_counter() - started
    for client in set(clients):
        await client.aclose()
    return len(samples), elapsed, Latencies.of(samples)


async def _wire(url: str, concurrency: int, seconds: float) -> tuple[int, float, Latencies]:
    endpoint = Endpoint.parse(url.rsplit("/", 1)[0])
    plan = LoadPlan(Closed(concurrency, duration_s=seconds), warmup=0, limits=HealthLimits(max_cpu_ratio=1.1))
    result = await load(endpoint, Request.build(endpoint, "GET", "/" + url.rsplit("/", 1)[1]), plan)
    return result.requests, result.duration_s, result.latencies


def _measure(
    runner: Callable[[], Awaitable[tuple[int, float, Latencies]]], on_uvloop: bool
) -> tuple[int, float, Latencies, float]:
    """The runner's numbers and the CPU seconds this thread spent, which no server slowness can hide."""
    loop = new_loop() if on_uvloop else asyncio.new_event_loop()
    cpu = time.thread_time()
    try:
        count, elapsed, latencies = loop.run_until_complete(runner())
        return count, elapsed, latencies, time.thread_time() - cpu
    finally:
        loop.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    candidates: list[tuple[str, Callable[[str, int], Callable[[], Awaitable[tuple[int, float, Latencies]]]], bool]] = [
        ("httpx, one shared AsyncClient", lambda u, c: lambda: _httpx(u, c, args.seconds, True), False),
        ("httpx, one AsyncClient per worker", lambda u, c: lambda: _httpx(u, c, args.seconds, False), False),
        ("gate wire, asyncio loop", lambda u, c: lambda: _wire(u, c, args.seconds), False),
        ("gate wire, uvloop", lambda u, c: lambda: _wire(u, c, args.seconds), True),
    ]
    with conditions() as box, tempfile.TemporaryDirectory() as tmp, serve(Path(tmp)) as served:
        for concurrency in (16, 64):
            baseline = wrk(served.url + "/fast", concurrency, args.seconds)
            truth = wrk(served.url + "/distribution", concurrency, args.seconds)
            print(
                f"\nconcurrency {concurrency}: wrk {baseline.rate:,.0f} req/s on /fast; "
                f"wrk p95 on the distribution {truth.p95:.1f} ms (true p95 250 ms)"
            )
            print(f"  {'client':36} {'req/s':>8} {'x wrk':>6} {'CPU us/req':>10} {'p95 ms':>8}")
            for name, make, on_uvloop in candidates:
                count, elapsed, _, cpu = _measure(make(served.url + "/fast", concurrency), on_uvloop)
                _, _, latencies, _ = _measure(make(served.url + "/distribution", concurrency), on_uvloop)
                rate = count / elapsed
                print(
                    f"  {name:36} {rate:8,.0f} {rate / baseline.rate:6.2f} {cpu / count * 1e6:10.0f} "
                    f"{latencies.at(0.95) or 0:8.1f}"
                )
    print(box.report())


if __name__ == "__main__":
    main()
