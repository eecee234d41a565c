"""`--baseline report.json`: has a route's p95 or error rate grown past the allowed ratio?

The baseline is an earlier JSON report (`launch-gate/report/v1`, gate/report/json_report.py),
typically the base branch's last run kept as a CI artifact. For each route measured now and
then, the growth is now / then, judged against `max_growth` (1.2 allows 20 % growth). A
baseline number that was never judged (no value, or too few samples) is no baseline. An error
rate that was zero is taken as one error in the baseline's requests, so growth stays finite and
a route that starts failing is still caught.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gate.errors import InputError, Position
from gate.model import Budget, Measurement
from gate.safeio import read_regular

SCHEMA = "launch-gate/report/v1"
COMPARED = ("latency.p95", "error-rate")
MAX_BASELINE_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class BaselineValue:
    measured: float
    samples: int


Baseline = Mapping[tuple[str, str, str], BaselineValue]


def read_baseline(path: Path) -> Baseline:
    """The judged numbers of a JSON report, keyed by (check, id, subject)."""
    try:
        document = json.loads(read_regular(path, MAX_BASELINE_BYTES).decode("utf-8"))
    except OSError as error:
        raise InputError(
            f"cannot read the baseline report: {error.strerror or error}",
            Position(path),
            hint="pass the JSON report of an earlier run (gate run --output json=report.json)",
        ) from error
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        line = getattr(error, "lineno", None)
        raise InputError(
            f"the baseline report is not JSON: {error}",
            Position(path, line),
            hint="pass a report written by --output json=PATH",
        ) from error
    if not isinstance(document, dict) or document.get("schema") != SCHEMA:
        raise InputError(
            f"the baseline is not a {SCHEMA} report", Position(path), hint="pass a report written by --output json=PATH"
        )
    values: dict[tuple[str, str, str], BaselineValue] = {}
    budgets = document.get("budgets")
    if not isinstance(budgets, list):
        raise InputError("the baseline report has no budgets list", Position(path), hint="regenerate it")
    for entry in budgets:
        value = _judged(entry)
        if value is not None:
            values[(str(entry["check"]), str(entry["id"]), str(entry["subject"]))] = value
    return values


def _judged(entry: Any) -> BaselineValue | None:
    if not isinstance(entry, dict) or entry.get("status") not in ("pass", "warn", "fail"):
        return None
    measured, samples = entry.get("measured"), entry.get("samples")
    if not isinstance(measured, int | float) or isinstance(measured, bool):
        return None
    return BaselineValue(float(measured), samples if isinstance(samples, int) and samples > 0 else 1)


def regressions(
    current: Iterable[Measurement], baseline: Baseline, *, max_growth: float, warn_only: bool = False
) -> list[Measurement]:
    """One growth measurement per current p95 or error rate that the baseline also has."""
    found = []
    for measurement in current:
        if measurement.name not in COMPARED or measurement.value is None:
            continue
        then = baseline.get((measurement.check, measurement.name, measurement.subject))
        if then is None:
            continue
        floor = then.measured
        if measurement.name == "error-rate":
            floor = max(floor, 1.0 / then.samples)
        if floor <= 0:
            continue
        found.append(
            Measurement(
                name=f"regression.{measurement.name}",
                subject=measurement.subject,
                value=measurement.value / floor,
                unit="ratio",
                check=measurement.check,
                samples=measurement.samples,
                budget=Budget(max_growth, warn_only=warn_only),
                note=f"now {measurement.value:.4g} {measurement.unit}, baseline {then.measured:.4g} {measurement.unit}",
            )
        )
    return found
