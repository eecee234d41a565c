"""Addresses the gate never connects to, whichever check asks and whatever an answer names.

A link-local or cloud metadata address hands out the runner's cloud credentials to whoever can
make the gate fetch from it: a preview's redirect, a bundle's source-map header, a DNS zone's
MTA-STS host or CNAME target. The address is judged after resolution, so a name that resolves
there (DNS rebinding) is refused too.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# Instance metadata services of the large clouds outside 169.254.0.0/16: AWS over IPv6, Alibaba,
# Oracle.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(address) for address in ("fd00:ec2::254", "100.100.100.200", "192.0.0.192")
)


def forbidden(address: str) -> str | None:
    """Why the gate never connects to `address` (link-local or metadata), or None."""
    try:
        ip: IPAddress = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip in METADATA_ADDRESSES:
        return f"{address} is a cloud metadata address"
    if ip.is_link_local:
        return f"{address} is link-local (where cloud metadata services answer)"
    return None


def connectable(addresses: Iterable[str], problems: list[str]) -> list[str]:
    """The addresses the gate may connect to; each refused one is said in `problems`."""
    allowed = []
    for address in addresses:
        refusal = forbidden(address)
        if refusal:
            problems.append(f"not connected: {refusal}")
        else:
            allowed.append(address)
    return allowed
