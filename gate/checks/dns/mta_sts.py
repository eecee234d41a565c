"""The MTA-STS policy host: `https://mta-sts.DOMAIN/.well-known/mta-sts.txt` as a sender fetches it.

RFC 8461 section 3.3: a sender that finds the `_mta-sts` TXT record fetches the policy over
HTTPS from the policy host, with a certificate valid for that name, following no redirect.
The gate does the same, connecting only to the addresses its own resolver found (never the
system resolver), bounded in time and size. The TXT record's `id` only tells senders whether
their cached copy is stale; nothing in the policy file carries it, so the gate validates the
id's syntax (through checkdmarc) and cannot compare it with what senders cached.
"""

from __future__ import annotations

import asyncio
import re
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gate.netpolicy import connectable

if TYPE_CHECKING:
    import httpx

POLICY_PATH = "/.well-known/mta-sts.txt"
HTTPS_PORT = 443
MAX_POLICY = 64 * 1024  # real policies are a few hundred bytes
FETCH_DEADLINE_S = 10.0  # the whole fetch: connect, TLS, headers and body
MAX_ADDRESSES = 3  # tried in order until one answers
MAX_AGE_LIMIT = 31557600  # RFC 8461 section 3.2: about one year
MODES = ("enforce", "testing", "none")
SHOWN = 60  # characters of a policy value quoted in a message
_MAX_AGE = re.compile(r"^[0-9]{1,10}$")
_MX_PATTERN = re.compile(r"^(\*\.)?([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$")


@dataclass(frozen=True)
class Policy:
    mode: str
    max_age: int
    mx: tuple[str, ...]


@dataclass(frozen=True)
class Fetched:
    """What the policy host served: the text, or why there is none (`unreachable`/`invalid`)."""

    text: str | None = None
    unreachable: str | None = None
    invalid: str | None = None


def parse_policy(text: str) -> tuple[Policy | None, list[str]]:
    """The policy (RFC 8461 section 3.2), or None and every problem a sender would reject it for."""
    fields: dict[str, str] = {}
    mx: list[str] = []
    problems: list[str] = []
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.removesuffix("\r")
        if not line.strip():
            continue
        key, sep, value = line.partition(":")
        if not sep:
            problems.append(f"line {number} is not `key: value` ({_shown(line)})")
            continue
        key, value = key.strip(), value.strip()
        if key == "mx":
            mx.append(value.lower())
        else:
            fields.setdefault(key, value)  # a repeated field: the first one counts
    version, mode, max_age = fields.get("version"), fields.get("mode"), fields.get("max_age")
    if version != "STSv1":
        problems.append("has no `version: STSv1`" if version is None else f"has version {_shown(version)}, not STSv1")
    if mode not in MODES:
        problems.append("has no `mode:`" if mode is None else f"has mode {_shown(mode)}, not enforce, testing or none")
    if max_age is None:
        problems.append("has no `max_age:`")
    elif not _MAX_AGE.match(max_age) or int(max_age) > MAX_AGE_LIMIT:
        problems.append(f"has max_age {_shown(max_age)}; it must be whole seconds from 0 to {MAX_AGE_LIMIT}")
    bad = [pattern for pattern in mx if not _MX_PATTERN.match(pattern.rstrip("."))]
    if bad:
        problems.append(f"has mx patterns that are not host names: {', '.join(_shown(p) for p in bad[:3])}")
    if not mx and mode in ("enforce", "testing"):
        problems.append(f"has mode {mode} but no `mx:` line, so no MX host is allowed")
    if problems:
        return None, problems
    assert mode is not None and max_age is not None
    return Policy(mode=mode, max_age=int(max_age), mx=tuple(p.rstrip(".") for p in mx)), []


def _shown(value: str) -> str:
    """A value from the policy as quoted in a message: the server's text, kept short."""
    return repr(value if len(value) <= SHOWN else value[: SHOWN - 3] + "...")


def mx_matches(pattern: str, host: str) -> bool:
    """RFC 8461 section 4.1: exact, or `*.` standing for exactly one leftmost label."""
    pattern, host = pattern.lower().rstrip("."), host.lower().rstrip(".")
    if pattern.startswith("*."):
        label, dot, rest = host.partition(".")
        return bool(label and dot) and rest == pattern[2:]
    return host == pattern


def fetch_policy(host: str, addresses: Sequence[str], port: int, trust: ssl.SSLContext) -> Fetched:
    """GET the policy from the first of `addresses` that answers, presenting `host` for SNI and the certificate.

    One deadline covers every attempt, headers included, so a server dribbling bytes cannot hold the gate.
    """
    problems: list[str] = []
    try:
        return asyncio.run(asyncio.wait_for(_fetch(host, addresses, port, trust, problems), FETCH_DEADLINE_S))
    except TimeoutError:
        problems.append(f"no complete answer within {FETCH_DEADLINE_S:g}s")
    return Fetched(unreachable=f"https://{host}{POLICY_PATH} did not answer ({'; '.join(problems)})")


async def _fetch(host: str, addresses: Sequence[str], port: int, trust: ssl.SSLContext, problems: list[str]) -> Fetched:
    import httpx

    for address in connectable(addresses[:MAX_ADDRESSES], problems):
        netloc = f"[{address}]" if ":" in address else address
        try:
            async with (
                httpx.AsyncClient(
                    verify=trust, timeout=FETCH_DEADLINE_S, follow_redirects=False, trust_env=False
                ) as client,
                client.stream(
                    "GET",
                    f"https://{netloc}:{port}{POLICY_PATH}",
                    headers={"Host": host, "User-Agent": "launch-gate (dns MTA-STS check)"},
                    extensions={"sni_hostname": host},
                ) as response,
            ):
                return await _read(host, response)
        except httpx.HTTPError as error:
            problems.append(f"{address}: {_reason(error)}")
    return Fetched(unreachable=f"https://{host}{POLICY_PATH} did not answer ({'; '.join(problems) or 'no address'})")


async def _read(host: str, response: httpx.Response) -> Fetched:
    url = f"https://{host}{POLICY_PATH}"
    if response.is_redirect:
        where = response.headers.get("location", "(no Location)")
        return Fetched(unreachable=f"{url} redirects ({response.status_code} to {where[:120]}); senders do not follow")
    if response.status_code != 200:
        return Fetched(unreachable=f"{url} answered HTTP {response.status_code}, not 200")
    body = bytearray()
    async for chunk in response.aiter_bytes():
        body += chunk
        if len(body) > MAX_POLICY:
            return Fetched(unreachable=f"{url} sent more than {MAX_POLICY // 1024} KiB; a policy is a few lines")
    kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "text/plain":
        return Fetched(invalid=f"is served as {kind or '(no Content-Type)'}; senders expect text/plain")
    try:
        return Fetched(text=bytes(body).decode("utf-8"))
    except UnicodeDecodeError:
        return Fetched(invalid="is not UTF-8 text")


def _reason(error: Exception) -> str:
    """The root cause of an httpx error, e.g. the certificate problem behind a ConnectError."""
    cause: BaseException = error
    while cause.__context__ is not None and not isinstance(cause, ssl.SSLCertVerificationError):
        cause = cause.__context__
    if isinstance(cause, ssl.SSLCertVerificationError):
        return f"certificate not valid: {cause.verify_message}"
    return f"{type(error).__name__} {error}".strip()
