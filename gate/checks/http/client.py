"""Shared HTTP plumbing for every check that talks to the deployed preview.

One place decides how the gate talks to a preview: the TLS trust (system roots plus an optional
CA bundle, verified strictly), the bounds on every request (a total deadline, a body-size cap,
a redirect bound), which secret headers ride on which requests (only over HTTPS, only to the
preview's own hosts), and how long to wait for a fresh preview to answer. The surface check and
the flow/latency check build their clients here so they cannot drift apart.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

from gate import redact
from gate.config.units import seconds
from gate.errors import InputError, Position

if TYPE_CHECKING:
    import httpx

    from gate.checks.base import CheckContext

USER_AGENT = "launch-gate (+https://launch-gate.dev/docs/http)"
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# Platforms answer these while a deploy is still being built or routed; anything else is "up".
NOT_READY_STATUSES = frozenset({502, 503, 504})


@dataclass(frozen=True)
class Limits:
    """Bounds on every request: total time, bytes of body kept, redirects followed."""

    timeout: float = 10.0
    max_body: int = 2_000_000
    max_redirects: int = 5
    concurrency: int = 8

    @classmethod
    def from_config(cls, section: Mapping[str, Any]) -> Limits:
        raw = section.get("limits", {})
        default = cls()
        return cls(
            timeout=seconds(raw["timeout"]) if "timeout" in raw else default.timeout,
            max_body=int(raw.get("max_body", default.max_body)),
            max_redirects=int(raw.get("max_redirects", default.max_redirects)),
            concurrency=int(raw.get("concurrency", default.concurrency)),
        )


@dataclass(frozen=True)
class Preview:
    """Where the preview is and how to reach it, resolved once from gate.yml and the environment."""

    base_url: str
    hosts: tuple[str, ...]
    limits: Limits
    ca_bundle: Path | None = None
    secret_headers: Mapping[str, str] = field(default_factory=dict)
    auth_token: str | None = None
    # Loading the system roots costs ~0.1 s, so one context serves every client and handshake.
    trust: ssl.SSLContext = field(default_factory=lambda: ssl_context(None), repr=False)
    canonical_host: str | None = None

    @property
    def base_host(self) -> str:
        return netloc(self.base_url)

    def url(self, path: str) -> str:
        return urljoin(self.base_url, path)

    def is_own(self, url: str) -> bool:
        """True for URLs on the preview's declared hosts, the only ones that get secret headers."""
        return netloc(url) in self.hosts


