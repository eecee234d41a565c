"""TLS on every declared host: trusted chain, right name, days to expiry, no legacy protocols, and
plain HTTP answered with a redirect to HTTPS.

The handshakes use the standard library directly (not httpx) so the gate sees the certificate,
the negotiated version and OpenSSL's verification verdict, not just "request failed".
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime
import ssl
import warnings
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

from gate.checks.http.preview import Preview
from gate.checks.http.resolve import Refused, Resolver
from gate.checks.http.rules import RULES
from gate.checks.http.surface import Surface
from gate.checks.http.transport import RequestFailed, fetch, make_client
from gate.errors import CheckFailure
from gate.model import Finding, Location, Severity

# OpenSSL's X509_V_ERR_* codes the gate tells apart; every other code is "not trusted".
_EXPIRED = {9, 10}  # not yet valid, expired
_NAME = {62, 64}  # hostname mismatch, IP address mismatch
# After one of these, the host's identity is unproven: no secret may be sent to it.
UNTRUSTED = frozenset({"http.tls.untrusted", "http.tls.expired", "http.tls.name-mismatch", "http.tls.handshake-failed"})


@dataclass(frozen=True)
class Thresholds:
    warn_days: int
    fail_days: int


@dataclass(frozen=True)
class Handshake:
    version: str | None
    der: bytes | None


def split_host(host: str) -> tuple[str, int]:
    """host[:port] (IPv6 in brackets) into a name and a port, 443 by default."""
    if host.startswith("["):
        name, _, rest = host[1:].partition("]")
        return name, int(rest[1:]) if rest.startswith(":") else 443
    name, sep, port = host.rpartition(":")
    return (name, int(port)) if sep and port.isdigit() else (host, 443)


async def handshake(resolver: Resolver, name: str, port: int, context: ssl.SSLContext, timeout: float) -> Handshake:
    """One TLS handshake under a deadline, to an address the resolver allows; raises ssl/OS errors
    as they come and Refused for an address the gate never connects to."""

    async def connect() -> Handshake:
        _, writer = await resolver.open_connection(name, port, ssl_context=context)
        try:
            tls = writer.get_extra_info("ssl_object")
            return Handshake(version=tls.version(), der=tls.getpeercert(binary_form=True))
        finally:
            writer.close()
            with contextlib.suppress(OSError, ssl.SSLError):
                await writer.wait_closed()

    return await asyncio.wait_for(connect(), timeout)


def _unverified() -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def _legacy_context() -> ssl.SSLContext | None:
    """A client that offers only TLS 1.0/1.1, or None when this OpenSSL build cannot."""
    context = _unverified()
    try:
        with warnings.catch_warnings():
            # The deprecation is the point: this client exists to find servers that still agree.
            warnings.simplefilter("ignore", DeprecationWarning)
            context.minimum_version = ssl.TLSVersion.TLSv1
            context.maximum_version = ssl.TLSVersion.TLSv1_1
        context.set_ciphers("DEFAULT:@SECLEVEL=0")
    except (ValueError, ssl.SSLError):
        return None
    return context


def _not_after(der: bytes | None) -> datetime.datetime | None:
    if der is None:
        return None
    from cryptography import x509

    return x509.load_der_x509_certificate(der).not_valid_after_utc


def _names(der: bytes | None) -> str:
    """The DNS names and IPs a certificate covers, for the message."""
    if der is None:
        return "unknown names"
    from cryptography import x509

    cert = x509.load_der_x509_certificate(der)
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return "no subjectAltName"
    names = [str(n) for n in san.get_values_for_type(x509.DNSName)]
    names += [str(n) for n in san.get_values_for_type(x509.IPAddress)]
    return ", ".join(names) or "no names"


async def check_host(
    host: str,
    preview: Preview,
    verify: ssl.SSLContext,
    thresholds: Thresholds,
    now: datetime.datetime,
) -> AsyncIterator[Finding]:
    """TLS findings for one host[:port]; a finding in UNTRUSTED means nothing else may be sent to it."""
    name, port = split_host(host)
    location = Location(url=f"https://{host}/", name=host)
    timeout = preview.limits.timeout
    try:
        shake = await handshake(preview.resolver, name, port, verify, timeout)
    except Refused as refused:
        raise CheckFailure(f"TLS of {host} not checked, because {refused}") from refused
    except ssl.SSLCertVerificationError as error:
        yield await _not_verified(host, preview, error, location)
        return
    except ssl.SSLError as error:
        yield RULES.finding(
            "http.tls.handshake-failed",
            f"The TLS handshake with {host} fails: {error.reason or error}.",
            location=location,
            preview_host=preview.base_host,
        )
        return
    except (OSError, TimeoutError) as error:
        reason = (
            "no answer within the request timeout"
            if isinstance(error, TimeoutError)
            else (error.strerror or str(error))
        )
        yield RULES.finding(
            "http.tls.no-https",
            f"{host} does not accept HTTPS connections on port {port}: {reason}.",
            location=location,
            preview_host=preview.base_host,
        )
        return
    for finding in _expiry(host, shake, thresholds, now, location, preview.base_host):
        yield finding
    legacy = await _legacy_protocol(host, preview, location)
    if legacy is not None:
        yield legacy


async def _not_verified(
    host: str, preview: Preview, error: ssl.SSLCertVerificationError, location: Location
) -> Finding:
    """Why the certificate did not verify, read from the certificate itself where it can be."""
    name, port = split_host(host)
    details = await _peek(preview.resolver, name, port, preview.limits.timeout)
    code = error.verify_code
    if code in _EXPIRED:
        expiry = _not_after(details.der)
        when = f" (not valid after {expiry:%Y-%m-%d %H:%M} UTC)" if expiry else ""
        return RULES.finding(
            "http.tls.expired",
            f"{host} presents a certificate that {'is not yet valid' if code == 9 else 'has expired'}{when}.",
            location=location,
            preview_host=preview.base_host,
        )
    if code in _NAME:
        return RULES.finding(
            "http.tls.name-mismatch",
            f"{host} presents a certificate for {_names(details.der)}, which does not cover {name}.",
            location=location,
            preview_host=preview.base_host,
        )
    return RULES.finding(
        "http.tls.untrusted",
        f"{host} presents a certificate that does not verify: {error.verify_message}"
        + (" (checked with the CA bundle in checks.http.ca_bundle)." if preview.ca_bundle else "."),
        location=location,
        preview_host=preview.base_host,
    )


def _expiry(
    host: str,
    shake: Handshake,
    thresholds: Thresholds,
    now: datetime.datetime,
    location: Location,
    preview_host: str,
) -> Iterator[Finding]:
    expiry = _not_after(shake.der)
    if expiry is None:
        return
    days = (expiry - now).total_seconds() / 86400
    text = f"The certificate of {host} expires on {expiry:%Y-%m-%d} ({days:.0f} days from now)"
    if days < thresholds.fail_days:
        yield RULES.finding(
            "http.tls.expiry-imminent",
            f"{text}; the preset fails under {thresholds.fail_days} days.",
            location=location,
            details={"days_left": round(days, 1)},
            preview_host=preview_host,
        )
    elif days < thresholds.warn_days:
        yield RULES.finding(
            "http.tls.expiry-soon",
            f"{text}; the preset warns under {thresholds.warn_days} days.",
            location=location,
            details={"days_left": round(days, 1)},
            preview_host=preview_host,
        )


async def _legacy_protocol(host: str, preview: Preview, location: Location) -> Finding | None:
    """Whether the host still completes a TLS 1.0/1.1 handshake (or this machine cannot tell)."""
    legacy = _legacy_context()
    if legacy is None:
        return RULES.finding(
            "http.tls.legacy-untested",
            f"Could not test whether {host} accepts TLS 1.0/1.1: this machine's OpenSSL cannot offer them.",
            location=location,
            preview_host=preview.base_host,
        )
    name, port = split_host(host)
    try:
        old = await handshake(preview.resolver, name, port, legacy, preview.limits.timeout)
    except (ssl.SSLError, OSError, TimeoutError, Refused):
        return None
    return RULES.finding(
        "http.tls.legacy-protocol",
        f"{host} completes a handshake with {old.version}.",
        location=location,
        preview_host=preview.base_host,
    )


async def _peek(resolver: Resolver, name: str, port: int, timeout: float) -> Handshake:
    """The certificate of a host that failed verification, read without verifying, for the message."""
    try:
        return await handshake(resolver, name, port, _unverified(), timeout)
    except (ssl.SSLError, OSError, TimeoutError, Refused):
        return Handshake(None, None)


async def check_plain_http(host: str, http_port: int, preview: Preview) -> AsyncIterator[Finding]:
    """`http://host/` must redirect to https; refusing plain HTTP altogether is also fine."""
    name, _ = split_host(host)
    display = name if ":" not in name else f"[{name}]"
    url = f"http://{display}/" if http_port == 80 else f"http://{display}:{http_port}/"
    # No secret header ever goes over plain HTTP: this client carries none.
    async with make_client(preview, verify=False) as client:
        try:
            page = await fetch(client, url, limits=preview.limits, max_body=16_000)
        except RequestFailed as failure:
            if failure.refused:
                raise CheckFailure(f"plain HTTP on {host} not checked, because {failure.reason}") from failure
            return
    target = page.location
    if target is None:
        yield RULES.finding(
            "http.tls.http-not-redirected",
            f"{url} answers HTTP {page.status} over plain HTTP instead of redirecting to https://.",
            location=Location(url=url, name=host),
            preview_host=preview.base_host,
        )
    elif not target.startswith("https://"):
        yield RULES.finding(
            "http.tls.http-not-redirected",
            f"{url} redirects to {target}, which is still plain HTTP.",
            severity=Severity.MEDIUM,
            location=Location(url=url, name=host),
            preview_host=preview.base_host,
        )


async def check_hosts(surface: Surface) -> tuple[list[Finding], bool]:
    """TLS of every declared host, and whether the preview's own host proved its identity.

    Hosts that fail are added to `surface.unreachable`: nothing more is asked of them. When the
    preview's own host fails, the other surface checks are skipped.
    """
    preview = surface.preview
    hosts = [host for host in preview.hosts if host != preview.base_host or preview.base_url.startswith("https")]
    raw = surface.config.get("tls", {})
    thresholds = Thresholds(int(raw.get("warn_days", 30)), int(raw.get("fail_days", 7)))
    now = datetime.datetime.now(datetime.UTC)

    async def one(host: str) -> list[Finding]:
        found = [f async for f in check_host(host, preview, preview.trust, thresholds, now)]
        found += [f async for f in check_plain_http(host, preview.http_port(host), preview)]
        return found

    findings: list[Finding] = []
    trusted = True
    for found in await asyncio.gather(*(one(host) for host in hosts)):
        for finding in found:
            if finding.rule_id in UNTRUSTED or finding.rule_id == "http.tls.no-https":
                surface.unreachable.add(finding.location.name or "")
            if finding.location.name == preview.base_host and finding.rule_id in UNTRUSTED:
                trusted = False
                finding = dataclasses.replace(
                    finding,
                    message=finding.message + " The other surface checks were skipped: they would send "
                    "credentials to a server whose identity is not proven.",
                )
            findings.append(finding)
    return findings, trusted
