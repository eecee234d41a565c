"""Shared HTTP plumbing for every check that talks to the deployed preview.

One place decides how the gate talks to a preview: the TLS trust (system roots plus an optional
CA bundle, verified strictly), the bounds on every request (a total deadline, a body-size cap,
a redirect bound), which secret headers ride on which requests (only over HTTPS, only to the
preview's own hosts), and how long to wait for a fresh preview to answer. The surface check and
the flow/latency check build their clients here so they cannot drift apart.
"""

from __future__ import annotations

import asyncio
import functools
import ssl
import time
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

from gate import redact
from gate.bodies import DecodingError, read_async
from gate.checks.http.resolve import Refused, Resolver, declared_names, network_backend, pins_from_config
from gate.config.units import seconds
from gate.errors import CheckFailure, InputError, Position
from gate.netpolicy import forbidden

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
    # `resolve:` in gate.yml: (host, port or None) -> address.
    pins: Mapping[tuple[str, int | None], str] = field(default_factory=dict)
    # Plain-HTTP port per host (`http_port`, one number or a map); 80 where none is given.
    http_ports: Mapping[str, int] = field(default_factory=dict)

    @functools.cached_property
    def resolver(self) -> Resolver:
        """Every connection goes through it: declared hosts only, the pins, no metadata addresses."""
        return Resolver(declared_names(self.hosts), self.pins)

    def http_port(self, host: str) -> int:
        """The plain-HTTP port of host[:port]: its own entry, its name's, or the one for all."""
        for key in (host, split_host_name(host), ""):
            if key in self.http_ports:
                return self.http_ports[key]
        return 80

    @property
    def base_host(self) -> str:
        return netloc(self.base_url)

    def url(self, path: str) -> str:
        return urljoin(self.base_url, path)

    def is_own(self, url: str) -> bool:
        """True for URLs on the preview's declared hosts, the only ones that get secret headers."""
        return netloc(url) in self.hosts

    def plain_url(self, path: str) -> str:
        """`path` on the preview's plain-HTTP entry (its host on its `http_port`)."""
        name = split_host_name(self.base_host)
        shown = f"[{name}]" if ":" in name else name
        port = self.http_port(self.base_host)
        return urljoin(f"http://{shown}/" if port == 80 else f"http://{shown}:{port}/", path)

    def is_reachable(self, url: str) -> bool:
        """A declared host over https, or its plain-HTTP entry: where a redirect may be followed."""
        if self.is_own(url):
            return True
        parts = urlsplit(url)
        try:
            port = parts.port or 80
        except ValueError:
            return False
        return parts.scheme == "http" and any(
            split_host_name(own) == parts.hostname and port == self.http_port(own) for own in self.hosts
        )


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


def _position(ctx: CheckContext, key: str | tuple[str | int, ...]) -> Position | None:
    """Where `checks.http.KEY` (or, when the key is not in the file, its closest parent) sits in gate.yml."""
    from gate.config.yamlpos import load_file

    if ctx.config_path is None:
        return None
    keys = (key,) if isinstance(key, str) else key
    return load_file(ctx.config_path).position(("checks", "http", *keys))


# Variables the runner itself fills with its credentials: gate.yml (which a pull request may
# change) must never be able to send one of them to a server, allow-listed or not.
RUNNER_SECRETS = ("GITHUB_TOKEN", "GH_TOKEN", "INPUT_*", "ACTIONS_*")


def runner_secret(variable: str) -> bool:
    upper = variable.upper()
    return any(upper.startswith(name[:-1]) if name.endswith("*") else upper == name for name in RUNNER_SECRETS)


def _logins(section: Mapping[str, Any]) -> list[tuple[tuple[str | int, ...], Mapping[str, Any]]]:
    """`login` and every entry of `accounts`, with the key path of each."""
    found: list[tuple[tuple[str | int, ...], Mapping[str, Any]]] = []
    if section.get("login"):
        found.append((("login",), section["login"]))
    found += [(("accounts", index), spec) for index, spec in enumerate(section.get("accounts", []))]
    return found


def secret_env_references(section: Mapping[str, Any]) -> list[tuple[tuple[str | int, ...], str]]:
    """Every environment variable checks.http reads a secret from, with the key path naming it."""
    found: list[tuple[tuple[str | int, ...], str]] = []
    if section.get("auth_token_env"):
        found.append((("auth_token_env",), section["auth_token_env"]))
    if section.get("bypass_header"):
        found.append((("bypass_header", "env"), section["bypass_header"]["env"]))
    for where, spec in _logins(section):
        found += [((*where, "fields", field), variable) for field, variable in spec.get("fields", {}).items()]
    return found


