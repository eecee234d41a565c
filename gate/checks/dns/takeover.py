"""Subdomain takeover: providers whose deleted resources anyone can claim, and their fingerprints.

The data lives in `rules/dns/takeover.yml`. A fingerprint is either NXDOMAIN for the CNAME
target, or a text the provider serves for a name no customer has claimed. The HTTP probe asks
the address the gate's own resolver found (never the system resolver), with the host's name,
bounded in time and size and without following redirects.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass

import yaml

from gate.bodies import DecodingError, read_sync
from gate.netpolicy import connectable
from gate.rules_data import rules_file

HTTP_PORT = 80
HTTP_TIMEOUT_S = 5.0
MAX_BODY = 64 * 1024
MAX_ADDRESSES = 3  # tried in order until one answers


class ProbeFailed(Exception):
    """No address of the host answered the HTTP probe: the fingerprint could not be checked."""


@dataclass(frozen=True)
class Provider:
    name: str
    patterns: tuple[str, ...]
    docs: str
    nxdomain: bool = False
    http: str | None = None

    def matches(self, target: str) -> bool:
        return any(fnmatch.fnmatchcase(target, pattern) for pattern in self.patterns)


def load_providers() -> list[Provider]:
    data = yaml.safe_load(rules_file("dns", "takeover.yml").read_text())
    return [
        Provider(
            name=entry["name"],
            patterns=tuple(entry["cname"]),
            docs=entry.get("docs", ""),
            nxdomain=bool(entry.get("nxdomain", False)),
            http=entry.get("http"),
        )
        for entry in data["providers"]
    ]


def provider_for(providers: Sequence[Provider], target: str) -> Provider | None:
    return next((provider for provider in providers if provider.matches(target)), None)


def serves_unclaimed_page(host: str, addresses: Sequence[str], fingerprint: str) -> bool:
    """Whether `GET http://host/` at the host's addresses shows the provider's unclaimed page."""
    import httpx

    problems: list[str] = []
    for address in connectable(addresses[:MAX_ADDRESSES], problems):
        netloc = f"[{address}]" if ":" in address else address
        try:
            with (
                httpx.Client(timeout=HTTP_TIMEOUT_S, follow_redirects=False, trust_env=False) as client,
                client.stream(
                    "GET",
                    f"http://{netloc}:{HTTP_PORT}/",
                    headers={"Host": host, "User-Agent": "launch-gate (dns takeover check)"},
                ) as response,
            ):
                body, _ = read_sync(response, MAX_BODY)
        except (httpx.HTTPError, DecodingError) as error:
            problems.append(f"{address}: {type(error).__name__} {error}".strip())
            continue
        return fingerprint in body.decode("utf-8", "replace")
    raise ProbeFailed(f"http://{host}/ did not answer ({'; '.join(problems) or 'no address'})")
