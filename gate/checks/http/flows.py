"""Flows and budgets on the preview: login, per-route load against budgets, access control,
cold start, streams, rate-limit bursts, regressions against a baseline, safe concurrency.

gate.yml declares the flows under `checks.http` (see docs/http.md, "Flows and budgets"); this
module turns them into `gate.load` requests and plans, and yields the findings and
`Measurement`s the load engine describes. Every number is judged by gate.policy against the
budget of the route's class, merged with the route's own overrides.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from gate import redact
from gate.bodies import DecodingError, read_async
from gate.checks.base import CheckContext, Result
from gate.checks.http.preview import Preview
from gate.checks.http.rules import MakeFinding
from gate.checks.http.transport import RequestFailed, Session
from gate.errors import InputError
from gate.load import (
    BUDGET_SCHEMA,
    LOAD_SCHEMA,
    STREAM_SCHEMA,
    Closed,
    Endpoint,
    LimitSignal,
    LoadPlan,
    LoadResult,
    Request,
    RouteBudget,
    burst_probe,
    find_safe_concurrency,
    levels,
    load_plan,
    measure_stream,
    read_baseline,
    regressions,
    route_budget,
    route_measurements,
    stream_measurements,
    stream_settings,
)
from gate.model import Budget, Location, Measurement

ROUTE_CLASSES = ["read", "write", "heavy", "stream", "auth"]
SAFE_METHODS = frozenset({"GET", "OPTIONS"})
# Shaped like a token so a server that only checks the shape still has to verify it.
MALFORMED_TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJnYXRlIn0.bm90LWEtc2lnbmF0dXJl"
SHOWN_BODY = 300

_STATUSES = {"type": "array", "items": {"type": "integer", "minimum": 100, "maximum": 599}, "minItems": 1}
_ENV_NAME = {"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_]*$"}

LOGIN_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["path", "fields"],
    "description": "How the gate signs in; credentials come from environment variables, never from gate.yml.",
    "properties": {
        "path": {"type": "string", "pattern": "^/"},
        "method": {"enum": ["POST", "PUT"]},
        "format": {"enum": ["json", "form"], "description": "Request body encoding (default json)."},
        "fields": {
            "type": "object",
            "minProperties": 1,
            "additionalProperties": _ENV_NAME,
            "description": "Body field -> environment variable holding its value.",
        },
        "role": {"type": "string", "minLength": 1, "description": "The account's role (default user)."},
        "success": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "status": {"type": "integer", "minimum": 100, "maximum": 599},
                "cookie": {"type": "string", "minLength": 1, "description": "Session cookie the login must set."},
                "token": {
                    "type": "string",
                    "minLength": 1,
                    "description": "Dotted path of the token in the JSON body.",
                },
            },
        },
        "header": {"type": "string", "minLength": 1, "description": "Header carrying the token (Authorization)."},
        "scheme": {"type": "string", "description": "Prefix of the token in that header (Bearer)."},
        "refresh": {
            "type": "object",
            "additionalProperties": False,
            "required": ["path", "token", "field"],
            "properties": {
                "path": {"type": "string", "pattern": "^/"},
                "token": {"type": "string", "description": "Dotted path of the refresh token in the login body."},
                "field": {"type": "string", "description": "Body field the refresh request sends it in."},
                "new_token": {
                    "type": "string",
                    "description": "Dotted path of the new token (default: success.token).",
                },
            },
        },
    },
}

ROUTE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["path"],
    "properties": {
        "path": {"type": "string", "pattern": "^/", "description": "Path on the preview."},
        "name": {"type": "string"},
        "method": {"enum": ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]},
        "class": {"enum": ROUTE_CLASSES, "description": "Picks the route's default budget."},
        "auth": {"type": "boolean", "description": "The route serves authenticated data."},
        "body": {"type": ["string", "object", "array"], "description": "Request body; objects are sent as JSON."},
        "headers": {"type": "object", "additionalProperties": {"type": "string"}},
        "expect": {**_STATUSES, "description": "Statuses that count as success (default: below 400)."},
        "write": {"type": "boolean", "description": "The route changes data (default: methods other than GET)."},
        "roles": {
            "type": "array",
            "items": {"type": "string", "minLength": 1},
            "description": "The only roles that may use the route; other accounts must be refused.",
        },
        "budget": BUDGET_SCHEMA,
        "stream": STREAM_SCHEMA,
        "load": LOAD_SCHEMA,
        "rate_limit": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "attempts": {"type": "integer", "minimum": 1, "maximum": 1000},
                "statuses": _STATUSES,
                "header": {"type": "string", "minLength": 1},
            },
        },
    },
}

FLOW_SCHEMA: dict[str, Any] = {
    "flows": {
        "type": "boolean",
        "description": "Run login, load, access, stream and rate-limit checks (default true).",
    },
    "login": LOGIN_SCHEMA,
    "accounts": {
        "type": "array",
        "items": {**LOGIN_SCHEMA, "required": ["path", "fields", "role"]},
        "description": "Other accounts, by role, to prove that role-restricted routes refuse them.",
    },
    "allow_writes": {"type": "boolean", "description": "Routes that change data may be loaded (previews only)."},
    "load": LOAD_SCHEMA,
    "budgets": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            **{name: BUDGET_SCHEMA for name in ROUTE_CLASSES if name != "stream"},
            "stream": {**STREAM_SCHEMA, "properties": {**STREAM_SCHEMA["properties"], **BUDGET_SCHEMA["properties"]}},
        },
    },
    "rate_limit": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "attempts": {"type": "integer", "minimum": 1, "maximum": 1000},
            "statuses": _STATUSES,
            "header": {"type": "string", "minLength": 1, "description": "Header whose presence means limited."},
        },
    },
    "baseline": {"type": "string", "description": "JSON report of an earlier run to compare p95 and error rate."},
    "max_growth": {"type": "number", "minimum": 1, "description": "Largest allowed ratio now/baseline."},
    "safe_concurrency": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "up_to": {"type": "integer", "minimum": 1, "maximum": 512},
            "require": {"type": "integer", "minimum": 1, "description": "Fail below this safe concurrency."},
        },
    },
}

_STREAM_KEYS = frozenset(STREAM_SCHEMA["properties"])


@dataclass(frozen=True)
class Account:
    role: str
    headers: Mapping[str, str]


@dataclass(frozen=True)
class Route:
    name: str
    method: str
    path: str
    klass: str
    auth: bool
    write: bool
    headers: Mapping[str, str]
    body: bytes
    expect: frozenset[int] | None
    roles: tuple[str, ...]
    spec: Mapping[str, Any] = field(repr=False)

    @classmethod
    def from_config(cls, spec: Mapping[str, Any]) -> Route:
        method = spec.get("method", "GET")
        headers = {name.lower(): value for name, value in spec.get("headers", {}).items()}
        raw = spec.get("body")
        if raw is None:
            body = b""
        elif isinstance(raw, str):
            body = raw.encode()
        else:
            body = json.dumps(raw).encode()
            headers.setdefault("content-type", "application/json")
        klass = spec.get("class", "read" if method in SAFE_METHODS else "write")
        return cls(
            name=spec.get("name") or f"{method} {spec['path']}",
            method=method,
            path=spec["path"],
            klass=klass,
            auth=bool(spec.get("auth", False)),
            write=bool(spec.get("write", method not in SAFE_METHODS | {"HEAD"})),
            headers=headers,
            body=body,
            expect=frozenset(spec["expect"]) if "expect" in spec else None,
            roles=tuple(spec.get("roles", ())),
            spec=spec,
        )

    @property
    def loaded(self) -> bool:
        """Measured under load: streams are timed and auth routes burst instead, unless given a `load:`."""
        # HEAD answers carry no body, which the load client's parser cannot be told.
        return self.klass != "stream" and (self.klass != "auth" or "load" in self.spec) and self.method != "HEAD"


def budget_for(config: Mapping[str, Any], route: Route) -> RouteBudget:
    """The class's preset budget with the route's own `budget:` merged over it."""
    preset = {
        key: value for key, value in config.get("budgets", {}).get(route.klass, {}).items() if key not in _STREAM_KEYS
    }
    return route_budget({**preset, **route.spec.get("budget", {})})


def dig(document: Any, path: str) -> Any:
    """The value at a dotted path (`data.access_token`, `items.0.id`) of parsed JSON, or None."""
    for part in path.split("."):
        if isinstance(document, dict):
            document = document.get(part)
        elif isinstance(document, list) and part.isdigit() and int(part) < len(document):
            document = document[int(part)]
        else:
            return None
    return document


class LoginFailed(Exception):
    """What came back from a login that did not succeed, redacted."""


def _env(ctx: CheckContext, variable: str, key: str) -> str:
    value = ctx.environ.get(variable, "")
    if not value:
        raise InputError(
            f"checks.http.{key} reads the environment variable {variable}, which is not set or empty",
            hint=f"set {variable} as a secret in the CI job's environment (a test account on the preview)",
        )
    redact.register(value)
    return value


def _shown(body: bytes) -> str:
    text = body[:SHOWN_BODY].decode("utf-8", "replace").replace("\n", " ")
    return redact.scrub(text) + ("..." if len(body) > SHOWN_BODY else "")


async def login(session: Session, preview: Preview, spec: Mapping[str, Any], ctx: CheckContext, key: str) -> Account:
    """Sign in as gate.yml says; the token or cookie becomes headers for authenticated requests."""
    values = {name: _env(ctx, variable, key) for name, variable in spec["fields"].items()}
    success = spec.get("success", {})
    response = await _post(
        session, preview, spec["path"], spec.get("method", "POST"), spec.get("format", "json"), values
    )
    expected = success.get("status")
    ok = expected == response.status_code if expected is not None else 200 <= response.status_code < 300
    shown = f"HTTP {response.status_code}: {_shown(response.content) or '(empty body)'}"
    if not ok:
        raise LoginFailed(f"{spec['path']} answered {shown}")
    headers: dict[str, str] = {}
    if "cookie" in success:
        cookie = response.cookies.get(success["cookie"])
        if not cookie:
            raise LoginFailed(f"{spec['path']} set no cookie named {success['cookie']} ({shown})")
        redact.register(cookie)
        headers["cookie"] = f"{success['cookie']}={cookie}"
    if "token" in success:
        token = _token(response.content, success["token"])
        if token is None:
            raise LoginFailed(f"{spec['path']} gave no token at {success['token']} ({shown})")
        headers[spec.get("header", "authorization").lower()] = _bearer(spec, token)
    account = Account(spec.get("role", "user"), headers)
    if "refresh" in spec:
        account = await _refresh(session, preview, spec, response.content, account)
    return account


def _bearer(spec: Mapping[str, Any], token: str) -> str:
    scheme = spec.get("scheme", "Bearer")
    return f"{scheme} {token}" if scheme else token


def _token(content: bytes, path: str) -> str | None:
    try:
        value = dig(json.loads(content), path)
    except ValueError:
        return None
    if not isinstance(value, str) or not value:
        return None
    redact.register(value)
    return value


async def _post(
    session: Session, preview: Preview, path: str, method: str, form: str, values: Mapping[str, str]
) -> Any:
    import httpx

    client = session.client
    try:
        if form == "form":
            request = client.build_request(method, preview.url(path), data=dict(values))
        else:
            request = client.build_request(method, preview.url(path), json=dict(values))
        response = await client.send(request, stream=True)
        try:
            # Decoded under the check's body cap: a login answer is untrusted like any other.
            body, _ = await read_async(response, session.limits.max_body)
        finally:
            await response.aclose()
        response._content = body
        return response
    except DecodingError as error:
        raise RequestFailed(preview.url(path), f"the body cannot be decoded: {error}") from error
    except httpx.HTTPError as error:
        raise RequestFailed(preview.url(path), f"{type(error).__name__}: {redact.scrub(str(error))}") from error
    finally:
        # The shared client must not keep the session: the access checks ask without credentials
        # through it, and the cookie goes only where a route is declared authenticated.
        session.client.cookies.clear()


async def _refresh(
    session: Session, preview: Preview, spec: Mapping[str, Any], login_body: bytes, account: Account
) -> Account:
    refresh = spec["refresh"]
    refresh_token = _token(login_body, refresh["token"])
    if refresh_token is None:
        raise LoginFailed(f"the login body has no refresh token at {refresh['token']}")
    response = await _post(
        session, preview, refresh["path"], "POST", spec.get("format", "json"), {refresh["field"]: refresh_token}
    )
    shown = f"HTTP {response.status_code}: {_shown(response.content) or '(empty body)'}"
    if not 200 <= response.status_code < 300:
        raise LoginFailed(f"token refresh at {refresh['path']} answered {shown}")
    path = refresh.get("new_token") or spec.get("success", {}).get("token")
    if path is None:
        return account
    token = _token(response.content, path)
    if token is None:
        raise LoginFailed(f"token refresh at {refresh['path']} gave no token at {path} ({shown})")
    # From here on the refreshed token is the one used: proving the refreshed session works.
    return replace(
        account, headers={**account.headers, spec.get("header", "authorization").lower(): _bearer(spec, token)}
    )


class Flows:
    """One run of the flows of one preview."""

    def __init__(self, ctx: CheckContext, preview: Preview, session: Session, make: MakeFinding) -> None:
        self.ctx = ctx
        self.config = ctx.config
        self.preview = preview
        self.session = session
        self.make = make
        self.endpoint = Endpoint.parse(preview.base_url, preview.trust)
        self.routes = [Route.from_config(spec) for spec in self.config.get("routes", [])]
        # The signed-in account, once `run` got one: the surface's CORS and caching probes use it too.
        self.account: Account | None = None
        # The platform's bypass header goes only to an https preview, as in the surface checks.
        self.base_headers: Mapping[str, str] = (
            {name.lower(): value for name, value in preview.secret_headers.items()}
            if preview.base_url.startswith("https://")
            else {}
        )

    def location(self, route: Route | None = None) -> Location:
        return Location(url=self.preview.url(route.path) if route else self.preview.base_url)

    def request(self, route: Route, auth: Mapping[str, str]) -> Request:
        return Request.build(
            self.endpoint, route.method, route.path, {**self.base_headers, **route.headers, **auth}, route.body
        )

    async def run(self) -> AsyncIterator[Result]:
        if not self.config.get("flows", True) or (not self.routes and "login" not in self.config):
            return
        # The load engine has its own client: it connects to the address the check's resolver chose.
        address = (await self.preview.resolver.addresses(self.endpoint.host, self.endpoint.port))[0]
        self.endpoint = replace(self.endpoint, address=address)
        account: Account | None = None
        others: list[Account] = []
        https = self.preview.base_url.startswith("https://")
        if "login" in self.config and not https:
            yield self.make(
                "http.login.failed",
                "Not signed in: the preview URL is plain HTTP and the credentials would travel unencrypted. "
                "Authenticated routes were not measured.",
                location=self.location(),
            )
        elif "login" in self.config:
            self.ctx.progress.update("signing in")
            try:
                account = self.account = await login(
                    self.session, self.preview, self.config["login"], self.ctx, "login"
                )
            except LoginFailed as failure:
                yield self.make(
                    "http.login.failed",
                    f"Signing in failed: {failure}. Authenticated routes were not measured.",
                    location=Location(url=self.preview.url(self.config["login"]["path"])),
                )
            for index, spec in enumerate(self.config.get("accounts", [])):
                try:
                    others.append(await login(self.session, self.preview, spec, self.ctx, f"accounts[{index}]"))
                except LoginFailed as failure:
                    yield self.make(
                        "http.login.failed",
                        f"Signing in as {spec['role']} failed: {failure}. Its role checks were skipped.",
                        location=Location(url=self.preview.url(spec["path"])),
                        subject=spec["role"],
                    )
        allowed = bool(self.config.get("allow_writes", False))
        skipped = [route.name for route in self.routes if route.write and not allowed]
        if skipped:
            yield self.make(
                "http.route.writes-skipped",
                f"{len(skipped)} route(s) change data and were not requested, since checks.http.allow_writes is "
                f"not true: {', '.join(skipped)}.",
                location=self.location(),
            )
        usable = [route for route in self.routes if allowed or not route.write]
        for route in usable:
            if route.auth:
                async for item in self.access(route, account, others):
                    yield item
        measured: list[Measurement] = []
        loaded: list[tuple[Route, Mapping[str, str]]] = []
        for route in usable:
            if route.auth and account is None:
                continue
            auth = account.headers if route.auth and account else {}
            if route.klass == "stream":
                async for item in self.stream(route, auth):
                    yield item
            elif route.klass == "auth":
                async for item in self.burst(route):
                    yield item
            if route.loaded:
                loaded.append((route, auth))
        for index, (route, auth) in enumerate(loaded):
            self.ctx.progress.update(f"load on {route.name} (route {index + 1} of {len(loaded)})")
            result = await self.load(route, auth, None, progress=True)
            for measurement in route_measurements(route.name, result, budget_for(self.config, route)):
                measured.append(measurement)
                yield measurement
        for measurement in self.regressions(measured):
            yield measurement
        if "safe_concurrency" in self.config and loaded:
            yield await self.safe_concurrency(loaded)

    def plan_for(self, route: Route, concurrency: int | None) -> LoadPlan:
        plan = load_plan({**self.config.get("load", {}), **route.spec.get("load", {})})
        if concurrency is not None:
            plan = replace(plan, model=Closed(concurrency, plan.model.requests, plan.model.duration_s))
        return replace(plan, expect=route.expect)

    async def load(
        self, route: Route, auth: Mapping[str, str], concurrency: int | None, *, progress: bool = False
    ) -> LoadResult:
        from gate.load import run_load

        def tell(done: int, planned: int | None) -> None:
            self.ctx.progress.update(f"requests to {route.name}", done, planned)

        plan = self.plan_for(route, concurrency)
        return await run_load(self.endpoint, self.request(route, auth), plan, tell if progress else None)

    async def access(self, route: Route, account: Account | None, others: Sequence[Account]) -> AsyncIterator[Result]:
        """Without credentials or with a forged token the route must refuse; other roles too."""
        self.ctx.progress.update(f"access control on {route.name}")
        attempts: list[tuple[str, Mapping[str, str]]] = [("without credentials", {})]
        # Nothing that looks like a credential goes over plain HTTP, not even a forged one.
        if self.preview.base_url.startswith("https://"):
            attempts.append(("with a malformed token", {"authorization": f"Bearer {MALFORMED_TOKEN}"}))
        if account is not None and "cookie" in account.headers:
            name = account.headers["cookie"].split("=", 1)[0]
            attempts.append(("with a forged session cookie", {"cookie": f"{name}=gate-forged-session"}))
        for how, headers in attempts:
            page = await self.session.fetch(
                self.preview.url(route.path), method=route.method, headers=headers, max_body=0
            )
            if page.status in (401, 403):
                continue
            served = page.status < 400
            yield self.make(
                "http.access.unauthenticated" if served else "http.access.not-refused",
                f"{route.name} answered HTTP {page.status} {how}; an authenticated route must refuse with 401 or 403.",
                location=self.location(route),
                subject=how,
            )
        if not route.roles:
            return
        for other in ([account] if account else []) + list(others):
            if other.role in route.roles:
                continue
            page = await self.session.fetch(
                self.preview.url(route.path), method=route.method, headers=dict(other.headers), max_body=0
            )
            if page.status < 400:
                yield self.make(
                    "http.access.role",
                    f"{route.name} is for {', '.join(route.roles)} only, but answered HTTP {page.status} to a "
                    f"signed-in {other.role}.",
                    location=self.location(route),
                    subject=other.role,
                )

    async def stream(self, route: Route, auth: Mapping[str, str]) -> AsyncIterator[Result]:
        self.ctx.progress.update(f"stream {route.name}")
        merged = {**self.config.get("budgets", {}).get("stream", {}), **route.spec.get("stream", {})}
        budget, limits = stream_settings({key: value for key, value in merged.items() if key in _STREAM_KEYS})
        result = await measure_stream(self.endpoint, self.request(route, auth), limits)
        for problem in result.problems(limits.stall_s):
            yield self.make(
                f"http.stream.{problem.kind}",
                f"{route.name}: {problem.message}.",
                location=self.location(route),
            )
        for measurement in stream_measurements(route.name, result, budget):
            yield measurement

    async def burst(self, route: Route) -> AsyncIterator[Result]:
        defaults = self.config.get("rate_limit", {})
        spec = {**defaults, **route.spec.get("rate_limit", {})}
        attempts = int(spec.get("attempts", 30))
        signal = LimitSignal(frozenset(spec.get("statuses", [429])), spec.get("header"))
        self.ctx.progress.update(f"rate-limit burst on {route.name}")
        result = await burst_probe(self.endpoint, self.request(route, {}), limit=attempts, signal=signal)
        if result.limited_at is None:
            seen = ", ".join(f"{count}x HTTP {status}" for status, count in sorted(result.statuses.items()))
            errors = ", ".join(f"{count}x {kind}" for kind, count in result.errors.items())
            yield self.make(
                "http.ratelimit.missing",
                f"No rate limit on {route.name} within {result.sent} attempts in {result.duration_s:.1f}s "
                f"(answers: {seen or 'none'}{'; errors: ' + errors if errors else ''}).",
                location=self.location(route),
            )

    def regressions(self, measured: Sequence[Measurement]) -> list[Measurement]:
        raw = self.config.get("baseline")
        if not raw:
            return []
        path = Path(raw)
        baseline = read_baseline(path if path.is_absolute() else Path.cwd() / path)
        return regressions(measured, baseline, max_growth=float(self.config.get("max_growth", 1.2)))

    async def safe_concurrency(self, loaded: Sequence[tuple[Route, Mapping[str, str]]]) -> Measurement:
        spec = self.config["safe_concurrency"]
        steps = levels(1, int(spec.get("up_to", 32)))
        by_name = {route.name: (route, auth) for route, auth in loaded}
        self.ctx.progress.update(f"stepping concurrency up to {steps[-1]}")

        async def run(name: str, concurrency: int) -> LoadResult:
            route, auth = by_name[name]
            return await self.load(route, auth, concurrency)

        found = await find_safe_concurrency(
            steps, [(route.name, budget_for(self.config, route)) for route, _ in loaded], run
        )
        require = spec.get("require")
        return Measurement(
            name="load.safe-concurrency",
            subject="all routes",
            value=float(found.safe) if found.safe is not None else 0.0,
            unit="connections",
            check="http",
            budget=Budget(float(require), comparison="min") if require else None,
            note=found.stopped_because,
        )
