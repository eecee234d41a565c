"""A project and a report for the handover tests: a real run's JSON, and one with hostile strings."""

from __future__ import annotations

from pathlib import Path

from tests.support.helpers import gate, write_files
from tests.support.projects import CLEAN_FILES

HOSTILE = (
    "<script>alert(1)</script> | ![x](http://198.51.100.7/t.png) [click](javascript:alert(1)) "
    "<img src=x onerror=alert(2)>"
)
LEAKED = "AKIAQ7TZHANDOVER2X4M"  # gate: allow - test fixture, not a live key  # pragma: allowlist secret

HANDOVER = """\
project: {name: Acme API}
checks:
  dns:
    domain: example.com
    hosts:
      www: {points_to: [acme.vercel.app]}
      staging: {exists: false}
handover:
  domains:
    - {name: example.com, registrar: Namecheap, owner: Ana Lima, renews: "2027-03-01"}
  hosting:
    - {name: Vercel, runs: web and API, owner: Ana Lima, access: team acme (2 admins)}
  deploy:
    owner: Ana Lima
    steps: [Merge to main, Vercel deploys main to production, Check /healthz]
  rollback:
    owner: Bo Chen
    steps: [Open Vercel > Deployments, Promote the previous deployment, Check /healthz]
    last_drill: {date: "2026-11-20", took: 9m}
  monitoring:
    - {name: uptime, url: "https://status.example.com", owner: Bo Chen}
  alerts:
    - {channel: "#ops on Slack", who: on-call}
"""


def handover_project(root: Path, extra: str = HANDOVER) -> Path:
    files = dict(CLEAN_FILES)
    files["gate.yml"] = "version: 1\npreset: launch\n" + extra
    files["src/keys.py"] = f'AWS_ACCESS_KEY_ID = "{LEAKED}"\n'
    write_files(root, files)
    return root


def real_report(root: Path) -> Path:
    """`gate run` on the project (env and secrets run; dns is declared but left off), its JSON kept."""
    outcome = gate("run", "--output", "json=gate.json", "-q", cwd=root)
    assert outcome.exit_code == 1, outcome.stdout + outcome.stderr
    return root / "gate.json"
