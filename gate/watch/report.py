"""The report a founder reads in one glance: uptime, p50/p95, errors, slowest hour, deploys.

Thresholds come from the stage preset (`watch.report`): at launch, p95 at most 500 ms on core
routes and uptime at least 99.9 %; a report that breaches one says so first and makes `gate watch
report` exit 1 (and, with --alert, tells the alert channels).
"""

from __future__ import annotations

import datetime
import html
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from gate.load.stats import percentile
from gate.watch.alerts import duration, stamp
from gate.watch.config import Settings
from gate.watch.probes import ProbeResult
from gate.watch.store import Store

HOUR = 3600.0


@dataclass(frozen=True)
class TargetStats:
    target: str
    core: bool
    probes: int
    failures: int
    uptime: float | None
    p50_ms: float | None
    p95_ms: float | None
    slowest_hour: str | None
    slowest_hour_p95_ms: float | None
    last_error: str | None


@dataclass(frozen=True)
class LaunchReport:
    since: float
    until: float
    targets: list[TargetStats]
    deploys: int
    incidents: int
    downtime_s: float
    breaches: list[str] = field(default_factory=list)
    # Per hour (start, epoch s): per target, (p95 ms or None, uptime fraction).
    hourly: dict[float, dict[str, tuple[float | None, float]]] = field(default_factory=dict)


def _p(values: Sequence[float], q: float) -> float | None:
    return percentile(sorted(values), q) if values else None


