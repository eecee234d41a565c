"""The domain map: every declared host resolves where gate.yml says, nothing dangles, CAA allows the CA."""

from __future__ import annotations

import fnmatch
import ipaddress
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import dns.rdatatype

from gate.checks.dns.resolver import GateResolver, Resolution
from gate.checks.dns.rules import not_checked, record_finding
from gate.checks.dns.takeover import Provider, provider_for, serves_unclaimed_page
from gate.config.domains import fqdn
from gate.model import Finding, Severity

# Addresses that never belong to a production host on the internet. Documentation ranges
# (192.0.2.0/24 and friends) are left out on purpose: they are not reachable either, but they
# are what examples and test zones use, and no real zone publishes them by accident.
PRIVATE_NETWORKS = tuple(
    ipaddress.ip_network(net)
    for net in (
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "0.0.0.0/8",
        "::1/128",
        "::/128",
        "fc00::/7",
        "fe80::/10",
    )
)


@dataclass(frozen=True)
class HostSpec:
    fqdn: str
    points_to: tuple[str, ...] = ()
    exists: bool = True
    environment: str = "production"


def host_specs(domain: str, hosts: Mapping[str, Any] | None) -> list[HostSpec]:
    specs = []
    for label, raw in (hosts or {}).items():
        spec = raw or {}
        specs.append(
            HostSpec(
                fqdn=fqdn(label, domain),
                points_to=tuple(str(t).lower().rstrip(".") for t in spec.get("points_to", ())),
                exists=spec.get("exists", True),
                environment=spec.get("environment", "production"),
            )
        )
    return specs