def netloc(url: str) -> str:
    """host[:port] of a URL, lower-cased, without the default port of its scheme."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    default = {"https": 443, "http": 80}.get(parts.scheme)
    try:
        port = parts.port
    except ValueError:
        return host
    return host if port in (None, default) else f"{host}:{port}"


def normalise_host(entry: str) -> str:
    """A gate.yml host (`example.com`, `example.com:8443`, `https://example.com/`) as host[:port]."""
    return netloc(entry if "://" in entry else f"https://{entry}")


def ssl_context(ca_bundle: Path | None) -> ssl.SSLContext:
    """System roots plus the optional private CA, verified the way current browsers and Python do."""
    context = ssl.create_default_context()
    if ca_bundle is not None:
        context.load_verify_locations(cafile=str(ca_bundle))
    # Python 3.13 turns these on by default; set them here so 3.11 judges certificates the same way.
    context.verify_flags |= ssl.VERIFY_X509_STRICT | ssl.VERIFY_X509_PARTIAL_CHAIN
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def _position(ctx: CheckContext, key: str) -> Position | None:
    """Where `checks.http.KEY` (or, when the key is not in the file, its closest parent) sits in gate.yml."""
    from gate.config.yamlpos import load_file

    if ctx.config_path is None:
        return None
    return load_file(ctx.config_path).position(("checks", "http", key))


def _secret_env(ctx: CheckContext, key: str, variable: str) -> str:
    value = ctx.environ.get(variable, "")
    if not value:
        raise InputError(
            f"checks.http.{key} names the environment variable {variable}, which is not set or empty",
            _position(ctx, key),
            hint=f"set {variable} as a secret in the CI job's environment, or remove checks.http.{key}",
        )
    redact.register(value)
    return value


def domain_map(full_config: Mapping[str, Any]) -> tuple[list[str], str | None]:
    """The hosts of the dns check's domain map (checks.dns.domain and .hosts) and its canonical host.

    One domain map serves both checks: unless checks.http.hosts lists its own, the http check
    TLS-checks every name the map says exists and takes the map's canonical host.
    """
    from gate.checks.dns.hosts import fqdn

    dns = full_config.get("checks", {}).get("dns", {})
    domain = str(dns.get("domain") or "").lower().rstrip(".")
    if not domain:
        return [], None
    names = [
        fqdn(label, domain)
        for label, spec in (dns.get("hosts") or {"@": None, "www": None}).items()
        if "*" not in label and (spec or {}).get("exists", True)
    ]
    canonical = dns.get("canonical")
    return names, fqdn(canonical, domain) if canonical else None


def preview_from_context(ctx: CheckContext) -> Preview:
    """Resolve gate.yml's `checks.http` keys into a Preview; bad input raises InputError (exit 2)."""
    section = ctx.config
    url = section.get("url")
    if not url:
        raise InputError(
            "the http check needs the preview's URL",
            _position(ctx, "url"),
            hint="set checks.http.url in gate.yml, or pass `gate check http --url https://...`",
        )
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise InputError(
            f"checks.http.url '{url}' is not an absolute http(s) URL",
            _position(ctx, "url"),
            hint="write it with its scheme, like https://my-app-git-branch.vercel.app",
        )
    if not parts.path:
        url += "/"
    ca_bundle: Path | None = None
    trust: ssl.SSLContext | None = None
    if section.get("ca_bundle"):
        base = ctx.config_path.parent if ctx.config_path else ctx.root
        ca_bundle = (base / section["ca_bundle"]).resolve()
        if not ca_bundle.is_file():
            raise InputError(
                f"checks.http.ca_bundle '{section['ca_bundle']}' is not a file",
                _position(ctx, "ca_bundle"),
                hint="give a PEM file of the CA certificates that signed the preview, relative to gate.yml",
            )
        try:
            trust = ssl_context(ca_bundle)
        except (ssl.SSLError, OSError) as error:
            raise InputError(
                f"checks.http.ca_bundle '{section['ca_bundle']}' is not a readable PEM bundle: {error}",
                _position(ctx, "ca_bundle"),
                hint="the file must hold one or more -----BEGIN CERTIFICATE----- blocks",
            ) from error
    secret_headers: dict[str, str] = {}
    bypass = section.get("bypass_header")
    if bypass:
        secret_headers[bypass["name"]] = _secret_env(ctx, "bypass_header", bypass["env"])
    token = _secret_env(ctx, "auth_token_env", section["auth_token_env"]) if section.get("auth_token_env") else None
    # The domain map is taken as a whole or not at all: hosts listed here describe another site.
    mapped, mapped_canonical = domain_map(ctx.full_config) if "hosts" not in section else ([], None)
    canonical = section.get("canonical_host") or mapped_canonical
    hosts = [netloc(url)]
    for entry in [*section.get("hosts", mapped), *section.get("aliases", [])]:
        hosts.append(normalise_host(entry))
    if canonical:
        hosts.append(normalise_host(canonical))
    return Preview(
        base_url=url,
        hosts=tuple(dict.fromkeys(hosts)),
        limits=Limits.from_config(section),
        ca_bundle=ca_bundle,
        secret_headers=secret_headers,
        auth_token=token,
        trust=trust or ssl_context(None),
        canonical_host=normalise_host(canonical) if canonical else None,
    )


