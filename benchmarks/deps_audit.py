"""How fast `gate check deps` audits a big lock file against the full offline OSV data.

A requirements file of several hundred pins (a mix of vulnerable and clean releases drawn from
the PyPA advisory database) is audited twice in this process:

- baseline: pip-audit's own run, as its CLI does it with `--disable-pip --no-deps`: its
  RequirementSource, its Auditor and its OsvService, pointed at a loopback server that answers
  the OSV query API from the same database held in memory (the offline equivalent of osv.dev);
- gate: the deps check's run on the same file with `osv_db` set, cold (the index over the
  database is built in the run) and warm (the index is already cached by an earlier run).

It prints times and ratios (gate / baseline); lower is better. No assertion: speed targets are
read, not enforced, and depend on the machine.

    python benchmarks/deps_audit.py --osv-db PATH [--packages 500] [--repeat 3]
    OSV_DB=PATH benchmarks/run deps_audit

PATH is a full database of OSV records, such as the `vulns/` folder of a clone of
https://github.com/pypa/advisory-database (the tests' small fixture set is too small to measure).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.machine import conditions, ratio_line  # noqa: E402
from gate.checks.base import CheckContext  # noqa: E402
from gate.checks.deps import DepsCheck  # noqa: E402
from gate.checks.deps import osv as osv_mod  # noqa: E402
from gate.model import Finding  # noqa: E402

LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def raw_records(database: Path) -> dict[str, list[dict[str, Any]]]:
    """Every record by canonical package name, the way an OSV server holds them."""
    from packaging.utils import canonicalize_name

    by_name: dict[str, list[dict[str, Any]]] = {}
    for path in database.rglob("*.yaml"):
        record = yaml.load(path.read_text(), Loader=LOADER)
        for key in ("published", "modified", "withdrawn"):
            if key in record and not isinstance(record[key], str):
                record[key] = record[key].strftime("%Y-%m-%dT%H:%M:%SZ")
        for affected in record.get("affected", []):
            by_name.setdefault(canonicalize_name(affected["package"]["name"]), []).append(record)
    return by_name


def pins(database: Path, count: int, seed: int) -> list[tuple[str, str]]:
    """Half releases an advisory lists, half releases past every fix."""
    rng = random.Random(seed)
    chosen: list[tuple[str, str]] = []
    for project in sorted(p for p in (database / "vulns").iterdir() if p.is_dir()):
        versions = []
        for path in project.glob("*.yaml"):
            for affected in yaml.load(path.read_text(), Loader=LOADER).get("affected", []):
                versions += [str(v) for v in affected.get("versions", []) if osv_mod.VERSION_KEYS["PyPI"](str(v))]
        name = project.name
        chosen.append((name, rng.choice(versions) if versions and rng.random() < 0.5 else "9999.0"))
    rng.shuffle(chosen)
    return sorted(chosen[:count])


def serve(index: osv_mod.OsvIndex, records: dict[str, list[dict[str, Any]]]) -> tuple[ThreadingHTTPServer, str]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            query = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            name, version = query["package"]["name"], query["version"]
            ids = {m.advisory.id for m in index.query("PyPI", name, version)}
            vulns = [r for r in records.get(name, []) if r["id"] in ids]
            body = json.dumps({"vulns": vulns} if vulns else {}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/v1/query"


def pip_audit_run(requirements: Path, url: str, cache: Path) -> tuple[float, frozenset[str]]:
    """pip-audit's own run: (seconds, `name:version:advisory id` of each vulnerability it reports)."""
    from packaging.utils import canonicalize_name
    from pip_audit._audit import Auditor
    from pip_audit._dependency_source import RequirementSource
    from pip_audit._service import OsvService

    started = time.perf_counter()
    source = RequirementSource([requirements], disable_pip=True, no_deps=True)
    results = list(Auditor(OsvService(cache_dir=cache, timeout=30, osv_url=url)).audit(source))
    seconds = time.perf_counter() - started
    found = {
        f"{canonicalize_name(dep.name)}:{dep.version}:{vuln.id}"
        for dep, vulns in results
        if not dep.is_skipped()
        for vuln in vulns
    }
    return seconds, frozenset(found)


