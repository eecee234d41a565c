"""The demo's domain: a small zone with a weak DMARC record and a dangling CNAME, served on loopback."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

DOMAIN = "acme-demo.test"
# A real 2048-bit RSA public key (a public key is no secret), so DKIM passes and the findings
# the demo shows are the planted ones.
DKIM_KEY = (
    "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAtKb9K/Wl7MMtC+w3wfVaR0Hse+1tKipMfUg2F1KhpbD+QwSpX2Qv0vV0aUNgFxZhgLl8egLpr"
    "SHSZSmF6Gmqhor9pK2FothrmGGRT7CAfGNHa1BNRUkiZ9YiyLIsnZGCBJwplQOgWF/QpkCcPUGX49mypUpegOEafcGb/pgvxoQqi9fgUbD468bqvHYmh"
    "f6TZUqSJp8iNft5Ti06XXlQMznBb9/fXdXB2ek+Wq7gOdC0wynMW17yRyC93rMzvhGKUv2ckt3s00rpVJsz//6Sbif449I5/FIT1mS9Xz2MWOl0ryXzn+D"
    "qPFv9iHDvjhdFkFQngZPcpSjEMaS0uAplfwIDAQAB"
)


def _soa(origin: str) -> str:
    return f"{origin}. 300 IN SOA ns.test. hostmaster.{origin}. 1 3600 600 86400 300\n{origin}. 300 IN NS ns.test.\n"


def zones() -> dict[str, str]:
    d = DOMAIN
    dkim = f"v=DKIM1; k=rsa; p={DKIM_KEY}"
    dkim_strings = " ".join(f'"{dkim[i : i + 255]}"' for i in range(0, len(dkim), 255))
    return {
        d: _soa(d)
        + "\n".join(
            [
                f"{d}. 300 IN A 192.0.2.10",
                f"www.{d}. 300 IN CNAME {d}.",
                f'{d}. 300 IN CAA 0 issue "letsencrypt.org"',
                f"{d}. 300 IN MX 10 mx.{d}.",
                f"mx.{d}. 300 IN A 192.0.2.25",
                f'{d}. 300 IN TXT "v=spf1 mx -all"',
                f"s1._domainkey.{d}. 300 IN TXT {dkim_strings}",
                # Planted: DMARC that only monitors and sends reports nowhere.
                f'_dmarc.{d}. 300 IN TXT "v=DMARC1; p=none"',
                # Planted: a promo site deleted at Azure, its CNAME left behind.
                f"promo.{d}. 300 IN CNAME acme-promo.azurewebsites.net.",
            ]
        )
        + "\n",
        # Served empty, so the promo site's old name answers NXDOMAIN as Azure would.
        "azurewebsites.net": _soa("azurewebsites.net"),
        # The parent, delegating the domain, for the DS and public-suffix DMARC lookups.
        "test": _soa("test") + f"{d}. 300 IN NS ns.test.\n",
    }


def plant(root: Path, stack: contextlib.ExitStack) -> Mapping[str, Any]:
    from gate.demo.dns_server import LoopbackDnsServer

    try:
        server = LoopbackDnsServer(zones()).start()
    except OSError as error:
        logging.getLogger(__name__).warning(
            "demo: skipping the DNS part, no DNS server could listen on 127.0.0.1 (%s)", error
        )
        return {}
    stack.callback(server.stop)
    return {
        "checks": {
            "dns": {
                "enabled": True,
                "domain": DOMAIN,
                "resolver": server.address,
                "canonical": "@",
                "hosts": {"@": {"points_to": ["192.0.2.10"]}, "www": {"points_to": [DOMAIN]}, "promo": None},
                "caa": {"issuers": ["letsencrypt.org"]},
                "email": {"dkim_selectors": ["s1"]},
            }
        }
    }
