"""Tiny real checks registered for a test, to drive the engine and policy through the real CLI."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any, ClassVar

import pytest

from gate import redact
from gate.checks.base import Check, CheckContext, Result, RuleDoc
from gate.errors import CheckFailure, InputError
from gate.model import Budget, Location, Measurement, Severity

RULES = (
    RuleDoc("fake.problem", "A planted problem", Severity.HIGH, "It proves the pipeline.", "Remove the plant."),
    RuleDoc("fake.note", "A planted note", Severity.LOW, "It proves warnings.", "Nothing to do."),
)
OPEN_SCHEMA: Mapping[str, Any] = {"additionalProperties": True}


class Planted(Check):
    name = "planted"
    summary = "Yields what gate.yml tells it to."
    rules = RULES
    config_schema: ClassVar[Mapping[str, Any]] = OPEN_SCHEMA

    def run(self, ctx: CheckContext) -> Iterator[Result]:
        for index, path in enumerate(ctx.config.get("problems", [])):
            yield self.finding("fake.problem", f"problem {index}", location=Location(path=path, line=index + 1))
        for path in ctx.config.get("notes", []):
            yield self.finding("fake.note", "a note", location=Location(path=path, line=1))
        for route, value in ctx.config.get("latency", {}).items():
            yield Measurement(
                "http.latency.p95",
                route,
                float(value),
                "ms",
                self.name,
                samples=int(ctx.config.get("samples", 500)),
                budget=Budget(limit=300.0, min_samples=100),
            )
        secret = ctx.config.get("secret")
        if secret:
            yield self.finding(
                "fake.problem",
                "found a key",
                location=Location(path="key.txt", line=1),
                evidence=redact.evidence(secret, "test key", 4),
                subject=redact.secret_id(secret),
            )


class Raises(Check):
    name = "raises"
    summary = "Crashes."
    config_schema: ClassVar[Mapping[str, Any]] = OPEN_SCHEMA

    def run(self, ctx: CheckContext) -> Iterator[Result]:
        message = ctx.config.get("message", "boom")
        if ctx.config.get("failure"):
            raise CheckFailure(message)
        raise RuntimeError(message)
        yield  # pragma: no cover - makes this a generator


class Hangs(Check):
    name = "hangs"
    summary = "Never finishes."
    rules = RULES
    config_schema: ClassVar[Mapping[str, Any]] = OPEN_SCHEMA

    def run(self, ctx: CheckContext) -> Iterator[Result]:
        yield self.finding("fake.problem", "found before hanging", location=Location(path="a", line=1))
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            time.sleep(0.05)


class AsyncSlow(Check):
    name = "asyncslow"
    summary = "An async check that may be slow."
    rules = RULES
    is_async = True
    config_schema: ClassVar[Mapping[str, Any]] = OPEN_SCHEMA

    async def arun(self, ctx: CheckContext) -> AsyncIterator[Result]:
        yield self.finding("fake.note", "async note", location=Location(url="https://app.example.com/"))
        await asyncio.sleep(float(ctx.config.get("sleep", 0)))


class BadInputLate(Check):
    name = "badlate"
    summary = "Finds its input broken while running."
    config_schema: ClassVar[Mapping[str, Any]] = OPEN_SCHEMA

    def run(self, ctx: CheckContext) -> Iterator[Result]:
        raise InputError("the file is broken", hint="fix it")
        yield  # pragma: no cover


class YieldsJunk(Check):
    name = "junk"
    summary = "Yields something that is not a result."
    config_schema: ClassVar[Mapping[str, Any]] = OPEN_SCHEMA

    def run(self, ctx: CheckContext) -> Iterator[Result]:
        yield "not a finding"  # type: ignore[misc]


ALL = (Planted, Raises, Hangs, AsyncSlow, BadInputLate, YieldsJunk)


@pytest.fixture
def fake_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    from gate import checks

    for check in ALL:
        monkeypatch.setitem(checks.REGISTRY, check.name, check)
