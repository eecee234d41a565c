"""Where the http check may connect, and to which address: the one choke point every connection
of the check (httpx requests, TLS handshakes, the load engine) goes through.

Only host names gate.yml declares are connected to; a page, a redirect, a bundle's `SourceMap:`
header or `sourceMappingURL` naming another host is never followed there. Names resolve through
the `resolve:` map first (as `curl --resolve host[:port]:address`), then `localhost` and
`*.localhost` to loopback without asking anyone (RFC 6761, section 6.3), then the system
resolver. Whatever the answer, a link-local or cloud metadata address is never connected to: the
address is checked after resolution, so a name that resolves there (DNS rebinding) is refused too.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gate.netpolicy import forbidden

if TYPE_CHECKING:
    import httpcore

LOOPBACK = ("127.0.0.1", "::1")

Lookup = Callable[[str, int], Awaitable[list[str]]]


class Refused(Exception):
    """A connection the gate will not make, said in words."""


def is_localhost(host: str) -> bool:
    host = host.lower().rstrip(".")
    return host == "localhost" or host.endswith(".localhost")


async def system_lookup(host: str, port: int) -> list[str]:
    loop = asyncio.get_running_loop()
    answers = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(answer[4][0]) for answer in answers))


def split_pin(entry: str) -> tuple[str, int | None]:
    """A `resolve:` key, `host` or `host:port` (`[v6]:port`), as a lower-case name and a port."""
    if entry.startswith("["):
        name, _, rest = entry[1:].partition("]")
        return name.lower(), int(rest[1:]) if rest[1:].isdigit() else None
    name, sep, port = entry.rpartition(":")
    if sep and port.isdigit() and ":" not in name:
        return name.lower().rstrip("."), int(port)
    return entry.lower().rstrip("."), None


@dataclass(frozen=True)
class Resolver:
    """The declared host names, the `resolve:` pins, and how other names are looked up."""

    hosts: frozenset[str]
    pins: Mapping[tuple[str, int | None], str] = field(default_factory=dict)
    lookup: Lookup = system_lookup

    def declared(self, host: str) -> bool:
        return host.lower().rstrip(".").strip("[]") in self.hosts

    async def addresses(self, host: str, port: int) -> list[str]:
        """The addresses to try for host:port, in order; raises Refused for an undeclared host or
        when every address is one the gate never connects to, OSError when the name does not resolve."""
        name = host.lower().rstrip(".").strip("[]")
        if not self.declared(name):
            raise Refused(f"{host} is not a host gate.yml declares (checks.http url, hosts, aliases, canonical_host)")
        pinned = self.pins.get((name, port)) or self.pins.get((name, None))
        if pinned is not None:
            found = [pinned]
        elif _is_address(name):
            found = [name]
        elif is_localhost(name):
            found = list(LOOPBACK)
        else:
            found = await self.lookup(name, port)
        usable = [address for address in found if forbidden(address) is None]
        if not usable:
            reasons = "; ".join(filter(None, map(forbidden, found))) or "no address"
            raise Refused(f"{host} resolves only to addresses the gate never connects to ({reasons})")
        return usable

    async def open_connection(
        self, host: str, port: int, *, ssl_context: ssl.SSLContext | None = None
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """`asyncio.open_connection` to a resolved address, TLS verified against the name."""
        last: OSError | None = None
        for address in await self.addresses(host, port):
            try:
                return await asyncio.open_connection(
                    address, port, ssl=ssl_context, server_hostname=host.strip("[]") if ssl_context else None
                )
            except ssl.SSLError:
                # The server answered and its TLS failed: another address of it would not be another server.
                raise
            except OSError as error:
                last = error
        assert last is not None
        raise last


def _is_address(name: str) -> bool:
    try:
        ipaddress.ip_address(name.split("%", 1)[0])
    except ValueError:
        return False
    return True


def pins_from_config(raw: Mapping[str, str]) -> tuple[dict[tuple[str, int | None], str], list[tuple[str, str]]]:
    """The `resolve:` map as pins, and the entries that are not usable (key, reason) for exit 2."""
    pins: dict[tuple[str, int | None], str] = {}
    bad: list[tuple[str, str]] = []
    for entry, address in raw.items():
        if not _is_address(str(address)):
            bad.append((entry, f"'{address}' is not an IP address"))
            continue
        reason = forbidden(str(address))
        if reason:
            bad.append((entry, reason))
            continue
        pins[split_pin(entry)] = str(address)
    return pins, bad


def declared_names(hosts: Iterable[str]) -> frozenset[str]:
    """Host names of host[:port] entries, for `Resolver.hosts`."""
    return frozenset(split_pin(host)[0] for host in hosts)


def network_backend(resolver: Resolver) -> httpcore.AsyncNetworkBackend:
    """An httpcore backend that connects only through `resolver`; TLS still verifies the name."""
    import httpcore

    inner = httpcore.AnyIOBackend()

    class Guarded(httpcore.AsyncNetworkBackend):
        async def connect_tcp(
            self,
            host: str,
            port: int,
            timeout: float | None = None,
            local_address: str | None = None,
            socket_options: Iterable[Any] | None = None,
        ) -> httpcore.AsyncNetworkStream:
            try:
                addresses = await resolver.addresses(host, port)
            except (Refused, OSError) as error:
                raise httpcore.ConnectError(str(error)) from error
            last: Exception | None = None
            for address in addresses:
                try:
                    return await inner.connect_tcp(address, port, timeout, local_address, socket_options)
                except (httpcore.ConnectError, httpcore.ConnectTimeout) as error:
                    last = error
            assert last is not None
            raise last

        async def connect_unix_socket(
            self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
        ) -> httpcore.AsyncNetworkStream:
            raise httpcore.ConnectError("the http check connects to no unix socket")

        async def sleep(self, seconds: float) -> None:
            await inner.sleep(seconds)

    return Guarded()
