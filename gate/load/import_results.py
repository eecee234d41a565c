"""`gate import`: read a k6 JSON summary or Locust's CSV stats back, per route, for the same budgets.

* k6: the JSON `handleSummary` writes (the exported script writes it; `{"metrics": {NAME:
  {"type", "values": {...}}}}`), or the older `--summary-export` file (`{"metrics": {NAME:
  {...values...}}}`). Per-route numbers come from the submetrics tagged `gate_route:NAME`.
* Locust: `PREFIX_stats.csv` from `--csv PREFIX`. Locust keeps response times in buckets
  rounded to two significant digits above 100 ms, so its percentiles are that coarse; said in
  each measurement's note.

Both are untrusted files: bounded in size, parsed without evaluation, and a malformed one is bad
input (exit 2) naming the file and what is wrong.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gate.errors import InputError, Position
from gate.load.export import ROUTE_TAG
from gate.load.measure import CHECK, RouteBudget, error_rate_measurement, latency_measurement
from gate.load.stats import label
from gate.model import Measurement
from gate.safeio import read_regular

MAX_SUMMARY_BYTES = 32 * 1024 * 1024


@dataclass(frozen=True)
class ImportedRoute:
    """What an outside engine reported for one route; a percentile it did not report is missing."""

    source: str
    percentiles_ms: Mapping[float, float]
    requests: int
    failures: int
    note: str = ""

    @property
    def error_rate(self) -> float | None:
        return self.failures / self.requests if self.requests else None


def _read(path: Path, hint: str) -> str:
    try:
        return read_regular(path, MAX_SUMMARY_BYTES).decode("utf-8")
    except OSError as error:
        raise InputError(f"cannot read {path.name}: {error.strerror or error}", Position(path), hint=hint) from error
    except UnicodeDecodeError as error:
        raise InputError(f"{path.name} is not UTF-8 text", Position(path), hint=hint) from error


def _k6_values(metric: Any) -> Mapping[str, Any]:
    if not isinstance(metric, dict):
        return {}
    values = metric.get("values", metric)
    return values if isinstance(values, dict) else {}


def _k6_quantile(key: str) -> float | None:
    if key == "med":
        return 0.5
    if key.startswith("p(") and key.endswith(")"):
        try:
            return float(key[2:-1]) / 100.0
        except ValueError:
            return None
    return None


def read_k6_summary(path: Path) -> dict[str, ImportedRoute]:
    """Per-route numbers from a k6 summary written by the exported script (or --summary-export)."""
    hint = "pass the JSON the exported k6 script writes (k6-summary.json), or k6 --summary-export's file"
    try:
        document = json.loads(_read(path, hint))
    except json.JSONDecodeError as error:
        raise InputError(f"not JSON: {error.msg}", Position(path, error.lineno, error.colno), hint=hint) from error
    metrics = document.get("metrics") if isinstance(document, dict) else None
    if not isinstance(metrics, dict):
        raise InputError('no "metrics" object: this is not a k6 summary', Position(path), hint=hint)
    prefix = f"{{{ROUTE_TAG}:"
    routes: dict[str, ImportedRoute] = {}
    for key, metric in metrics.items():
        if not (isinstance(key, str) and key.startswith("http_req_duration" + prefix) and key.endswith("}")):
            continue
        name = key[len("http_req_duration" + prefix) : -1]
        if name == "login":
            continue
        values = _k6_values(metric)
        quantiles = {
            q: float(value)
            for stat, value in values.items()
            if (q := _k6_quantile(stat)) is not None and isinstance(value, int | float)
        }
        requests = _k6_values(metrics.get(f"http_reqs{prefix}{name}}}")).get("count", values.get("count", 0))
        failed = _k6_values(metrics.get(f"http_req_failed{prefix}{name}}}"))
        rate = failed.get("rate", failed.get("value"))
        if not isinstance(requests, int | float) or not isinstance(rate, int | float | None):
            raise InputError(f"the numbers for route {name!r} are not numbers", Position(path), hint=hint)
        failures = round(float(rate) * requests) if rate is not None else 0
        routes[name] = ImportedRoute("k6", quantiles, int(requests), failures)
    if not routes:
        raise InputError(
            f"no per-route metrics (http_req_duration{prefix}NAME}}) in this k6 summary",
            Position(path),
            hint="run the script `gate export k6` writes: it tags each request and asks for these metrics",
        )
    return routes


_LOCUST_PERCENTILES = {
    "50%": 0.50,
    "66%": 0.66,
    "75%": 0.75,
    "80%": 0.80,
    "90%": 0.90,
    "95%": 0.95,
    "98%": 0.98,
    "99%": 0.99,
    "99.9%": 0.999,
    "99.99%": 0.9999,
    "100%": 1.0,
}


def read_locust_stats(path: Path) -> dict[str, ImportedRoute]:
    """Per-route numbers from Locust's `PREFIX_stats.csv`."""
    hint = "pass the PREFIX_stats.csv that locust --csv PREFIX writes"
    reader = csv.DictReader(io.StringIO(_read(path, hint)))
    needed = {"Name", "Request Count", "Failure Count", "50%", "95%", "99%"}
    if reader.fieldnames is None or not needed <= set(reader.fieldnames):
        raise InputError(
            f"missing columns {sorted(needed - set(reader.fieldnames or []))}", Position(path, 1), hint=hint
        )
    routes: dict[str, ImportedRoute] = {}
    for line, row in enumerate(reader, start=2):
        name = row["Name"]
        if name in ("Aggregated", "login") or not name:
            continue
        try:
            requests = int(row["Request Count"])
            failures = int(row["Failure Count"])
            quantiles = {
                q: float(row[column])
                for column, q in _LOCUST_PERCENTILES.items()
                if row.get(column) not in (None, "", "N/A")
            }
        except ValueError as error:
            raise InputError(f"route {name!r}: {error}", Position(path, line), hint=hint) from error
        routes[name] = ImportedRoute(
            "locust", quantiles, requests, failures, "Locust rounds response times to 2 significant digits above 100 ms"
        )
    if not routes:
        raise InputError("no route rows in this Locust stats file", Position(path), hint=hint)
    return routes


def imported_measurements(
    route: str, imported: ImportedRoute | None, budget: RouteBudget, *, check: str = CHECK
) -> list[Measurement]:
    """The same measurements a local run gives, from an outside engine's numbers."""
    source = imported.source if imported else "the imported summary"
    context = f"from {source}: {imported.requests} requests" if imported else f"{route} is missing from {source}"
    if imported and imported.note:
        context += f"; {imported.note}"
    samples = imported.requests if imported else 0
    measurements = []
    for q, limit in budget.percentiles():
        value = imported.percentiles_ms.get(q) if imported else None
        note = context if value is not None or not imported else f"{source} did not report {label(q)}"
        measurements.append(latency_measurement(route, q, limit, value, samples, budget, note, check))
    if budget.error_rate is not None:
        rate = imported.error_rate if imported else None
        measurements.append(error_rate_measurement(route, rate, samples, budget, context, check))
    return measurements
