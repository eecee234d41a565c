"""What does `gate watch` cost per target, and how long from an outage to the first alert?

1. Probe overhead: one round of N http targets on a loopback app, against the floor of N bare
   httpx GETs of the same URLs on one client in the same run; printed per target, with the store
   write and the incident evaluation of the round included.
2. Outage to first alert: a watcher at a short interval, the app's /health switched to 503 at a
   known moment, a webhook receiver timing the first alert. Printed in intervals, so it reads the
   same at 1 minute (the default open_after 3 means 2-3 intervals: within 5 minutes at 1m).

    python benchmarks/watch_probes.py [--targets 5] [--rounds 10] [--interval 0.5]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gate.config import load_config  # noqa: E402
from gate.demo.webserver import serve  # noqa: E402
from gate.watch.channels import channels  # noqa: E402
from gate.watch.config import settings  # noqa: E402
from gate.watch.store import open_store  # noqa: E402
from gate.watch.watcher import Watcher  # noqa: E402
from tests.support.watch_app import Receiver, Schedule, app, write_config  # noqa: E402


def _watcher(folder: Path, port: int, targets: int, env: dict[str, str], **watch: object) -> Watcher:
    declared = [{"name": f"route {i}", "path": "/health"} for i in range(targets)]
    write_config(folder, port, from_http=False, targets=declared, **watch)
    config = load_config(folder / "gate.yml")
    chosen = settings(config.data, env)
    store = open_store(chosen.store, folder)
    return Watcher(chosen, config.data, env, folder, store, channels(chosen, env), "bench")


async def _bare(urls: list[str]) -> None:
    import httpx

    # No TLS context to load: the floor is the requests alone (the watcher loads its trust once).
    async with httpx.AsyncClient(trust_env=False, verify=False) as client:
        await asyncio.gather(*(client.get(url) for url in urls))


def overhead(targets: int, rounds: int) -> None:
    with tempfile.TemporaryDirectory() as tmp, serve(app()) as port:
        watcher = _watcher(Path(tmp), port, targets, {})
        urls = [f"http://127.0.0.1:{port}/health"] * targets
        bare, watched = [], []
        for _ in range(rounds):
            started = time.perf_counter()
            asyncio.run(_bare(urls))
            bare.append(time.perf_counter() - started)
            started = time.perf_counter()
            asyncio.run(watcher.round())
            watched.append(time.perf_counter() - started)
        watcher.store.close()
    floor, ours = statistics.median(bare), statistics.median(watched)
    print(f"round of {targets} targets: watch {ours * 1000:.1f} ms, bare httpx {floor * 1000:.1f} ms")
    print(f"  overhead per target: {(ours - floor) / targets * 1000:.2f} ms ({ours / floor:.2f}x the floor)")


def outage_to_alert(interval: float) -> None:
    health = Schedule([200])
    site = app()
    site.routes["/health"] = health
    with tempfile.TemporaryDirectory() as tmp, serve(site) as port, Receiver() as hook:
        env = {"HOOK_URL": hook.url}
        watcher = _watcher(Path(tmp), port, 1, env, alerts={"webhook": {"url_env": "HOOK_URL"}, "timeout": "2s"})
        outage: list[float] = []

        def go_down() -> None:
            time.sleep(interval * 2.5)
            health.statuses = [503]
            outage.append(time.monotonic())

        threading.Thread(target=go_down, daemon=True).start()
        alerted: list[float] = []

        def on_round(_: object) -> None:
            if hook.bodies and not alerted:
                alerted.append(time.monotonic())

        asyncio.run(watcher.forever(interval, on_round, max_rounds=12))
        watcher.store.close()
    if not alerted:
        print("outage to first alert: no alert within 12 rounds")
        return
    took = alerted[0] - outage[0]
    print(f"outage to first alert: {took:.2f} s at a {interval:g} s interval = {took / interval:.1f} intervals")
    print(f"  at the 1-minute default: about {took / interval:.1f} minutes (launch bar: within 5)")


def main() -> None:
    parser = argparse.ArgumentParser()
    # More than 5 at once overflow the demo server's listen backlog (5) and both sides wait on SYN retries.
    parser.add_argument("--targets", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--interval", type=float, default=0.5)
    options = parser.parse_args()
    overhead(options.targets, options.rounds)
    outage_to_alert(options.interval)


if __name__ == "__main__":
    main()
