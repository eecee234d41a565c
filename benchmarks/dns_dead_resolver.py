"""How much does a dead resolver cost `gate check dns`? One domain, resolvers [dead, good] against [good].

Before the fix a dead first resolver was asked again for every query: with the default 2 s
query timeout one domain took 84 s instead of 0.5 s. Now a server that stays silent while
another answers is dead for the rest of the run, so the dead one costs one timeout, once.
Serves a clean zone from NSD on loopback (`tests/support/nsd_server.py`; `.ci/setup.d/20-dns-server.sh`
installs it); the dead resolver is a UDP socket that reads nothing. Each configuration runs
`gate check dns` as a user does, in a fresh process, --repeat times; medians are compared.
Target (issue 16): [dead, good] within one query timeout (2 s) of [good].

    python benchmarks/dns_dead_resolver.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.dns_zones import Domain, build, lines, mail_records, web_records  # noqa: E402
from tests.support.nsd_server import Nsd  # noqa: E402

DOMAIN = "bench.test"
QUERY_TIMEOUT_S = 2.0  # the presets' default


def _run(folder: Path, resolvers: list[str]) -> float:
    section = {
        "enabled": True,
        "domain": DOMAIN,
        "resolver": resolvers,
        "query_timeout": f"{QUERY_TIMEOUT_S:g}s",
        "email": {"dkim_selectors": ["s1"], "require_mta_sts": False},
    }
    (folder / "gate.yml").write_text(json.dumps({"version": 1, "checks": {"dns": section}}))
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "gate", "check", "dns", "--format", "json"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    elapsed = time.monotonic() - started
    if done.returncode not in (0, 1):
        raise SystemExit(f"gate failed (exit {done.returncode}): {done.stderr or done.stdout}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    records = mail_records(DOMAIN, mta_sts=None, mta_sts_host=None)
    zones = build([Domain(DOMAIN, lines(web_records(DOMAIN), records), signing="good")])
    with (
        tempfile.TemporaryDirectory() as tmp,
        Nsd(Path(tmp) / "nsd", zones) as good,
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as dead,
    ):
        dead.bind(("127.0.0.1", 0))
        dead_address = f"127.0.0.1:{dead.getsockname()[1]}"
        folder = Path(tmp) / "project"
        folder.mkdir()
        times: dict[str, list[float]] = {"[good]": [], "[dead, good]": []}
        for _ in range(args.repeat):
            times["[good]"].append(_run(folder, [good.address]))
            times["[dead, good]"].append(_run(folder, [dead_address, good.address]))
    baseline = statistics.median(times["[good]"])
    with_dead = statistics.median(times["[dead, good]"])
    print(f"resolvers      median of {args.repeat} runs (whole `gate check dns`, fresh process)")
    for name, values in times.items():
        print(f"{name:<14} {statistics.median(values):6.2f} s   ({', '.join(f'{v:.2f}' for v in values)})")
    extra = with_dead - baseline
    print(
        f"a dead first resolver adds {extra:.2f} s ({with_dead / baseline:.2f}x); "
        f"target: one query timeout ({QUERY_TIMEOUT_S:g} s) once, not one per query"
    )


if __name__ == "__main__":
    main()