def is_private(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    return any(ip in net for net in PRIVATE_NETWORKS if net.version == ip.version)


def _matches_target(target: str, chain: Sequence[str], addresses: Sequence[str]) -> bool:
    try:
        network = ipaddress.ip_network(target, strict=False)
    except ValueError:
        return any(fnmatch.fnmatchcase(name, target) for name in chain)
    return any(
        ipaddress.ip_address(a) in network for a in addresses if ipaddress.ip_address(a).version == network.version
    )


def _publish(spec: HostSpec) -> str:
    if not spec.points_to:
        return f"{spec.fqdn}. A <address of the host>"
    target = spec.points_to[0]
    try:
        ip = ipaddress.ip_address(target)
    except ValueError:
        return f"{spec.fqdn}. CNAME {target.replace('*.', '<name>.')}."
    return f"{spec.fqdn}. {'A' if ip.version == 4 else 'AAAA'} {ip}"


def _fix_by_publishing(rule_id: str, message: str, spec: HostSpec, record: str, current: str) -> Finding:
    """A finding on a declared host whose fix is to publish the record gate.yml declares for it."""
    return record_finding(rule_id, message, name=spec.fqdn, record=record, current=current, publish=_publish(spec))


def _describe(res: Resolution, addresses: Sequence[str]) -> str:
    steps = [res.name, *res.chain]
    text = " -> ".join(steps)
    if addresses:
        text += " -> " + ", ".join(addresses)
    elif res.nxdomain:
        text += " (NXDOMAIN)"
    else:
        text += " (no address)"
    return text


class HostChecker:
    def __init__(
        self, resolver: GateResolver, domain: str, providers: Sequence[Provider], *, http_probe: bool = True
    ) -> None:
        self.resolver = resolver
        self.domain = domain
        self.providers = providers
        self.http_probe = http_probe  # False: takeover judged from DNS alone, no request to resolved addresses

    def check(self, spec: HostSpec) -> Iterator[Finding]:
        res, addresses = self.resolver.addresses(spec.fqdn)
        name = spec.fqdn
        current = _describe(res, addresses)
        if res.loop or res.too_long or (res.chain and res.nxdomain) or not addresses:
            yield from self._unresolved(spec, res, current)
            return
        provider = provider_for(self.providers, res.end) if res.chain else None
        if provider is not None and provider.http:
            if not self.http_probe:
                yield not_checked(
                    name,
                    f"Whether {name} (a CNAME to {provider.name}) can be taken over was not checked, because "
                    "checks.dns.takeover_http is false: only an HTTP request shows the provider's unclaimed page.",
                )
            elif serves_unclaimed_page(name, addresses, provider.http):
                yield self._takeover(
                    spec, provider, current, f"{res.end} answers with {provider.name}'s page for an unclaimed site"
                )
                return
        if not spec.exists:
            yield record_finding(
                "dns.host.should-not-exist",
                f"{name} resolves ({current}) but gate.yml says it must not exist.",
                name=name,
                record="CNAME" if res.chain else "A",
                current=current,
                action=f"Delete the records of {name}",
            )
            return
        chain = [name, *res.chain]
        if spec.points_to and not any(_matches_target(t, chain, addresses) for t in spec.points_to):
            yield _fix_by_publishing(
                "dns.host.unexpected-target",
                f"{name} resolves as {current}, not to {' or '.join(spec.points_to)} as gate.yml declares.",
                spec,
                "CNAME" if res.chain else "A",
                current,
            )
        private = [a for a in addresses if is_private(a)]
        if private and spec.environment == "production":
            yield _fix_by_publishing(
                "dns.host.private-address",
                f"{name} is a production host but resolves to {', '.join(private)}, which the internet cannot reach.",
                spec,
                "A",
                current,
            )

    def _unresolved(self, spec: HostSpec, res: Resolution, current: str) -> Iterator[Finding]:
        """Why `spec` leads to no address: a CNAME loop, a chain too long, a dangling CNAME, no record."""
        name = spec.fqdn
        if res.loop:
            yield _fix_by_publishing(
                "dns.host.cname-loop",
                f"{name} never resolves: its CNAME chain loops ({current}).",
                spec,
                "CNAME",
                current,
            )
        elif res.too_long:
            yield _fix_by_publishing(
                "dns.host.cname-chain-too-long",
                f"{name} needs more than {len(res.chain) - 1} CNAME hops ({current}).",
                spec,
                "CNAME",
                current,
            )
        elif res.chain and res.nxdomain:
            yield self._dangling(spec, res, current)
        elif spec.exists:
            yield _fix_by_publishing(
                "dns.host.unresolvable",
                f"{name} has no A or AAAA record{' (NXDOMAIN)' if res.nxdomain else ''}.",
                spec,
                "A",
                current,
            )

    def _takeover(self, spec: HostSpec, provider: Provider, current: str, evidence: str) -> Finding:
        return record_finding(
            "dns.takeover.dangling",
            f"{spec.fqdn} is a CNAME to {provider.name}, and {evidence}: anyone can claim that resource and serve "
            f"their content on {spec.fqdn}.",
            name=spec.fqdn,
            record="CNAME",
            current=current,
            action=f"Delete the CNAME of {spec.fqdn}, or claim the resource at {provider.name} first "
            f"(see {provider.docs})",
        )

    def _dangling(self, spec: HostSpec, res: Resolution, current: str) -> Finding:
        provider = provider_for(self.providers, res.end)
        if provider is not None and provider.nxdomain:
            return self._takeover(spec, provider, current, f"{res.end} does not exist")
        return record_finding(
            "dns.host.dangling-cname",
            f"{spec.fqdn} is a CNAME to {res.end}, which does not exist (NXDOMAIN).",
            name=spec.fqdn,
            record="CNAME",
            current=current,
            publish=_publish(spec) if spec.points_to else None,
            action=None if spec.points_to else f"Delete the CNAME of {spec.fqdn}",
        )

    def canonical_pair(self, canonical: str | None, declared: set[str]) -> Iterator[Finding]:
        """Apex and www both answer, so the one that is not canonical can redirect to the one that is.

        A name declared in the host map is judged there; this covers the one the map left out.
        """
        apex, www = self.domain, f"www.{self.domain}"
        resolves = {name: bool(self.resolver.addresses(name)[1]) for name in (apex, www)}
        target = fqdn(canonical, self.domain) if canonical else None
        for name, other in ((apex, www), (www, apex)):
            if resolves[name] or name in declared or not (resolves[other] or target == name):
                continue
            yield record_finding(
                "dns.host.canonical-alias-missing",
                f"{name} does not resolve; visitors who type it get an error instead of a redirect to "
                f"{target or other}.",
                name=name,
                record="A",
                current="(no address)",
                publish=f"{name}. CNAME {other}." if name == www else f"{name}. A <address of {other}>",
            )

    def caa(self, issuers: Sequence[str], required: bool) -> Iterator[Finding]:
        res = self.resolver.chase(self.domain, "CAA")
        name = self.domain
        publish = (
            " ; ".join(f'{name}. CAA 0 issue "{issuer}"' for issuer in issuers)
            or f'{name}. CAA 0 issue "<your CA, e.g. letsencrypt.org>"'
        )
        if res.rrset is None:
            yield record_finding(
                "dns.caa.missing",
                f"{name} has no CAA record: any certificate authority may issue for it.",
                name=name,
                record="CAA",
                current="(none)",
                publish=publish,
                severity=Severity.MEDIUM if required else None,
            )
            return
        allowed = set()
        for rdata in res.rrset:
            if rdata.tag.decode().lower() in ("issue", "issuewild"):
                allowed.add(rdata.value.decode().split(";")[0].strip().lower())
        missing = [issuer for issuer in issuers if issuer.lower() not in allowed]
        if missing:
            current = " | ".join(res.values)
            yield record_finding(
                "dns.caa.ca-not-allowed",
                f"The CAA records of {name} do not allow {', '.join(missing)}, the CA gate.yml says you use.",
                name=name,
                record="CAA",
                current=current,
                publish=" ; ".join(f'{name}. CAA 0 issue "{m}"' for m in missing),
            )


def zone_problem(resolver: GateResolver, domain: str) -> Finding | None:
    """The one root-cause finding when `domain` does not exist or is not a zone apex, else None.

    Everything else the check reads (CAA, mail policy, DNSSEC) lives at the apex; checking a
    name that is missing, or one inside somebody's zone, would only repeat the cause many times.
    """
    res = resolver.chase(domain, "SOA")
    if res.rrset is not None and not res.chain:
        return None
    if res.nxdomain and not res.chain:
        return record_finding(
            "dns.domain.not-found",
            f"{domain} does not exist (NXDOMAIN): nothing else about it was checked.",
            name=domain,
            record="SOA",
            current="(NXDOMAIN)",
            action=f"Register {domain} and delegate it to your DNS provider, or correct checks.dns.domain",
        )
    if res.chain:
        why = f"is a CNAME to {res.chain[0]}"
        apex = None
    else:
        authority = res.response.authority if res.response is not None else []
        zones = [r.name.to_text(omit_final_dot=True).lower() for r in authority if r.rdtype == dns.rdatatype.SOA]
        apex = zones[0] if zones else None
        why = f"is a name inside the zone {apex}" if apex else "has no SOA record"
    fix = (
        f"Set checks.dns.domain: {apex} and list {domain.removesuffix('.' + apex)} under hosts"
        if apex and domain.endswith("." + apex)
        else "Set checks.dns.domain to the registered domain (the zone apex)"
    )
    return record_finding(
        "dns.domain.not-apex",
        f"{domain} {why}, not a zone apex: its CAA, mail policy and DNSSEC were not checked.",
        name=domain,
        record="SOA",
        current="(none at this name)",
        action=fix,
    )
