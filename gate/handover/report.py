"""Reads the last JSON report (`gate ... --output json=gate.json`), checked against its schema."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gate.errors import InputError

MAX_REPORT_BYTES = 64 * 1024 * 1024
_SCHEMA = Path(__file__).resolve().parent.parent / "report" / "report.schema.json"


def read_report(path: Path) -> dict[str, Any]:
    """The report as a dict; a missing, oversized, non-JSON or off-schema file is bad input."""
    import jsonschema

    if not path.is_file():
        raise InputError(f"report {path} does not exist", hint="write one with `gate run --output json=gate.json`")
    if path.stat().st_size > MAX_REPORT_BYTES:
        raise InputError(f"report {path} is larger than {MAX_REPORT_BYTES} bytes")
    try:
        data = json.loads(path.read_bytes())
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputError(f"report {path} is not JSON: {exc}") from exc
    errors = sorted(jsonschema.Draft202012Validator(json.loads(_SCHEMA.read_text())).iter_errors(data), key=str)
    if errors:
        where = "/".join(str(part) for part in errors[0].absolute_path) or "the top level"
        raise InputError(
            f"report {path} is not a launch-gate JSON report (at {where}: {errors[0].message[:200]})",
            hint="pass the file `--output json=PATH` or `--format json` wrote",
        )
    report: dict[str, Any] = data
    return report


def place(finding: Mapping[str, Any]) -> str:
    """Where a finding points, as the console says it: path:line, the URL, or the name."""
    location = finding.get("location", {})
    if location.get("path"):
        line = location.get("line")
        return f"{location['path']}:{line}" if line else str(location["path"])
    return str(location.get("url") or location.get("name") or "")
