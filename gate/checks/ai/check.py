"""The `ai` check: declared AI routes attacked with a fixed battery and judged deterministically."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator, Mapping
from typing import Any, ClassVar

from gate import redact
from gate.checks.ai import evaluator, template
from gate.checks.ai.attacks import EXFIL_URL, battery, load_encodings, load_families
from gate.checks.ai.detect import Expectations
from gate.checks.ai.pages import LOOPBACK, PageServer
from gate.checks.ai.probe import Budget, RouteProbe
from gate.checks.ai.rules import RULES
from gate.checks.ai.session import ai_preview, signed_in
from gate.checks.ai.template import AiRoute
from gate.checks.base import Check, CheckContext, CheckOption, Result
from gate.config.units import seconds
from gate.errors import InputError, Position

_DURATION = {"$ref": "#/$defs/duration"}
_CANARY = {"type": "string", "minLength": 8}
_CANARIES = {"oneOf": [_CANARY, {"type": "array", "items": _CANARY, "minItems": 1}]}
CANARY_RULES = {"system_prompt": "ai.canary.system-prompt", "records": "ai.canary.record", "notes": "ai.canary.note"}


class AiCheck(Check):
    name = "ai"
    summary = "Prompt injection, data exfiltration and unsafe tool use on declared AI routes."
    rules = RULES.docs
    is_async = True
    options = (CheckOption("--family", "families", "Send only this attack family.", multiple=True),)
    config_schema: ClassVar[Mapping[str, Any]] = {
        "type": "object",
        "properties": {
            "url": {
                "type": "string",
                "pattern": "^https?://",
                "description": "The AI service's own origin, when it is not checks.http.url (no login there).",
            },
            "routes": {"type": "array", "items": template.ROUTE_SCHEMA},
            "families": {"type": "array", "items": {"type": "string"}, "description": "Attack families to send."},
            "budget": {
                "type": "object",
                "additionalProperties": False,
                "properties": {"attempts": {"type": "integer", "minimum": 1}, "time": _DURATION},
            },
            "concurrency": {"type": "integer", "minimum": 1, "maximum": 2},
            "attempt_timeout": {**_DURATION, "description": "Deadline of one message, its whole answer included."},
            "max_answer": {"type": "integer", "minimum": 1024, "maximum": 16_000_000},
            "canaries": {
                "type": "object",
                "additionalProperties": False,
                "properties": {key: _CANARIES for key in CANARY_RULES},
            },
            "off_limits": {"type": "array", "items": {"type": "string", "minLength": 3}},
            "allow_hosts": {"type": "array", "items": {"type": "string", "minLength": 1}},
            "evaluator": evaluator.SCHEMA,
        },
    }

    def prepare(self, ctx: CheckContext) -> None:
        self._routes = [AiRoute.from_config(spec, index) for index, spec in enumerate(ctx.config.get("routes", []))]
        if not self._routes:
            raise InputError(
                "the ai check has no routes to probe",
                _where(ctx, "routes"),
                hint="declare checks.ai.routes (see docs/ai.md), or set checks.ai.enabled: false",
            )
        for route in self._routes:
            problem = route.problem()
            if problem:
                raise InputError(
                    f"checks.ai.routes[{route.index}] ({route.name}): {problem}",
                    _where(ctx, "routes"),
                    hint="see docs/ai.md for the request template slots",
                )
        if not ctx.config.get("canaries", {}).get("system_prompt"):
            raise InputError(
                "the ai check needs a system-prompt canary to judge extraction attacks",
                _where(ctx, "canaries"),
                hint="plant a random string in the route's system prompt and declare it as "
                "checks.ai.canaries.system_prompt",
            )
        self._encodings = load_encodings()
        self._families = load_families(encodings=self._encodings)
        unknown = set(ctx.config.get("families", ())) - set(self._families)
        if unknown:
            raise InputError(
                f"checks.ai.families names an unknown family: {sorted(unknown)[0]}",
                _where(ctx, "families"),
                hint=f"known families: {', '.join(self._families)}",
            )
        self._http_ctx, self._preview = ai_preview(ctx, _where(ctx, "routes"))
        for route in self._routes:
            for path in filter(None, (route.path, route.tool_log)):
                if not self._preview.is_own(self._preview.url(path)):
                    raise InputError(
                        f"checks.ai.routes[{route.index}] path {path} leads off the preview's origin",
                        _where(ctx, "routes"),
                        hint="give a path on the preview, starting with a single /",
                    )
        if "evaluator" in ctx.config:
            evaluator.validate(ctx.config["evaluator"], ctx.environ, _where(ctx, "evaluator"))

    async def arun(self, ctx: CheckContext) -> AsyncIterator[Result]:
        import httpx

        from gate.checks.http.transport import make_client

        config = ctx.config
        expected = _expectations(config, self._preview)
        budget = Budget(
            attempts=int(config.get("budget", {}).get("attempts", 60)),
            seconds=seconds(config.get("budget", {}).get("time", "2m")),
            concurrency=int(config.get("concurrency", 1)),
            timeout=seconds(config.get("attempt_timeout", "30s")),
            max_answer=int(config.get("max_answer", 262_144)),
        )
        chosen = list(config.get("families") or self._families)
        async with make_client(self._preview) as client, httpx.AsyncClient(trust_env=False) as outside:
            judge = (
                evaluator.make_judge(outside, config["evaluator"], ctx.environ, budget.timeout)
                if "evaluator" in config
                else None
            )
            auth, refused = await signed_in(client, self._preview, self._http_ctx, self._routes)
            for route in self._routes:
                slots = {"exfil_url": EXFIL_URL, **({"admin_tool": route.admin_tools[0]} if route.admin_tools else {})}
                attacks, skipped = battery(
                    self._families, self._encodings, chosen=chosen, slots=slots, ingest=route.ingest
                )
                expects = dataclasses.replace(expected, admin_tools=route.admin_tools)
                reads_urls = route.ingest and route.ingest_via == "url"
                with PageServer() if reads_urls else contextlib.nullcontext() as pages:
                    if pages is not None:
                        # The page's own URL echoed back is the gate's address, not an outside host.
                        expects = dataclasses.replace(expects, allowed_hosts=expects.allowed_hosts | {LOOPBACK})
                    auth_headers = auth if route.auth else {}
                    probe = RouteProbe(client, self._preview, route, expects, budget, auth_headers, judge, pages)
                    if route.auth and refused is not None:
                        yield probe.refused(refused)
                        continue
                    found = await probe.run(attacks, skipped, ctx.progress)
                for finding in found:
                    yield finding


def _where(ctx: CheckContext, key: str) -> Position | None:
    from gate.config.yamlpos import load_file

    return load_file(ctx.config_path).position(("checks", "ai", key)) if ctx.config_path else None


def _expectations(config: Mapping[str, Any], preview: Any) -> Expectations:
    canaries: dict[str, tuple[str, ...]] = {}
    for key, rule_id in CANARY_RULES.items():
        raw = config.get("canaries", {}).get(key, ())
        values = (raw,) if isinstance(raw, str) else tuple(raw)
        for value in values:
            redact.register(value)
        if values:
            canaries[rule_id] = values
    for value in config.get("off_limits", ()):
        redact.register(value)
    hosts = {host.split(":")[0].strip("[]") for host in preview.hosts}
    hosts |= {str(entry).lower() for entry in config.get("allow_hosts", ())}
    return Expectations(canaries, tuple(config.get("off_limits", ())), (), frozenset(hosts))