def median_run(runs: list[tuple[float, frozenset[str]]]) -> tuple[float, frozenset[str] | None]:
    """The median time of the runs, and what they found (None when the runs disagree)."""
    found = {result for _, result in runs}
    return statistics.median(seconds for seconds, _ in runs), found.pop() if len(found) == 1 else None


def gate_run(project: Path, database: Path) -> tuple[float, frozenset[str]]:
    """The deps check's run: (seconds, `name:version:advisory id` of each vulnerability finding)."""
    from packaging.utils import canonicalize_name
    from packaging.version import Version

    context = CheckContext(root=project, config={"osv_db": str(database)}, preset="launch", environ={})
    started = time.perf_counter()
    results = list(DepsCheck().run(context))
    seconds = time.perf_counter() - started
    found = {
        # pip-audit names a release in its normal form (1.0.0a2), the gate as pinned (1.0.0-alpha.2).
        f"{canonicalize_name(result.details['package'])}:{Version(result.details['version'])}:"
        f"{result.details['advisory']}"
        for result in results
        if isinstance(result, Finding) and result.rule_id.startswith("deps.vulnerable")
    }
    return seconds, frozenset(found)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packages", type=int, default=500)
    parser.add_argument(
        "--osv-db",
        type=Path,
        default=Path(os.environ["OSV_DB"]) if os.environ.get("OSV_DB") else None,
        help="a folder of OSV records (see above; default: $OSV_DB)",
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=3, help="turns of baseline, cold and warm (medians compared)")
    args = parser.parse_args()
    if args.osv_db is None:
        # benchmarks/run goes on with the others: this one needs a database it cannot download.
        print("skipped: no OSV database; pass --osv-db PATH or set OSV_DB (a clone of pypa/advisory-database)")
        return
    database = args.osv_db.resolve()
    repeat = args.repeat

    chosen = pins(database, args.packages, args.seed)
    server_index = osv_mod.index_of_records((r for rs in raw_records(database).values() for r in rs), "server")
    records = raw_records(database)
    server, url = serve(server_index, records)
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "app"
        project.mkdir()
        requirements = project / "requirements.txt"
        requirements.write_text("".join(f"{name}=={version}\n" for name, version in chosen))

        # Baseline and cold gate take turns, so a neighbour on the box slows both alike; medians.
        bases, colds, warms = [], [], []
        with conditions() as box:
            for turn in range(repeat):
                bases.append(pip_audit_run(requirements, url, Path(tmp) / f"cache{turn}"))
                # Cold: no index, and no version parsed yet (pins() above parsed the database's).
                osv_mod._CACHE.clear()
                osv_mod.VERSION_KEYS["PyPI"].cache_clear()  # type: ignore[attr-defined]
                colds.append(gate_run(project, database))
                warms.append(gate_run(project, database))
        baseline, base_found = median_run(bases)
        cold, cold_found = median_run(colds)
        warm, warm_found = median_run(warms)
    server.shutdown()

    rows = [
        ("pip-audit: RequirementSource + Auditor + OsvService on loopback", baseline, base_found),
        ("gate deps, cold (builds the index over the database)", cold, cold_found),
        ("gate deps, warm (index already cached in the process)", warm, warm_found),
    ]
    print(f"{len(chosen)} pinned packages against {server_index.records} OSV records")
    for label, seconds, found in rows:
        count = len(found) if found is not None else -1
        print(f"{label:<64} {seconds:7.3f} s  {count:4d} vulnerabilities  ratio {seconds / baseline:5.2f}")
    print(ratio_line("gate deps cold", cold / baseline, 1.0, baseline="pip-audit", higher_is_better=False))
    same = base_found is not None and base_found == cold_found == warm_found
    print(
        f"findings: every run of each reports the same (package, version, advisory) set, and the gate "
        f"the same as pip-audit: {same} (median of {repeat} turns each)"
    )
    print(box.report())


if __name__ == "__main__":
    main()
