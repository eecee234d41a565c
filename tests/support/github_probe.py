"""Small real checks standing in for `secrets` and `http` (built in parallel elsewhere).

They take the config keys the GitHub context sets (`diff`, `history`, `url`), record what they
were given, and yield findings on files and lines plus a latency measurement, one of them
quoting a canary secret raw, so the tests can prove every GitHub channel scrubs it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

from gate import redact
from gate.checks.base import Check, CheckContext, Result, RuleDoc
from gate.checks.http import HttpCheck
from gate.checks.secrets import SecretsCheck
from gate.model import Budget, Location, Measurement, Severity

CANARY = "ghp_CanaryCanaryCanaryCanary0123456789ab"
SEEN: list[Mapping[str, Any]] = []


class SecretsProbe(Check):
    name = "secrets"
    summary = "Probe standing in for the secrets check."
    # The real secrets check's `sources` section, so the presets' values validate here too.
    config_schema: ClassVar[Mapping[str, Any]] = {
        "properties": {
            "sources": SecretsCheck.config_schema["properties"]["sources"],
            "findings": {"type": "integer"},
        }
    }
    rules = (
        RuleDoc("secrets.probe-token", "Token committed to the repository", Severity.CRITICAL, "why", "Rotate it."),
        RuleDoc("secrets.probe-note", "Something worth a look", Severity.LOW, "why", "Look at it."),
    )

    def run(self, ctx: CheckContext) -> Iterator[Result]:
        SEEN.append(dict(ctx.config))
        evidence = redact.evidence(CANARY, "GitHub token", public_prefix=4)
        yield self.finding(
            "secrets.probe-token",
            f"A GitHub token ({CANARY}) is in the added lines: 100%, a,b: see below\nsecond line\n::warning::forged",
            location=Location(path="src/config.py", line=12, column=9),
            evidence=evidence,
            subject="canary",
        )
        for index in range(int(ctx.config.get("findings", 0))):
            yield self.finding(
                "secrets.probe-note",
                f"note {index}",
                location=Location(path="src/notes.py", line=index + 1),
                subject=str(index),
            )


class HttpProbe(Check):
    name = "http"
    summary = "Probe standing in for the http check."
    # The real http check's section, so the presets' http numbers validate against the probe too.
    config_schema: ClassVar[Mapping[str, Any]] = HttpCheck.config_schema
    rules = (RuleDoc("http.probe-route", "Route answered badly", Severity.HIGH, "why", "Fix the route."),)

    def run(self, ctx: CheckContext) -> Iterator[Result]:
        SEEN.append(dict(ctx.config))
        # A finding with no file, about a route gate.yml declares: it must land on that line.
        for route in ctx.config.get("routes", []):
            url = str(ctx.config.get("url", "")).rstrip("/") + route["path"]
            yield self.finding(
                "http.probe-route",
                f"{route['path']} answered 500",
                location=Location(url=url, route=route["path"]),
                subject=route["path"],
            )
        for route, value in (("/api/items", 180.0), ("/api/report", 2600.0)):
            yield Measurement(
                name="latency.p95",
                subject=route,
                value=value,
                unit="ms",
                check=self.name,
                samples=50,
                budget=Budget(limit=300.0 if route == "/api/items" else 2000.0),
            )