def _secret_headers_auth(preview: Preview) -> httpx.Auth:
    import httpx

    class SecretHeaders(httpx.Auth):
        """Adds the platform's bypass header only over HTTPS and only to the preview's own hosts."""

        def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
            if request.url.scheme == "https" and preview.is_own(str(request.url)):
                for name, value in preview.secret_headers.items():
                    request.headers[name] = value
            yield request

    return SecretHeaders()


def make_client(preview: Preview, *, verify: bool = True) -> httpx.AsyncClient:
    """An AsyncClient that never follows redirects by itself and never reads proxy/netrc settings.

    `verify=False` is for probing hosts whose certificate already failed; such a client carries
    no secret header.
    """
    import httpx

    limits = preview.limits
    return httpx.AsyncClient(
        verify=preview.trust if verify else False,
        # Redirects are followed by `follow`, which checks every hop; netrc and proxy variables
        # must not add credentials or hops the user did not declare.
        follow_redirects=False,
        trust_env=False,
        timeout=httpx.Timeout(limits.timeout),
        limits=httpx.Limits(max_connections=limits.concurrency * 2, max_keepalive_connections=limits.concurrency),
        headers={"user-agent": USER_AGENT},
        auth=_secret_headers_auth(preview) if verify and preview.secret_headers else None,
    )


@dataclass(frozen=True)
class Page:
    """One response, with at most `max_body` bytes of its (decoded) body."""

    url: str
    method: str
    status: int
    headers: httpx.Headers
    body: bytes
    truncated: bool
    elapsed: float

    @property
    def content_type(self) -> str:
        return str(self.headers.get("content-type", "")).split(";")[0].strip().lower()

    @property
    def is_html(self) -> bool:
        return self.content_type in ("text/html", "application/xhtml+xml")

    @property
    def location(self) -> str | None:
        target = self.headers.get("location")
        return urljoin(self.url, target) if target and self.status in REDIRECT_STATUSES else None

    def text(self) -> str:
        # Bytes that are not UTF-8 still map one-to-one, so signatures and offsets stay usable.
        try:
            return self.body.decode("utf-8")
        except UnicodeDecodeError:
            return self.body.decode("latin-1")


class RequestFailed(Exception):
    """A request that got no HTTP answer (refused, reset, TLS failure, deadline): said in words."""

    def __init__(self, url: str, reason: str, *, tls: bool = False) -> None:
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason
        self.tls = tls


