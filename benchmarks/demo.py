"""How long `gate demo` takes end to end, and whether it still finds exactly what it plants.

Times, in one run, each in a fresh process (medians of --repeat runs, taking turns):

  start-up   `python -m gate --version`: the interpreter and the CLI, the floor of any command
  no-http    the demo with every check but http (the same project, servers and code path):
             what the demo costs without the preview's probes and load runs
  demo       `python -m gate demo --format json`, as a user runs it

and compares the demo's findings (check, rule, severity, where), budget statuses, verdict and exit
code with the set recorded in benchmarks/demo_expected.json; it fails when they differ.
Target (issue 23): the demo within 10 s on the 2-core box with the same findings and exit code.

    python benchmarks/demo.py [--repeat 3] [--record]

`--record` rewrites the expected set from this run (after a deliberate change to the demo).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.machine import conditions  # noqa: E402

EXPECTED = Path(__file__).with_name("demo_expected.json")
TARGET_S = 10.0
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "TERM": "dumb"}


def _where(finding: dict[str, Any]) -> str:
    """A finding's place without the run's temp paths and loopback ports."""
    location = finding.get("location") or {}
    if location.get("url"):
        return urlsplit(location["url"]).path or "/"
    return str(location.get("path") or location.get("name") or "")


def outcome(report: dict[str, Any]) -> dict[str, Any]:
    """What must not change: findings, budget verdicts, the verdict and the exit code."""
    return {
        "findings": sorted(
            [f["check"], f["rule_id"], f["severity"], _where(f), bool(f.get("suppression"))] for f in report["findings"]
        ),
        "budgets": sorted([b["check"], b["id"], b["subject"], b["status"]] for b in report["budgets"]),
        "verdict": report["verdict"],
        "exit_code": report["exit_code"],
    }


def timed_run(*args: str) -> tuple[float, subprocess.CompletedProcess[str]]:
    started = time.perf_counter()
    completed = subprocess.run([sys.executable, *args], capture_output=True, text=True, env=ENV, check=False)
    return time.perf_counter() - started, completed


def demo() -> tuple[float, dict[str, Any]]:
    seconds, completed = timed_run("-m", "gate", "demo", "--format", "json")
    if completed.returncode not in (0, 1):
        raise SystemExit(f"gate demo failed (exit {completed.returncode}): {completed.stderr[-2000:]}")
    report = json.loads(completed.stdout)
    if report["exit_code"] != completed.returncode:
        raise SystemExit(f"the report says exit {report['exit_code']}, the process exited {completed.returncode}")
    return seconds, report


def without_http() -> float:
    seconds, completed = timed_run(__file__, "--no-http-child")
    if completed.returncode not in (0, 1):
        raise SystemExit(f"the demo without http failed (exit {completed.returncode}): {completed.stderr[-2000:]}")
    return seconds


def _no_http_child() -> int:
    """The demo's own steps (build the project, start its servers, run, report), http left out."""
    import yaml

    from gate.checks import REGISTRY
    from gate.demo import demo_project
    from gate.pipeline import RunRequest, Terminal, run_gate

    with demo_project() as project:
        declared = yaml.safe_load(project.config.read_text())["checks"]
        names = [name for name in REGISTRY if name in declared and name != "http"]
        request = RunRequest(
            names=names,
            config_path=project.config,
            preset=None,
            fmt="json",
            outputs=(),
            color=False,
            environ=project.environ,
            scan_root=project.root,
        )
        return run_gate(request, Terminal(out=lambda text, colored: sys.stdout.write(text), err=sys.stderr.write))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--record", action="store_true", help="write the expected outcome from this run")
    parser.add_argument("--no-http-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.no_http_child:
        sys.exit(_no_http_child())
    starts, bases, demos, outcomes = [], [], [], []
    with conditions() as box:
        for _ in range(args.repeat):
            starts.append(timed_run("-m", "gate", "--version")[0])
            bases.append(without_http())
            seconds, report = demo()
            demos.append(seconds)
            outcomes.append(outcome(report))
            http = next(c["duration_s"] for c in report["checks"] if c["name"] == "http")
            print(f"  run: demo {seconds:.2f} s (http check {http:.2f} s)")
    start_s, base_s, demo_s = (statistics.median(values) for values in (starts, bases, demos))
    print(f"start-up `gate --version`         {start_s:6.2f} s")
    print(f"no-http  the demo without http    {base_s:6.2f} s")
    print(
        f"demo     `gate demo`              {demo_s:6.2f} s   {demo_s / base_s:4.2f}x the no-http demo, "
        f"{demo_s - base_s:.2f} s for http (target: demo <= {TARGET_S:g} s)"
    )
    print(box.report())
    if args.record:
        EXPECTED.write_text(json.dumps(outcomes[0], indent=1) + "\n")
        print(f"recorded the expected outcome in {EXPECTED.name}")
    expected = json.loads(EXPECTED.read_text())
    same = all(found == expected for found in outcomes)
    print(
        f"outcome: {len(expected['findings'])} findings, {len(expected['budgets'])} budgets, "
        f"{expected['verdict']} exit {expected['exit_code']}; every run identical to {EXPECTED.name}: {same}"
    )
    if not same:
        for found in outcomes:
            for key in ("findings", "budgets"):
                for item in [x for x in found[key] if x not in expected[key]][:10]:
                    print(f"  only now ({key}):", item)
                for item in [x for x in expected[key] if x not in found[key]][:10]:
                    print(f"  only expected ({key}):", item)
            for key in ("verdict", "exit_code"):
                if found[key] != expected[key]:
                    print(f"  {key}: {found[key]} (expected {expected[key]})")
        raise SystemExit(1)


if __name__ == "__main__":
    main()
