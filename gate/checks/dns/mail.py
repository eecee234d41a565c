"""Email authentication records of one domain: MX, SPF, DKIM, DMARC, MTA-STS and TLS-RPT.

Each record type is its own part (`spf`, `dkim`, `dmarc`, `inbound`), all asking through one
`MailLookup`, so a DNS failure in any of them fails the check closed (see `mail_lookup`).
"""

from __future__ import annotations

from collections.abc import Generator, Iterator

from gate.checks.dns import dkim, dmarc, inbound, spf
from gate.checks.dns.mail_lookup import EmailPolicy, MailLookup
from gate.checks.dns.resolver import GateResolver
from gate.model import Finding


class MailChecker:
    """Every mail record the policy asks for, in one run; `spf_lookups` once the SPF record parsed."""

    def __init__(self, resolver: GateResolver, domain: str, policy: EmailPolicy) -> None:
        self.lookup = MailLookup(resolver, domain, policy)
        self.spf_lookups: int | None = None  # as RFC 7208 counts them, once the record parsed

    def run(self) -> Iterator[Finding]:
        policy = self.lookup.policy
        if policy.receives:
            yield from inbound.mx(self.lookup)
        yield from self.spf()
        if policy.sends:
            yield from dkim.check(self.lookup)
        yield from dmarc.check(self.lookup)
        yield from inbound.mta_sts(self.lookup)
        yield from inbound.tls_rpt(self.lookup)

    def spf(self) -> Generator[Finding, None, None]:
        self.spf_lookups = yield from spf.check(self.lookup)
