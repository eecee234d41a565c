"""The domain map in gate.yml (checks.dns.domain, .hosts, .canonical), read by every part that needs it.

The map is the user's one statement of which names the product answers on. The dns check judges
each name's records against it; the http check and `gate watch` take from it the hosts to
TLS-check and the canonical host, unless checks.http lists its own. Keeping it here lets them
share it without any check importing another.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def fqdn(label: str, domain: str) -> str:
    """`@` is the apex; a relative label is under the domain; a name ending in the domain is kept."""
    text = label.strip().lower()
    if text in ("@", ""):
        return domain
    if text.endswith("."):
        return text.rstrip(".")
    if text == domain or text.endswith("." + domain):
        return text
    return f"{text}.{domain}"


def domain_map(full_config: Mapping[str, Any]) -> tuple[list[str], str | None]:
    """The hosts of the domain map (checks.dns.domain and .hosts) and its canonical host.

    One domain map serves both checks: unless checks.http.hosts lists its own, the http check
    TLS-checks every name the map says exists and takes the map's canonical host.
    """
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
