"""DNSSEC, one level: the parent's DS matches a key of the zone, and the zone's signatures hold.

This is the chain a validating resolver walks from the parent into the zone. It is not a full
validator from the root: the DS is trusted as the resolver reports it. That is enough to catch
what takes a signed domain down (a key rolled without updating the DS, signatures left to
expire), which is the failure that makes validating resolvers answer SERVFAIL for every name.
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Iterator

import dns.dnssec
import dns.dnssectypes
import dns.exception
import dns.name
import dns.rdtypes.ANY.DNSKEY
import dns.rdtypes.ANY.DS
import dns.rdtypes.ANY.RRSIG
import dns.rrset

from gate.checks.dns.resolver import GateResolver
from gate.checks.dns.rules import record_finding
from gate.model import Finding

SIGNED_AT_APEX = ("SOA", "A", "AAAA", "MX", "TXT")
# RFC 8624 section 3.1: validators MUST NOT validate these; a zone signed only with them is insecure.
UNVALIDATED_ALGORITHMS = frozenset(
    {dns.dnssectypes.Algorithm.RSAMD5, dns.dnssectypes.Algorithm.DSA, dns.dnssectypes.Algorithm.DSANSEC3SHA1}
)


def _when(posix: int) -> str:
    return datetime.datetime.fromtimestamp(posix, datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _signature_problem(
    rrset: dns.rrset.RRset, sigs: list[dns.rrset.RRset], keys: dns.rrset.RRset, now: float
) -> str | None:
    """Why the record set does not validate with `keys`, or None when one signature does.

    During a key or algorithm rollover a set carries several signatures; one that verifies is
    enough, so the reasons of the others only matter when none does.
    """
    if not sigs:
        return "has no RRSIG"
    problems = []
    for rrsig in sigs:
        try:
            dns.dnssec.validate(rrset, rrsig, {keys.name: keys}, now=now)
        except dns.exception.ValidationFailure as error:
            problems.append(str(error))
        else:
            return None
    for sig in (rdata for rrsig in sigs for rdata in rrsig):
        assert isinstance(sig, dns.rdtypes.ANY.RRSIG.RRSIG)
        if sig.expiration < now:
            return f"has a signature (key tag {sig.key_tag}) that expired on {_when(sig.expiration)}"
        if sig.inception > now:
            return f"has a signature (key tag {sig.key_tag}) that is not valid before {_when(sig.inception)}"
    return "has no signature that verifies with the zone's keys (" + "; ".join(problems) + ")"


def check_zone(resolver: GateResolver, zone: str) -> Iterator[Finding]:
    ds = resolver.chase(zone, "DS").rrset
    dnskey_res = resolver.chase(zone, "DNSKEY")
    keys = dnskey_res.rrset
    if ds is None:
        how = (
            "publishes DNSKEYs but its parent has no DS record, so validators treat it as unsigned"
            if keys is not None
            else "is not signed (no DS at the parent)"
        )
        yield record_finding("dns.dnssec.unsigned", f"{zone} {how}.", name=zone, record="DS", current="(none)")
        return
    ds_text = " | ".join(sorted(r.to_text() for r in ds))
    publish_ds = f"{zone}. DS <key tag> <algorithm> 2 <SHA-256 of the zone's current KSK> (at the registrar)"
    if keys is None:
        yield record_finding(
            "dns.dnssec.broken",
            f"The parent of {zone} publishes a DS but the zone serves no DNSKEY.",
            name=zone,
            record="DS",
            current=ds_text,
            action=f"Remove the DS at the registrar, or sign {zone} again",
        )
        return
    origin = dns.name.from_text(zone)
    matched, usable = _keys_matching(origin, keys, ds)
    if not usable:
        # Validators ignore a DS they cannot use and treat the zone as unsigned (RFC 4035 5.2).
        yield record_finding(
            "dns.dnssec.unsigned",
            f"{zone} is signed, but its DS records ({ds_text}) use digest types or algorithms validators no "
            "longer accept, so it is treated as unsigned.",
            name=zone,
            record="DS",
            current=ds_text,
        )
        return
    if not matched:
        tags = ", ".join(str(dns.dnssec.key_id(k)) for k in keys if isinstance(k, dns.rdtypes.ANY.DNSKEY.DNSKEY))
        yield record_finding(
            "dns.dnssec.broken",
            f"No DNSKEY of {zone} (key tags {tags}) matches the DS its parent publishes ({ds_text}): validating "
            f"resolvers answer SERVFAIL for every name in {zone}.",
            name=zone,
            record="DS",
            current=ds_text,
            publish=publish_ds,
        )
        return
    yield from _signatures(resolver, zone, keys, dnskey_res.signatures(), matched)


def _signatures(
    resolver: GateResolver,
    zone: str,
    keys: dns.rrset.RRset,
    key_signatures: list[dns.rrset.RRset],
    matched: list[dns.rdtypes.ANY.DNSKEY.DNSKEY],
) -> Iterator[Finding]:
    """The DNSKEY set signed by a key the DS names (`matched`), and the apex record sets by the zone's keys."""
    origin = dns.name.from_text(zone)
    now = time.time()
    anchor = dns.rrset.from_rdata_list(origin, keys.ttl, matched)
    problem = _signature_problem(keys, key_signatures, anchor, now)
    if problem:
        yield record_finding(
            "dns.dnssec.broken",
            f"The DNSKEY set of {zone} {problem}: validating resolvers answer SERVFAIL for {zone}.",
            name=zone,
            record="DNSKEY",
            current=problem,
            action=f"Re-sign {zone} with the key the DS names",
        )
        return
    for rdtype in SIGNED_AT_APEX:
        res = resolver.chase(zone, rdtype)
        if res.rrset is None or res.chain:
            continue
        problem = _signature_problem(res.rrset, res.signatures(), keys, now)
        if problem:
            yield record_finding(
                "dns.dnssec.broken",
                f"The {rdtype} record set of {zone} {problem}: validating resolvers answer SERVFAIL for it.",
                name=zone,
                record=rdtype,
                current=problem,
                action=f"Re-sign {zone}; check the signer's refresh schedule",
                subject=rdtype,
            )


def _keys_matching(
    origin: dns.name.Name, keys: dns.rrset.RRset, ds: dns.rrset.RRset
) -> tuple[list[dns.rdtypes.ANY.DNSKEY.DNSKEY], bool]:
    """The zone's keys some DS matches, and whether any DS is one validators still accept (RFC 8624)."""
    matched = []
    usable = False
    for key in keys:
        assert isinstance(key, dns.rdtypes.ANY.DNSKEY.DNSKEY)
        for record in ds:
            assert isinstance(record, dns.rdtypes.ANY.DS.DS)
            if record.algorithm in UNVALIDATED_ALGORITHMS:
                continue
            try:
                # validating=True: SHA-1 DS records may no longer be made, but are still checked.
                candidate = dns.dnssec.make_ds(origin, key, record.digest_type, validating=True)
            except (dns.exception.UnsupportedAlgorithm, dns.exception.DeniedByPolicy, ValueError):
                continue
            usable = True
            if candidate == record:
                matched.append(key)
    return matched, usable
