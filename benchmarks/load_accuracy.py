"""How right and how fast is the gate's load engine? Printed beside the truth, wrk and hey.

The server (tests/support/load_app.py under uvicorn, one process, on 127.0.0.1) answers /distribution
after 20 ms on nine requests in ten and after 250 ms on the tenth: the true p50 is 20 ms and the
true p95 and p99 are 250 ms (plus the server's own sub-millisecond overhead). At concurrency 16
and 64 the gate, wrk and hey each measure it for the same time; then each measures /fast, and the
gate's request rate is printed as a ratio to wrk's (wrk on one thread, the gate on one thread).

Targets (issue 8): p50/p95/p99 within 5 % or 2 ms of the truth at both concurrencies; at least
10 % of wrk's request rate. Each percentile's distance from the truth is printed in milliseconds
too (issue 23 keeps it within about 1 ms: what is left is the server's own overhead, which wrk
and hey see as well). The machine's core count and load are printed with a note when the
numbers cannot be trusted (benchmarks/machine.py).

    python benchmarks/load_accuracy.py [--seconds 5]
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.machine import conditions, pinned, ratio_line  # noqa: E402
from gate.load.generator import Closed, LoadPlan, Open, load, run_in_own_loop  # noqa: E402
from gate.load.wire import Endpoint, Request  # noqa: E402
from tests.support.load_server import serve  # noqa: E402

TRUTH = {0.50: 20.0, 0.95: 250.0, 0.99: 250.0}
WRK_REPORT = """
done = function(summary, latency, requests)
  io.write(string.format("GATE %d %d %f %f %f\\n", summary.requests, summary.duration,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000))
end
"""


@dataclass(frozen=True)
class Run:
    rate: float
    p50: float
    p95: float
    p99: float

    def at(self, q: float) -> float:
        return {0.50: self.p50, 0.95: self.p95, 0.99: self.p99}[q]


def wrk(url: str, concurrency: int, seconds: float, core: int | None = None) -> Run:
    """wrk on one thread (on `core` alone when given and the machine has two)."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
        script.write(WRK_REPORT)
        script.flush()
        command = ["wrk", "-t1", f"-c{concurrency}", f"-d{seconds:g}s", "-s", script.name, url]
        output = subprocess.run(
            command if core is None else pinned(command, core),
            capture_output=True,
            text=True,
            check=True,
            timeout=seconds + 30,
        ).stdout
    match = re.search(r"^GATE (\d+) (\d+) ([\d.]+) ([\d.]+) ([\d.]+)$", output, re.M)
    assert match, output
    requests, micros, p50, p95, p99 = match.groups()
    return Run(int(requests) / (int(micros) / 1e6), float(p50), float(p95), float(p99))


def hey(url: str, concurrency: int, seconds: float) -> Run:
    output = subprocess.run(
        ["hey", "-z", f"{seconds:g}s", "-c", str(concurrency), url],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 30,
    ).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    cuts = {int(p): float(s) * 1000 for p, s in re.findall(r"(\d+)%+ in ([\d.]+) secs", output)}
    return Run(rate, cuts[50], cuts[95], cuts[99])


def gate(url: str, path: str, concurrency: int, seconds: float, rate: float | None = None) -> Run:
    endpoint = Endpoint.parse(url)
    model = (
        Open(rate, duration_s=seconds, max_connections=concurrency * 2)
        if rate
        else Closed(concurrency, duration_s=seconds)
    )
    plan = LoadPlan(model, warmup=concurrency * 2)
    result = run_in_own_loop(lambda: load(endpoint, Request.build(endpoint, "GET", path), plan))
    if result.client_bound:
        print(f"    (gate says it was client-bound: {result.client_bound})")
    latencies = result.latencies
    return Run(result.rate, latencies.at(0.50) or 0, latencies.at(0.95) or 0, latencies.at(0.99) or 0)


def _verdict(measured: float, truth: float) -> str:
    return "ok" if abs(measured - truth) <= max(0.05 * truth, 2.0) else "MISS"


def _off(run: Run, against: Run | dict[float, float]) -> str:
    reference = against if isinstance(against, dict) else {q: against.at(q) for q in TRUTH}
    return " ".join(f"{run.at(q) - reference[q]:+8.1f}" for q in TRUTH)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    missing = [tool for tool in ("wrk", "hey") if shutil.which(tool) is None]
    if missing:
        print(f"{', '.join(missing)} not installed (bash .ci/setup.d/40-load-tools.sh); shown without them")
    with conditions() as box, tempfile.TemporaryDirectory() as tmp, serve(Path(tmp)) as served:
        for concurrency in (16, 64):
            print(f"\nconcurrency {concurrency}, /distribution for {args.seconds:g}s each (ms)")
            print(f"  {'':12} {'p50':>8} {'p95':>8} {'p99':>8}")
            print(f"  {'truth':12} " + " ".join(f"{TRUTH[q]:8.1f}" for q in TRUTH))
            runs = {"gate": gate(served.url, "/distribution", concurrency, args.seconds)}
            # The open model at 80 % of what this concurrency sustains (concurrency / 43 ms mean).
            rate = round(0.8 * concurrency / 0.043)
            runs[f"open {rate}/s"] = gate(served.url, "/distribution", concurrency, args.seconds, rate)
            if "wrk" not in missing:
                runs["wrk"] = wrk(served.url + "/distribution", concurrency, args.seconds)
            if "hey" not in missing:
                runs["hey"] = hey(served.url + "/distribution", concurrency, args.seconds)
            for name, run in runs.items():
                print(f"  {name:12} " + " ".join(f"{run.at(q):8.1f}" for q in TRUTH))
            ours = runs["gate"]
            print(f"  {'gate - truth':12} {_off(ours, TRUTH)}   ms")
            if "wrk" in runs:
                print(f"  {'gate - wrk':12} {_off(ours, runs['wrk'])}   ms")
            print("  gate vs truth: " + " ".join(_verdict(ours.at(q), TRUTH[q]) for q in TRUTH))
            if "wrk" in runs:
                # The server's own queueing is part of what every client sees: wrk shows how much.
                print("  gate vs wrk:   " + " ".join(_verdict(ours.at(q), runs["wrk"].at(q)) for q in TRUTH))
        seconds = args.seconds
        ours = gate(served.url, "/fast", 16, seconds)
        print(f"\n/fast, concurrency 16: gate {ours.rate:,.0f} req/s", end="")
        if "wrk" not in missing:
            theirs = wrk(served.url + "/fast", 16, seconds)
            print(f", wrk {theirs.rate:,.0f} req/s")
            print(ratio_line("request rate", ours.rate / theirs.rate, 0.10, baseline="wrk"))
        else:
            print()
    print(box.report())


if __name__ == "__main__":
    main()
