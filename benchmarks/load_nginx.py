"""The load engine's request rate against one nginx worker, beside wrk's in the same run (issue 23).

nginx from the Debian package (.ci/setup.d/41-nginx.sh) is started on 127.0.0.1 with a temporary
config: one worker, no access log, keep-alive without a request limit, a 2-byte answer. It is the
fastest server there is to stand behind, so the client's own cost per request decides the rate.
nginx runs on the first core alone and the client (wrk on one thread, then the gate's engine on
one thread) on the second, with `taskset` and `sched_setaffinity`, when the machine has two.

For each concurrency (16 and 64), `--rounds` rounds of wrk then the gate, each for `--seconds`;
the ratio is the gate's median rate over wrk's median rate. Target: >= 0.80x at both. The
percentiles each reports are printed for context (at saturation they are queueing, so they follow
the rate); how right the gate's percentiles are is benchmarks/load_accuracy.py's job, against a
known distribution.

Beside the rates, each client's CPU time per request (wrk's from its rusage, the gate's from its
load thread). On a busy box the rates follow the neighbours; the CPU per request much less, and
its ratio says what the rates would be where the client, not the box, sets the pace.

    python benchmarks/load_nginx.py [--seconds 5] [--rounds 3] [--loop uvloop|asyncio]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.load_accuracy import Run, wrk  # noqa: E402
from benchmarks.machine import conditions, pin_self, pinned, ratio_line, unpin_self  # noqa: E402
from gate.load.generator import Closed, LoadPlan, load, new_loop  # noqa: E402
from gate.load.monitor import HealthLimits  # noqa: E402
from gate.load.wire import Endpoint, Request  # noqa: E402

TARGET = 0.80
SERVER_CORE, CLIENT_CORE = 0, 1
CONFIG = """
worker_processes 1;
daemon off;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    keepalive_requests 100000000;
    keepalive_timeout 120s;
    server {{
        listen 127.0.0.1:{port};
        location / {{ return 200 "ok"; }}
    }}
}}
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def nginx(binary: str) -> Iterator[str]:
    """One nginx worker on a loopback port, on the server core; its URL, stopped (bounded) on exit."""
    with tempfile.TemporaryDirectory() as tmp:
        port = _free_port()
        config = Path(tmp) / "nginx.conf"
        config.write_text(CONFIG.format(tmp=tmp, port=port))
        command = [binary, "-p", tmp, "-c", str(config), "-e", f"{tmp}/error.log"]
        process = subprocess.Popen(pinned(command, SERVER_CORE), stderr=subprocess.PIPE)
        try:
            deadline = time.monotonic() + 10
            while True:
                with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
                if process.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"nginx did not start: {process.stderr.read().decode() if process.stderr else ''}")
                time.sleep(0.05)
            yield f"http://127.0.0.1:{port}"
        finally:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@dataclass(frozen=True)
class Round:
    run: Run
    cpu_us: float  # the client's CPU time per request


def wrk_round(url: str, concurrency: int, seconds: float) -> Round:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    run = wrk(url + "/", concurrency, seconds, core=CLIENT_CORE)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return Round(run, cpu / (run.rate * seconds) * 1e6)


def gate(url: str, concurrency: int, seconds: float, loop_kind: str) -> Round:
    """The engine's closed model, on one thread pinned to the client core, like wrk -t1."""
    endpoint = Endpoint.parse(url)
    # At saturation the client is busy by design: the health limit is lifted so the run is not
    # called client-bound (the rate is what is measured here, not a budget).
    plan = LoadPlan(Closed(concurrency, duration_s=seconds), warmup=concurrency * 4, limits=HealthLimits(1.1))
    loop = new_loop() if loop_kind == "uvloop" else asyncio.new_event_loop()
    pinned_here = pin_self(CLIENT_CORE)
    try:
        result = loop.run_until_complete(load(endpoint, Request.build(endpoint, "GET", "/"), plan))
    finally:
        loop.close()
        if pinned_here:
            unpin_self()
    if result.error_count:
        raise SystemExit(f"the gate saw errors against nginx: {result.errors}")
    latencies = result.latencies
    run = Run(result.rate, latencies.at(0.50) or 0, latencies.at(0.95) or 0, latencies.at(0.99) or 0)
    cpu = result.health.thread_cpu_ratio * result.health.wall_s
    return Round(run, cpu / result.requests * 1e6)


def _median(rounds: list[Round]) -> tuple[float, float]:
    return statistics.median(r.run.rate for r in rounds), statistics.median(r.cpu_us for r in rounds)


def _row(name: str, rounds: list[Round]) -> str:
    rates = " ".join(f"{r.run.rate:9,.0f}" for r in rounds)
    last = rounds[-1].run
    rate, cpu = _median(rounds)
    return (
        f"  {name:6} {rates}  median {rate:9,.0f}  CPU {cpu:5.1f} us/req"
        f"  last p50/95/99 {last.p50:.2f}/{last.p95:.2f}/{last.p99:.2f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--loop", choices=("uvloop", "asyncio"), default="uvloop")
    args = parser.parse_args()
    binary = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if binary is None or shutil.which("wrk") is None:
        print("nginx or wrk is not installed (bash .ci/setup.d/40-load-tools.sh .ci/setup.d/41-nginx.sh): skipped")
        return
    with conditions() as box, nginx(binary) as url:
        for concurrency in (16, 64):
            theirs: list[Round] = []
            ours: list[Round] = []
            for _ in range(args.rounds):
                theirs.append(wrk_round(url, concurrency, args.seconds))
                ours.append(gate(url, concurrency, args.seconds, args.loop))
            (our_rate, our_cpu), (their_rate, their_cpu) = _median(ours), _median(theirs)
            print(
                f"\nconcurrency {concurrency}, {args.rounds} x {args.seconds:g}s each, req/s per round:",
                _row("wrk", theirs),
                _row("gate", ours),
                "  " + ratio_line(f"gate ({args.loop}) request rate", our_rate / their_rate, TARGET, baseline="wrk"),
                "  " + ratio_line("the same from CPU per request", their_cpu / our_cpu, TARGET, baseline="wrk"),
                sep="\n",
                flush=True,
            )
    print(
        "\nnginx: one worker pinned to the first core; wrk -t1 and the gate's one thread pinned to the second."
        if box.cores >= 2
        else "\nnginx, wrk and the gate share one core: nothing pinned."
    )
    print(box.report())


if __name__ == "__main__":
    main()
