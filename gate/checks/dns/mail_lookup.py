"""What every email-authentication part shares: what gate.yml asks of the domain's mail records,
and lookups that fail closed.

SPF, DMARC, MTA-STS and TLS-RPT are parsed and counted by checkdmarc, pointed at the gate's own
resolver. checkdmarc reports a DNS failure as "record not found", so after every call the
resolver's own failure list decides: any timeout or SERVFAIL on the way is "could not check",
never a finding or a pass.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from gate.checks.dns.mta_sts import HTTPS_PORT
from gate.checks.dns.resolver import GateResolver

T = TypeVar("T")


@dataclass(frozen=True)
class EmailPolicy:
    """What the preset and gate.yml ask of the domain's mail records."""

    sends: bool = True
    receives: bool = True
    dkim_selectors: tuple[str, ...] = ()
    quick_selectors: tuple[str, ...] = ()  # tried when none are declared (quick mode)
    spf_all: str = "softfail"
    dmarc_policy: str = "quarantine"
    require_mta_sts: bool = False
    mta_sts_port: int = HTTPS_PORT
    trust: ssl.SSLContext | None = None  # for the policy host; None: the system's roots

    @classmethod
    def from_config(
        cls, section: Mapping[str, Any], quick_selectors: Sequence[str], trust: ssl.SSLContext | None = None
    ) -> EmailPolicy:
        return cls(
            sends=section.get("sends", True),
            receives=section.get("receives", True),
            mta_sts_port=section.get("mta_sts_port", HTTPS_PORT),
            trust=trust,
            dkim_selectors=tuple(section.get("dkim_selectors", ())),
            quick_selectors=tuple(quick_selectors),
            spf_all=section.get("spf_all", "softfail"),
            dmarc_policy=section.get("dmarc_policy", "quarantine"),
            require_mta_sts=section.get("require_mta_sts", False),
        )


@dataclass(frozen=True)
class MailLookup:
    """One domain's mail records, asked through the gate's resolver and judged against `policy`."""

    resolver: GateResolver
    domain: str
    policy: EmailPolicy

    def guarded(self, call: Callable[[], T]) -> T:
        """Run a checkdmarc call; a DNS failure it swallowed still fails the check closed.

        Except for the lookup of the obsolete SPF record type (RFC 7208 section 3.1): checkdmarc
        asks for it only to warn that it should be deleted, so its failure changes no verdict,
        and some servers still answer that type with an error.
        """
        before = len(self.resolver.failures)
        try:
            return call()
        finally:
            failed = [f for f in self.resolver.failures[before:] if f.rdtype != "SPF"]
            if failed:
                raise failed[0]