def declared_paths(section: Mapping[str, Any]) -> list[tuple[tuple[str | int, ...], str]]:
    """Every path checks.http requests on the preview, with the key path naming it."""
    found: list[tuple[tuple[str | int, ...], str]] = [
        (("pages", index), path) for index, path in enumerate(section.get("pages", []))
    ]
    found += [(("routes", index, "path"), route["path"]) for index, route in enumerate(section.get("routes", []))]
    for where, spec in _logins(section):
        found.append(((*where, "path"), spec["path"]))
        if "refresh" in spec:
            found.append(((*where, "refresh", "path"), spec["refresh"]["path"]))
    return found


def check_secret_env_names(ctx: CheckContext) -> None:
    """Secrets come only from `GATE_*` variables or those `secret_env_allow` lists, never the runner's own.

    Whoever edits gate.yml picks the variable and the server it goes to; without this, a pull
    request could name the job's GitHub token and send it to a host it controls.
    """
    allowed = {str(name) for name in ctx.config.get("secret_env_allow", [])}
    for keys, variable in secret_env_references(ctx.config):
        key = ".".join(str(part) for part in keys)
        if runner_secret(variable):
            raise InputError(
                f"checks.http.{key} names {variable}, a credential of the CI runner itself; the gate never "
                "sends it to a server",
                _position(ctx, keys),
                hint="put the preview's secret in its own variable, named GATE_something",
            )
        if not variable.startswith("GATE_") and variable not in allowed:
            raise InputError(
                f"checks.http.{key} names the environment variable {variable}; secrets are read only from "
                "GATE_* variables or those listed in checks.http.secret_env_allow",
                _position(ctx, keys),
                hint=f"rename it GATE_{variable}, or add {variable} to checks.http.secret_env_allow",
            )


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


def preview_from_context(ctx: CheckContext, domain: tuple[Sequence[str], str | None] = ((), None)) -> Preview:
    """Resolve gate.yml's `checks.http` keys into a Preview; bad input raises InputError (exit 2).

    `domain` is the dns check's domain map (its names, its canonical host), handed in by the
    caller: unless `checks.http.hosts` lists its own, the preview's hosts and canonical host
    default to it.
    """
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
    check_secret_env_names(ctx)
    own = netloc(url)
    for keys, path in declared_paths(section):
        target = urljoin(url, path)
        redact.register_url_secrets(target)
        if netloc(target) != own or urlsplit(target).scheme != parts.scheme:
            # `//other.example/x` is a path only in form: it would carry the credentials elsewhere.
            raise InputError(
                f"checks.http.{'.'.join(map(str, keys))} '{path}' leaves the preview (it resolves to {target})",
                _position(ctx, keys),
                hint="give a path on the preview, starting with a single /",
            )
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
    mapped, mapped_canonical = domain if "hosts" not in section else ((), None)
    canonical = section.get("canonical_host") or mapped_canonical
    hosts = [netloc(url)]
    for entry in [*section.get("hosts", mapped), *section.get("aliases", [])]:
        hosts.append(normalise_host(entry))
    if canonical:
        hosts.append(normalise_host(canonical))
    pins, bad = pins_from_config(section.get("resolve", {}))
    for entry, reason in bad:
        raise InputError(
            f"checks.http.resolve maps {entry} to an address the gate will not use: {reason}",
            _position(ctx, ("resolve", entry)),
            hint="map each declared host to the IP address of the preview, like curl --resolve",
        )
    for host in hosts:
        refusal = forbidden(split_host_name(host))
        if refusal:
            raise InputError(
                f"checks.http declares the host {host}, and {refusal}; the gate never connects there",
                _position(ctx, "hosts"),
                hint="list only the preview's own hosts",
            )
    return Preview(
        base_url=url,
        hosts=tuple(dict.fromkeys(hosts)),
        limits=Limits.from_config(section),
        ca_bundle=ca_bundle,
        secret_headers=secret_headers,
        auth_token=token,
        trust=trust or ssl_context(None),
        canonical_host=normalise_host(canonical) if canonical else None,
        pins=pins,
        http_ports=_http_ports(section.get("http_port", 80)),
    )


