"""How the gate talks to a preview: every check that does builds its client here.

One place decides the bounds on every request (a total deadline, a body-size cap, a redirect
bound), which secret headers ride on which requests (only over HTTPS, only to the preview's own
hosts), how redirects are followed hop by hop, and how long to wait for a fresh preview to
answer. The surface probes, the flows and the ai check use it so they cannot drift apart.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urljoin

from gate import redact
from gate.bodies import DecodingError, read_async
from gate.checks.http.preview import Limits, Preview
from gate.checks.http.resolve import Refused, network_backend
from gate.errors import CheckFailure

if TYPE_CHECKING:
    import httpx

USER_AGENT = "launch-gate (+https://launch-gate.dev/docs/http)"
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# Platforms answer these while a deploy is still being built or routed; anything else is "up".
NOT_READY_STATUSES = frozenset({502, 503, 504})


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
