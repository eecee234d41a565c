"""The measurement engine the http check calls: bounded load, streams, rate limits, and their numbers.

Nothing here reads gate.yml or decides pass/fail: the http check builds requests and budgets
from its config, calls these functions, and yields the `Measurement`s they return; the policy
judges. docs/load.md describes the API and the measurements behind its design.
"""

from gate.load.baseline import read_baseline, regressions
from gate.load.config import BUDGET_SCHEMA, LOAD_SCHEMA, STREAM_SCHEMA, load_plan, route_budget, stream_settings
from gate.load.export import ExportLogin, ExportPlan, ExportRoute, k6_script, locustfile
from gate.load.generator import Closed, Cold, LoadPlan, LoadResult, Open, load, run_load
from gate.load.import_results import ImportedRoute, imported_measurements, read_k6_summary, read_locust_stats
from gate.load.measure import RouteBudget, StreamBudget, route_measurements, stream_measurements
from gate.load.monitor import ClientHealth, HealthLimits
from gate.load.ratelimit import BurstResult, LimitSignal, burst_probe
from gate.load.stats import Latencies, percentile, samples_needed
from gate.load.stepping import SafeConcurrency, find_safe_concurrency, levels
from gate.load.stream import StreamLimits, StreamResult, measure_stream
from gate.load.wire import Endpoint, Request

__all__ = [
    "BUDGET_SCHEMA",
    "LOAD_SCHEMA",
    "STREAM_SCHEMA",
    "BurstResult",
    "ClientHealth",
    "Closed",
    "Cold",
    "Endpoint",
    "ExportLogin",
    "ExportPlan",
    "ExportRoute",
    "HealthLimits",
    "ImportedRoute",
    "Latencies",
    "LimitSignal",
    "LoadPlan",
    "LoadResult",
    "Open",
    "Request",
    "RouteBudget",
    "SafeConcurrency",
    "StreamBudget",
    "StreamLimits",
    "StreamResult",
    "burst_probe",
    "find_safe_concurrency",
    "imported_measurements",
    "k6_script",
    "levels",
    "load",
    "load_plan",
    "locustfile",
    "measure_stream",
    "percentile",
    "read_baseline",
    "read_k6_summary",
    "read_locust_stats",
    "regressions",
    "route_budget",
    "route_measurements",
    "run_load",
    "samples_needed",
    "stream_measurements",
    "stream_settings",
]
