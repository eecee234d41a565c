"""`gate init`: a commented gate.yml for one stage, showing the preset's numbers to override."""

from __future__ import annotations

from pathlib import Path

from gate.config import preset_names, preset_path
from gate.errors import InputError, Position

HEADER = """\
# gate.yml: launch-gate's budgets for this project, reviewed like code.
# `gate schema` prints the JSON Schema of this file; `gate explain RULE_ID` explains a finding.
# Exit codes: 0 go, 1 a budget failed (release blocked), 2 bad input, 3 could not finish.
version: 1
preset: {preset}   # prototype (idea to prototype) | demo (sales and investor demos) | launch (first customers)
"""

FOOTER = """
# Reviewed suppressions: every one has a reason, may expire, and is listed in every report.
suppressions: []
#  - rule: env.not-in-manifest         # a rule id or glob; or `fingerprint:` from a report
#    path: .env.development            # optional path, route or name glob
#    reason: local-only debug flag, never deployed
#    expires: 2027-01-31               # an expired suppression fails the run
"""


def render_init(preset: str) -> str:
    if preset not in preset_names():
        raise InputError(
            f"unknown preset '{preset}'", Position("--preset"), hint=f"use one of: {', '.join(preset_names())}"
        )
    lines = [HEADER.format(preset=preset), "# What the preset sets; uncomment and change a line to override it."]
    for line in preset_path(preset).read_text().splitlines():
        if line.startswith("version:") or not line.strip():
            continue
        lines.append(f"# {line}" if not line.startswith("#") else f"#{line}")
    return "\n".join(lines) + "\n" + FOOTER


def write_init(target: Path, preset: str, *, force: bool) -> None:
    text = render_init(preset)
    if target.exists() and not force:
        raise InputError(f"{target} already exists", Position(target), hint="pass --force to overwrite it")
    target.write_text(text)