def describe(error: BaseException) -> tuple[str, bool]:
    """A short reason for a failed request, and whether it was the TLS handshake that failed."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ssl.SSLCertVerificationError):
            return f"certificate not trusted ({current.verify_message})", True
        if isinstance(current, ssl.SSLError):
            return f"TLS handshake failed ({current.reason or current})", True
        current = current.__cause__ or current.__context__
    text = str(error) or type(error).__name__
    return redact.scrub(text), False


async def fetch(
    client: httpx.AsyncClient,
    url: str,
    *,
    method: str = "GET",
    headers: Mapping[str, str] | None = None,
    limits: Limits,
    max_body: int | None = None,
) -> Page:
    """One request under a total deadline, keeping at most `max_body` bytes of the body.

    The deadline covers the whole exchange, so a server dribbling bytes cannot hold the gate.
    """
    import httpx

    cap = limits.max_body if max_body is None else max_body
    started = time.monotonic()

    async def exchange() -> Page:
        async with client.stream(method, url, headers=dict(headers or {})) as response:
            chunks: list[bytes] = []
            size = 0
            truncated = False
            if method != "HEAD":
                async for chunk in response.aiter_bytes():
                    room = cap - size
                    if len(chunk) > room:
                        chunks.append(chunk[:room])
                        truncated = True
                        break
                    chunks.append(chunk)
                    size += len(chunk)
            return Page(
                url=url,
                method=method,
                status=response.status_code,
                headers=response.headers,
                body=b"".join(chunks),
                truncated=truncated,
                elapsed=time.monotonic() - started,
            )

    try:
        return await asyncio.wait_for(exchange(), limits.timeout)
    except TimeoutError as error:
        raise RequestFailed(url, f"no complete answer within {limits.timeout:g}s") from error
    except (httpx.HTTPError, OSError, ssl.SSLError) as error:
        reason, tls = describe(error)
        raise RequestFailed(url, reason, tls=tls) from error


async def follow(
    client: httpx.AsyncClient,
    url: str,
    *,
    limits: Limits,
    max_body: int | None = None,
    stay_on: Callable[[str], bool] | None = None,
) -> list[Page]:
    """Follow redirects hop by hop, stopping at a loop, a downgrade, a URL `stay_on` refuses, or
    the bound, and return every hop.

    The caller judges the chain from its last hop: a target already visited is a loop, an
    http:// target a downgrade, a refused target a redirect away, anything else over the bound.
    Untrusted pages choose the targets, so `stay_on` keeps the gate on the hosts it was given.
    """
    chain: list[Page] = []
    visited: set[str] = set()
    current = url
    while True:
        visited.add(current)
        page = await fetch(client, current, limits=limits, max_body=max_body)
        chain.append(page)
        target = page.location
        if target is None or target in visited or len(chain) > limits.max_redirects:
            return chain
        if current.startswith("https://") and not target.startswith("https://"):
            # A downgrade is reported from this hop alone; nothing is sent over plain HTTP.
            return chain
        if stay_on is not None and not stay_on(target):
            return chain
        current = target


@dataclass(frozen=True)
class Readiness:
    """How waiting for the preview went: the first real answer, or the last reason it gave none."""

    page: Page | None
    attempts: int
    waited: float
    last_error: str | None
    tls_error: bool = False

    @property
    def answered(self) -> bool:
        return self.page is not None or self.tls_error


async def wait_ready(
    client: httpx.AsyncClient,
    url: str,
    *,
    limits: Limits,
    timeout: float,
    interval: float,
    on_wait: Callable[[float], None] | None = None,
) -> Readiness:
    """Poll `url` until it answers with something other than a gateway error, for at most `timeout`.

    A certificate failure counts as an answer: the server is up and the TLS rules will say why it
    cannot be trusted; waiting longer would not change the certificate.
    """
    started = time.monotonic()
    attempts = 0
    last_error: str | None = None
    while True:
        attempts += 1
        try:
            page = await fetch(client, url, limits=limits, max_body=64_000)
        except RequestFailed as failure:
            if failure.tls:
                return Readiness(None, attempts, time.monotonic() - started, failure.reason, tls_error=True)
            last_error = failure.reason
        else:
            if page.status not in NOT_READY_STATUSES:
                return Readiness(page, attempts, time.monotonic() - started, None)
            last_error = f"HTTP {page.status}"
        waited = time.monotonic() - started
        if waited + interval > timeout:
            return Readiness(None, attempts, waited, last_error)
        if on_wait is not None:
            on_wait(waited)
        await asyncio.sleep(interval)


class Session:
    """A client plus its limits and a bound on requests in flight, so no check floods a preview."""

    def __init__(self, client: httpx.AsyncClient, limits: Limits) -> None:
        self.client = client
        self.limits = limits
        self._slots = asyncio.Semaphore(limits.concurrency)

    async def fetch(
        self,
        url: str,
        *,
        method: str = "GET",
        headers: Mapping[str, str] | None = None,
        max_body: int | None = None,
    ) -> Page:
        async with self._slots:
            return await fetch(self.client, url, method=method, headers=headers, limits=self.limits, max_body=max_body)

    async def follow(
        self, url: str, *, max_body: int | None = None, stay_on: Callable[[str], bool] | None = None
    ) -> list[Page]:
        async with self._slots:
            return await follow(self.client, url, limits=self.limits, max_body=max_body, stay_on=stay_on)
