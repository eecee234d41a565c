"""One round of probes: each target asked once, through the http check's own client and rules.

A probe never raises for what the target did: refusals, deadlines, bad certificates and wrong
answers are results (`ok=False` with the reason in words). Only the gate's own bugs escape.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import ssl
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gate.checks.base import CheckContext
from gate.checks.http.login import LoginFailed, login
from gate.checks.http.preview import Preview, preview_from_context
from gate.checks.http.routes import Route
from gate.checks.http.tls import handshake, split_host
from gate.checks.http.transport import RequestFailed, Session, make_client
from gate.config.domains import domain_map
from gate.load import Endpoint, Request, measure_stream, stream_settings
from gate.redact import scrub
from gate.watch.config import Settings, Target

#: A probe keeps this much of a body: enough to see an error page, never an endless answer.
PROBE_BODY = 64_000
#: Certificates closer to expiry than this fail their probe (the http check's launch fail_days).
TLS_FAIL_DAYS = 14


@dataclass(frozen=True)
class ProbeResult:
    target: str
    at: float
    ok: bool
    latency_ms: float | None
    detail: str


class Prober:
    """The client, preview and login context shared by every round of one watcher."""

    def __init__(self, settings: Settings, full_config: Mapping[str, Any], environ: Mapping[str, str], root: Path):
        http = dict(full_config.get("checks", {}).get("http", {}))
        self.ctx = CheckContext(
            root=root,
            config={**http, "url": settings.url},
            preset=str(full_config.get("preset", "launch")),
            environ=environ,
            full_config=full_config,
        )
        # The same hosts the http check sees, the dns check's host map included.
        preview = preview_from_context(self.ctx, domain_map(full_config))
        limits = dataclasses.replace(preview.limits, timeout=settings.timeout_s)
        self.preview: Preview = dataclasses.replace(preview, limits=limits)
        self.settings = settings
        self.tls_fail_days = int(http.get("tls", {}).get("fail_days", TLS_FAIL_DAYS))

    async def round(self, targets: Sequence[Target] | None = None) -> list[ProbeResult]:
        """Every target once, concurrently within the http limits; results in target order."""
        chosen = list(targets if targets is not None else self.settings.targets)
        async with make_client(self.preview) as client:
            session = Session(client, self.preview.limits)
            return list(await asyncio.gather(*(self.probe(session, target) for target in chosen)))

    async def probe(self, session: Session, target: Target) -> ProbeResult:
        started = time.time()
        clock = time.monotonic()
        try:
            ok, detail = await asyncio.wait_for(self._ask(session, target), self.settings.timeout_s + 1.0)
        except TimeoutError:
            ok, detail = False, f"no answer within {self.settings.timeout_s:g}s"
        except RequestFailed as failure:
            ok, detail = False, failure.reason
        except LoginFailed as failure:
            ok, detail = False, f"login failed: {failure}"
        except (OSError, ssl.SSLError) as error:
            ok, detail = False, f"{type(error).__name__}: {error}"
        elapsed = (time.monotonic() - clock) * 1000.0
        if ok and target.budget_ms is not None and elapsed > target.budget_ms:
            ok, detail = False, f"slow: {elapsed:.0f} ms, over its {target.budget_ms:.0f} ms budget ({detail})"
        return ProbeResult(target.name, started, ok, elapsed, scrub(detail))

    async def _ask(self, session: Session, target: Target) -> tuple[bool, str]:
        if target.kind == "http":
            page = await session.fetch(target.url, method=target.method, max_body=PROBE_BODY)
            good = page.status in target.expect if target.expect else page.status < 400
            return good, f"HTTP {page.status}"
        if target.kind == "login":
            await login(session, self.preview, self.ctx.config["login"], self.ctx, "login")
            return True, "signed in"
        if target.kind == "stream":
            return await self._stream(target)
        if target.kind == "tls":
            return await self._tls(target.host)
        return await self._dns(target.host)

    async def _stream(self, target: Target) -> tuple[bool, str]:
        http = self.ctx.config
        route = Route.from_config(target.spec or {"path": target.url.removeprefix(self.preview.base_url.rstrip("/"))})
        merged = {**http.get("budgets", {}).get("stream", {}), **route.spec.get("stream", {})}
        budget, limits = stream_settings({k: v for k, v in merged.items() if k in ("first_event", "stall", "max_time")})
        endpoint = Endpoint.parse(self.preview.base_url, self.preview.trust)
        # The stream client connects to the address the http check's resolver allows, as the check does.
        address = (await self.preview.resolver.addresses(endpoint.host, endpoint.port))[0]
        endpoint = dataclasses.replace(endpoint, address=address)
        headers = {name.lower(): value for name, value in self.preview.secret_headers.items()}
        request = Request.build(endpoint, route.method, route.path, {**headers, **route.headers}, route.body)
        result = await measure_stream(endpoint, request, dataclasses.replace(limits, total_s=self.settings.timeout_s))
        problems = result.problems(limits.stall_s)
        if problems:
            return False, "; ".join(problem.message for problem in problems)
        first = result.first_event_ms
        if budget.first_event_ms is not None and first is not None and first > budget.first_event_ms:
            return False, f"first event after {first:.0f} ms, over its {budget.first_event_ms:.0f} ms budget"
        return True, f"first event after {first:.0f} ms" if first is not None else "stream answered"

    async def _tls(self, host: str) -> tuple[bool, str]:
        from cryptography import x509

        name, port = split_host(host)
        shake = await handshake(self.preview.resolver, name, port, self.preview.trust, self.settings.timeout_s)
        if shake.der is None:
            return False, "the server presented no certificate"
        expires = x509.load_der_x509_certificate(shake.der).not_valid_after_utc
        left = (expires - datetime.datetime.now(datetime.UTC)).total_seconds() / 86400.0
        detail = f"certificate valid for {left:.1f} more days (until {expires:%Y-%m-%d %H:%M} UTC)"
        if left < self.tls_fail_days:
            return False, f"{detail}: fewer than {self.tls_fail_days} days, renew it now"
        return True, detail

    async def _dns(self, host: str) -> tuple[bool, str]:
        # What the world sees: the system resolver, not the http check's pins (a DNS probe that
        # asked the pins would pass while the real name is gone).
        loop = asyncio.get_running_loop()
        try:
            answers = await loop.getaddrinfo(host, None, proto=6)
        except OSError as error:
            return False, f"{host} does not resolve: {error}"
        addresses = sorted({str(answer[4][0]) for answer in answers})
        return bool(addresses), f"{host} -> {', '.join(addresses[:4])}"