def _http_ports(raw: int | Mapping[str, int]) -> dict[str, int]:
    """`http_port: 8080` for every host, or `{app.localhost: 8081, "*": 8080}` per host."""
    if isinstance(raw, int):
        return {"": raw}
    return {("" if host == "*" else normalise_host(host)): int(port) for host, port in raw.items()}


def split_host_name(host: str) -> str:
    """The name of a host[:port] (an IPv6 address without its brackets)."""
    return urlsplit(f"https://{host}/").hostname or host


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
    import httpcore
    import httpx

    limits = preview.limits
    transport = httpx.AsyncHTTPTransport(trust_env=False)
    # httpx takes no network backend of its own, so the pool it built is replaced by one whose
    # every connection goes through the resolver: declared hosts only, never a metadata address.
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=preview.trust if verify else httpx.create_ssl_context(verify=False),
        max_connections=limits.concurrency * 2,
        max_keepalive_connections=limits.concurrency,
        keepalive_expiry=5.0,
        network_backend=network_backend(preview.resolver),
    )
    return httpx.AsyncClient(
        transport=transport,
        # Redirects are followed by `follow`, which checks every hop; netrc and proxy variables
        # must not add credentials or hops the user did not declare.
        follow_redirects=False,
        trust_env=False,
        timeout=httpx.Timeout(limits.timeout),
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

    def __init__(self, url: str, reason: str, *, tls: bool = False, refused: bool = False) -> None:
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason
        self.tls = tls
        # The gate itself would not connect (an undeclared host, a metadata address): nothing was asked.
        self.refused = refused


def _refused(error: BaseException) -> Refused | None:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, Refused):
            return current
        current = current.__cause__ or current.__context__
    return None


def describe(error: BaseException) -> tuple[str, bool]:
    """A short reason for a failed request, and whether it was the TLS handshake that failed."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, Refused):
            return f"not connected: {current}", False
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
    # Before the request is logged or reported: a token in its query string is then masked everywhere.
    redact.register_url_secrets(url)
    started = time.monotonic()

    async def exchange() -> Page:
        async with client.stream(method, url, headers=dict(headers or {})) as response:
            # Raw bytes, decoded under the cap: httpx would decode each chunk whole.
            body, truncated = await read_async(response, cap) if method != "HEAD" else (b"", False)
            return Page(
                url=url,
                method=method,
                status=response.status_code,
                headers=response.headers,
                body=body,
                truncated=truncated,
                elapsed=time.monotonic() - started,
            )

    try:
        return await asyncio.wait_for(exchange(), limits.timeout)
    except TimeoutError as error:
        raise RequestFailed(url, f"no complete answer within {limits.timeout:g}s") from error
    except DecodingError as error:
        raise RequestFailed(url, f"the body cannot be decoded: {error}") from error
    except (httpx.HTTPError, OSError, ssl.SSLError) as error:
        reason, tls = describe(error)
        raise RequestFailed(url, reason, tls=tls, refused=_refused(error) is not None) from error


async def follow(
    client: httpx.AsyncClient,
    url: str,
    *,
    limits: Limits,
    max_body: int | None = None,
    stay_on: Callable[[str], bool] | None = None,
    headers: Mapping[str, str] | None = None,
) -> list[Page]:
    """Follow redirects hop by hop, stopping at a loop, a downgrade, a URL `stay_on` refuses, or
    the bound, and return every hop. `headers` (credentials) ride only on https hops `stay_on`
    accepted, so a chain never carries them to plain HTTP or another host.

    The caller judges the chain from its last hop: a target already visited is a loop, an
    http:// target a downgrade, a refused target a redirect away, anything else over the bound.
    Untrusted pages choose the targets, so `stay_on` keeps the gate on the hosts it was given.
    """
    chain: list[Page] = []
    visited: set[str] = set()
    current = url
    while True:
        visited.add(current)
        carried = headers if current.startswith("https://") and (current == url or stay_on is not None) else None
        page = await fetch(client, current, limits=limits, max_body=max_body, headers=carried)
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
            if failure.refused:
                # Waiting would not change where the name points: the gate will never connect there.
                raise CheckFailure(f"{url} not checked, because {failure.reason}") from failure
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
        self,
        url: str,
        *,
        max_body: int | None = None,
        stay_on: Callable[[str], bool] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> list[Page]:
        async with self._slots:
            return await follow(
                self.client, url, limits=self.limits, max_body=max_body, stay_on=stay_on, headers=headers
            )