def _stats(name: str, core: bool, probes: Sequence[ProbeResult]) -> TargetStats:
    latencies = [p.latency_ms for p in probes if p.ok and p.latency_ms is not None]
    by_hour: dict[float, list[float]] = defaultdict(list)
    for probe in probes:
        if probe.ok and probe.latency_ms is not None:
            by_hour[probe.at // HOUR * HOUR].append(probe.latency_ms)
    slowest = max(by_hour.items(), key=lambda item: _p(item[1], 0.95) or 0.0, default=None)
    failures = [p for p in probes if not p.ok]
    return TargetStats(
        target=name,
        core=core,
        probes=len(probes),
        failures=len(failures),
        uptime=(len(probes) - len(failures)) / len(probes) if probes else None,
        p50_ms=_p(latencies, 0.50),
        p95_ms=_p(latencies, 0.95),
        slowest_hour=stamp(slowest[0])[:-10] + ":00 UTC" if slowest else None,
        slowest_hour_p95_ms=_p(slowest[1], 0.95) if slowest else None,
        last_error=failures[-1].detail if failures else None,
    )


def build(store: Store, settings: Settings, since_s: float, now: float) -> LaunchReport:
    since = now - since_s
    probes = store.probes_since(since)
    grouped: dict[str, list[ProbeResult]] = defaultdict(list)
    for probe in probes:
        grouped[probe.target].append(probe)
    core = {target.name: target.core for target in settings.targets}
    names = [target.name for target in settings.targets] + sorted(set(grouped) - set(core))
    stats = [_stats(name, core.get(name, False), grouped.get(name, [])) for name in names]
    breaches = []
    for item in stats:
        if item.uptime is not None and item.uptime < settings.uptime:
            breaches.append(f"{item.target}: uptime {item.uptime:.3%} is below {settings.uptime:.3%}")
        if item.core and item.p95_ms is not None and item.p95_ms > settings.p95_ms:
            breaches.append(f"{item.target}: p95 {item.p95_ms:.0f} ms is over the {settings.p95_ms:.0f} ms budget")
    incidents = store.incidents_since(since)
    downtime = sum((i.resolved_at or now) - max(i.opened_at, since) for i in incidents)
    hourly: dict[float, dict[str, tuple[float | None, float]]] = defaultdict(dict)
    buckets: dict[tuple[float, str], list[ProbeResult]] = defaultdict(list)
    for probe in probes:
        buckets[(probe.at // HOUR * HOUR, probe.target)].append(probe)
    for (hour, name), items in sorted(buckets.items()):
        latencies = [p.latency_ms for p in items if p.ok and p.latency_ms is not None]
        hourly[hour][name] = (_p(latencies, 0.95), sum(p.ok for p in items) / len(items))
    plain = {hour: dict(row) for hour, row in hourly.items()}
    return LaunchReport(since, now, stats, store.deploys_since(since), len(incidents), downtime, breaches, plain)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} ms"


def markdown(report: LaunchReport, chart: str | None = None) -> str:
    """GitHub-flavoured Markdown; `chart` is the SVG file's name, shown as an image when given."""
    period = f"{stamp(report.since)} to {stamp(report.until)}"
    lines = [f"## Launch report: {period}", ""]
    if report.breaches:
        lines += ["**Over the launch bar:**", *[f"- {b}" for b in report.breaches], ""]
    else:
        lines += ["Every target within the launch bar.", ""]
    lines += [
        f"Deploys: {report.deploys} · incidents: {report.incidents} · downtime: {duration(report.downtime_s)}",
        "",
        "| Target | Uptime | p50 | p95 | Errors | Slowest hour (p95) |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for item in report.targets:
        uptime = "-" if item.uptime is None else f"{item.uptime:.3%}"
        slowest = f"{item.slowest_hour} ({_ms(item.slowest_hour_p95_ms)})" if item.slowest_hour else "-"
        name = item.target.replace("|", "\\|") + (" (core)" if item.core else "")
        lines.append(f"| {name} | {uptime} | {_ms(item.p50_ms)} | {_ms(item.p95_ms)} | {item.failures} | {slowest} |")
    if chart:
        lines += ["", f"![p95 latency and uptime per hour]({chart})"]
    return "\n".join(lines) + "\n"


def as_json(report: LaunchReport) -> dict[str, Any]:
    data = asdict(report)
    data["hourly"] = [
        {"hour": stamp(hour), "targets": {name: {"p95_ms": p95, "uptime": up} for name, (p95, up) in row.items()}}
        for hour, row in sorted(report.hourly.items())
    ]
    data["since"], data["until"] = stamp(report.since), stamp(report.until)
    return data


def _label(name: str) -> str:
    escaped = name.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'target="{escaped}"'


def openmetrics(report: LaunchReport) -> str:
    """OpenMetrics text: gauges per target over the report's window, ending with `# EOF`."""
    families = [
        ("launch_gate_watch_uptime_ratio", "Share of successful probes in the window.", "uptime"),
        ("launch_gate_watch_latency_p50_seconds", "Median latency of successful probes.", "p50_ms"),
        ("launch_gate_watch_latency_p95_seconds", "95th percentile latency of successful probes.", "p95_ms"),
        ("launch_gate_watch_failed_probes", "Failed probes in the window.", "failures"),
    ]
    lines = []
    for metric, help_text, attribute in families:
        lines += [f"# TYPE {metric} gauge", f"# HELP {metric} {help_text}"]
        for item in report.targets:
            value = getattr(item, attribute)
            if value is None:
                continue
            value = value / 1000.0 if attribute.endswith("_ms") else value
            lines.append(f"{metric}{{{_label(item.target)}}} {value:.6g}")
    lines += [
        "# TYPE launch_gate_watch_deploys gauge",
        "# HELP launch_gate_watch_deploys Deploys recorded in the window.",
        f"launch_gate_watch_deploys {report.deploys}",
        "# EOF",
    ]
    return "\n".join(lines) + "\n"


_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf")


def svg(report: LaunchReport, width: int = 720, height: int = 260) -> str:
    """p95 latency per hour as one line per target, hourly uptime below it as bars (red under 100 %)."""
    hours = sorted(report.hourly)
    names = [item.target for item in report.targets][: len(_COLOURS)]
    top, chart_h, bar_h, left = 24, 150, 40, 56
    plot_w = width - left - 150
    peak = max([p for row in report.hourly.values() for p, _ in row.values() if p is not None] or [1.0])
    step = plot_w / max(len(hours) - 1, 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" '
        'font-size="11" role="img" aria-label="p95 latency and uptime per hour">',
        '<rect width="100%" height="100%" fill="#fff"/>',
        f'<text x="{left}" y="14">p95 latency per hour (peak {peak:.0f} ms)</text>',
        f'<line x1="{left}" y1="{top + chart_h}" x2="{left + plot_w}" y2="{top + chart_h}" stroke="#999"/>',
    ]
    for index, name in enumerate(names):
        points = [
            f"{left + i * step:.1f},{top + chart_h - (row[name][0] or 0.0) / peak * chart_h:.1f}"
            for i, hour in enumerate(hours)
            if name in (row := report.hourly[hour]) and row[name][0] is not None
        ]
        colour = _COLOURS[index]
        if points:
            parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{" ".join(points)}"/>')
        parts.append(
            f'<text x="{left + plot_w + 10}" y="{top + 12 + 14 * index}" fill="{colour}">{html.escape(name)}</text>'
        )
    bars_y = top + chart_h + 30
    parts.append(f'<text x="{left}" y="{bars_y - 6}">uptime per hour</text>')
    bar_w = max(plot_w / max(len(hours), 1) - 1, 1)
    for i, hour in enumerate(hours):
        ups = [up for _, up in report.hourly[hour].values()]
        worst = min(ups) if ups else 1.0
        colour = "#2ca02c" if worst >= 1.0 else "#ff7f0e" if worst >= 0.99 else "#d62728"
        x = left + i * (plot_w / max(len(hours), 1))
        parts.append(
            f'<rect x="{x:.1f}" y="{bars_y}" width="{bar_w:.1f}" height="{bar_h}" fill="{colour}">'
            f"<title>{stamp(hour)}: {worst:.2%}</title></rect>"
        )
    if hours:
        first = datetime.datetime.fromtimestamp(hours[0], datetime.UTC)
        parts.append(f'<text x="{left}" y="{bars_y + bar_h + 14}">{first:%Y-%m-%d %H:00} UTC</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
