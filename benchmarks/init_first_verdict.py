"""Time from `git clone` to the first verdict, per sample stack: clone, `gate init`, `gate run`.

Each sample project of the init tests (Next.js, Vite + Supabase, Expo + Express, FastAPI,
Django) is pushed to a bare repository, then, as a new user would: cloned, `gate init` with no
options, `gate run` with no edits. Each command runs as its own process (the console script),
so interpreter start-up is counted. The OSV queries of the deps check go to a loopback OSV
server through a loopback proxy (no network needed). Baseline in the same run: `gate run` on the
same clone of the two checks that need no input (deps, secrets; `gate run` on a bare clone stops
at the missing env manifest, exit 2), so the ratio is what init and the env check add.
Target (issue 24): first verdict in minutes, not hours; here it is seconds.

    python benchmarks/init_first_verdict.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.init_samples import SAMPLES, sample_project  # noqa: E402
from tests.support.osv_proxy import osv_behind_proxy  # noqa: E402

GATE = str(Path(sys.executable).with_name("gate"))
# Without gate init a clone gets no verdict at all (`gate run` stops at the missing env manifest,
# exit 2); the checks that need no input are what a run costs anyway.
BASE = ("deps", "secrets")


def _timed(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, int]:
    started = time.perf_counter()
    completed = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if completed.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(command)} in {cwd} exited {completed.returncode}:\n{completed.stderr[-2000:]}")
    return elapsed, completed.returncode


def one_stack(stack: str, work: Path, env: dict[str, str]) -> dict[str, float]:
    origin = sample_project(work / f"{stack}-origin", stack)
    bare = work / f"{stack}.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(origin), str(bare)], check=True)
    clone = work / f"{stack}-clone"
    shutil.rmtree(clone, ignore_errors=True)
    started = time.perf_counter()
    subprocess.run(["git", "clone", "-q", str(bare), str(clone)], check=True)
    cloned = time.perf_counter() - started
    init, _ = _timed([GATE, "init", "--quiet"], clone, env)
    run, verdict = _timed([GATE, "run", "--quiet"], clone, env)
    baseline_dir = work / f"{stack}-baseline"
    shutil.rmtree(baseline_dir, ignore_errors=True)
    subprocess.run(["git", "clone", "-q", str(bare), str(baseline_dir)], check=True)
    baseline = sum(
        _timed([GATE, "check", name, "--quiet", "--preset", "launch"], baseline_dir, env)[0] for name in BASE
    )
    shutil.rmtree(work / f"{stack}-origin")
    return {
        "clone": cloned,
        "init": init,
        "run": run,
        "total": cloned + init + run,
        "baseline": baseline,
        "exit": verdict,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"{'stack':<15}{'clone':>8}{'init':>8}{'run':>8}{'first verdict':>15}{'exit':>6}{'vs deps+secrets':>20}")
    with tempfile.TemporaryDirectory(prefix="gate-init-bench-") as scratch:
        work = Path(scratch)
        with osv_behind_proxy(work, []) as proxy_env:
            env = {**os.environ, **proxy_env, "GITHUB_ACTIONS": ""}
            for stack in sorted(SAMPLES):
                runs = []
                for attempt in range(args.repeat):
                    runs.append(one_stack(stack, work / str(attempt), env))
                median = {key: statistics.median(r[key] for r in runs) for key in runs[0]}
                ratio = (median["init"] + median["run"]) / median["baseline"]
                print(
                    f"{stack:<15}{median['clone']:>7.2f}s{median['init']:>7.2f}s{median['run']:>7.2f}s"
                    f"{median['total']:>14.2f}s{int(median['exit']):>6}{ratio:>19.2f}x"
                )


if __name__ == "__main__":
    main()
