"""Email authentication records: MX, SPF, DKIM, DMARC, MTA-STS and TLS-RPT.

SPF, DMARC, MTA-STS and TLS-RPT are parsed and counted by checkdmarc, pointed at the gate's own
resolver; this module adds what checkdmarc leaves out (the `all` qualifier judged against the
preset, DKIM keys and their size) and turns its exceptions into findings. checkdmarc reports a
DNS failure as "record not found", so after every call the resolver's own failure list decides:
any timeout or SERVFAIL on the way is "could not check", never a finding or a pass.
"""

from __future__ import annotations

import base64
import binascii
import re
import ssl
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from gate.checks.dns.mta_sts import HTTPS_PORT, POLICY_PATH, mx_matches
from gate.checks.dns.resolver import GateResolver
from gate.checks.dns.rules import DnsRules
from gate.model import Finding, Severity

T = TypeVar("T")
SPF_LIMIT = 10
VOID_LIMIT = 2
# Weakest first: the preset names the weakest `all` it accepts and the weakest DMARC policy.
ALL_STRENGTH = {"pass": 0, "neutral": 1, "softfail": 2, "fail": 3}
ALL_TERM = {"pass": "+all", "neutral": "?all", "softfail": "~all", "fail": "-all"}
_ALL_TERM = re.compile(r"^[-+~?]?all$", re.IGNORECASE)
_P_TAG = re.compile(r"(?i)(?<![a-z])p\s*=\s*[a-z]+")
_SP_TAG = re.compile(r"(?i);\s*sp\s*=\s*[a-z]+")
DMARC_STRENGTH = {"none": 0, "quarantine": 1, "reject": 2}


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


class MailChecker:
    def __init__(self, resolver: GateResolver, domain: str, policy: EmailPolicy) -> None:
        self.resolver = resolver
        self.domain = domain
        self.policy = policy
        self.spf_lookups: int | None = None  # as RFC 7208 counts them, once the record parsed

    def _guarded(self, call: Callable[[], T]) -> T:
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

    def run(self) -> Iterator[Finding]:
        if self.policy.receives:
            yield from self.mx()
        yield from self.spf()
        if self.policy.sends:
            yield from self.dkim()
        yield from self.dmarc()
        yield from self.mta_sts()
        yield from self.tls_rpt()

    def mx(self) -> Iterator[Finding]:
        result = self.resolver.chase(self.domain, "MX")
        if result.rrset is None:
            yield DnsRules.issue(
                "dns.mx.missing",
                f"{self.domain} has no MX record, yet gate.yml says it receives mail.",
                name=self.domain,
                record="MX",
                current="(none)",
                publish=f"{self.domain}. MX 10 <your mail provider's MX host>.",
            )

    def spf(self) -> Iterator[Finding]:
        from checkdmarc import spf

        domain = self.domain
        recommended = f'{domain}. TXT "v=spf1 include:<your mail provider> {ALL_TERM[self.policy.spf_all]}"'
        try:
            query = self._guarded(lambda: spf.query_spf_record(domain, resolver=self.resolver))
        except spf.MultipleSPFRTXTRecords:
            records = [v for v in self.resolver.chase(domain, "TXT").texts if v.lower().startswith("v=spf1")]
            yield DnsRules.issue(
                "dns.spf.multiple",
                f"{domain} publishes {len(records)} SPF records; receivers treat that as permerror.",
                name=domain,
                record="TXT",
                current=" | ".join(records),
                publish=recommended,
            )
            return
        except spf.SPFRecordNotFound:
            yield DnsRules.issue(
                "dns.spf.missing",
                f"{domain} publishes no TXT record starting with v=spf1.",
                name=domain,
                record="TXT",
                current="(none)",
                publish=recommended,
            )
            return
        record = query["record"]
        try:
            parsed = self._guarded(lambda: spf.parse_spf_record(record, domain, resolver=self.resolver))
        except (spf.SPFIncludeLoop, spf.SPFRedirectLoop) as error:
            yield DnsRules.issue(
                "dns.spf.loop",
                f"The SPF record of {domain} loops: {error}.",
                name=domain,
                record="TXT",
                current=record,
                publish=recommended,
            )
            return
        except spf.SPFTooManyVoidDNSLookups as error:
            yield DnsRules.issue(
                "dns.spf.too-many-void-lookups",
                f"Checking the SPF record of {domain} makes more than {VOID_LIMIT} lookups that find nothing: {error}.",
                name=domain,
                record="TXT",
                current=record,
                publish=recommended,
            )
            return
        except spf.SPFTooManyDNSLookups as error:
            yield DnsRules.issue(
                "dns.spf.too-many-lookups",
                f"Checking the SPF record of {domain} needs more DNS lookups than RFC 7208 allows "
                f"({SPF_LIMIT}), includes and redirects followed: {error}.",
                name=domain,
                record="TXT",
                current=record,
                publish=recommended,
            )
            return
        except (spf.SPFSyntaxError, spf.SPFRecordNotFound) as error:
            # An include whose target has no SPF record is a permerror too (RFC 7208 section 5.2).
            yield DnsRules.issue(
                "dns.spf.invalid",
                f"The SPF record of {domain} is not valid: {error}",
                name=domain,
                record="TXT",
                current=record,
                publish=recommended,
            )
            return
        self.spf_lookups = int(parsed["dns_lookups"])
        yield from self._spf_all(record, _effective_all(parsed["parsed"]), recommended)

    def _spf_all(self, record: str, qualifier: str, generic: str) -> Iterator[Finding]:
        domain = self.domain
        wanted = self.policy.spf_all
        recommended = generic
        terms = record.split()
        if not any(term.lower().startswith("redirect=") for term in terms):
            # The same senders, with the `all` the preset asks for in place of the current one.
            kept = [term for term in terms if not _ALL_TERM.match(term)]
            recommended = f'{domain}. TXT "{" ".join([*kept, ALL_TERM[wanted]])}"'
        if qualifier == "pass":
            yield DnsRules.issue(
                "dns.spf.pass-all",
                f"The SPF record of {domain} ends with +all: any server may send as {domain}.",
                name=domain,
                record="TXT",
                current=record,
                publish=recommended,
            )
        elif qualifier == "neutral":
            yield DnsRules.issue(
                "dns.spf.weak-all",
                f"The SPF record of {domain} ends with ?all or has no all: "
                "mail from unlisted servers is treated as neutral.",
                name=domain,
                record="TXT",
                current=record,
                publish=recommended,
            )
        elif ALL_STRENGTH[qualifier] < ALL_STRENGTH[wanted]:
            yield DnsRules.issue(
                "dns.spf.softfail-all",
                f"The SPF record of {domain} ends with ~all; the preset asks for -all.",
                name=domain,
                record="TXT",
                current=record,
                publish=recommended,
            )

    def dkim(self) -> Iterator[Finding]:
        declared = self.policy.dkim_selectors
        selectors = declared or self.policy.quick_selectors
        found = 0
        for selector in selectors:
            owner = f"{selector}._domainkey.{self.domain}"
            result = self.resolver.chase(owner, "TXT")
            records = result.texts
            if not records:
                if declared:
                    yield DnsRules.issue(
                        "dns.dkim.missing",
                        f"No DKIM key is published for selector '{selector}' at {owner}.",
                        name=owner,
                        record="TXT",
                        current="(none)",
                        publish=f'{owner}. TXT "v=DKIM1; k=rsa; p=<2048-bit public key from your provider>"',
                    )
                continue
            found += 1
            yield from self._dkim_record(owner, records)
        if not declared and selectors and not found:
            yield DnsRules.issue(
                "dns.dkim.none-found",
                f"None of the {len(selectors)} common DKIM selectors (e.g. {', '.join(selectors[:4])}) has a key at "
                f"{self.domain}; declare yours under checks.dns.email.dkim_selectors.",
                name=f"_domainkey.{self.domain}",
                record="TXT",
                current="(none at common selectors)",
            )

    def _dkim_record(self, owner: str, records: list[str]) -> Iterator[Finding]:
        publish = f'{owner}. TXT "v=DKIM1; k=rsa; p=<2048-bit public key from your provider>"'
        current = " | ".join(records)
        if len(records) > 1:
            yield DnsRules.issue(
                "dns.dkim.invalid",
                f"{owner} has {len(records)} TXT records; verifiers need exactly one.",
                name=owner,
                record="TXT",
                current=current,
                publish=publish,
            )
            return
        problem, bits = dkim_key_problem(records[0])
        if problem:
            yield DnsRules.issue(
                "dns.dkim.invalid",
                f"The DKIM record at {owner} {problem}.",
                name=owner,
                record="TXT",
                current=current,
                publish=publish,
            )
        elif bits is not None and bits < 2048:
            yield DnsRules.issue(
                "dns.dkim.weak-key",
                f"The DKIM key at {owner} is RSA {bits} bits; 2048 is the minimum to aim for.",
                name=owner,
                record="TXT",
                current=f"RSA {bits}-bit key",
                publish=publish,
                severity=Severity.HIGH if bits < 1024 else None,
            )

    def dmarc(self) -> Iterator[Finding]:
        from checkdmarc import dmarc

        owner = f"_dmarc.{self.domain}"
        wanted = self.policy.dmarc_policy
        target = "reject" if wanted == "reject" else "quarantine"
        publish = f'{owner}. TXT "v=DMARC1; p={target}; rua=mailto:dmarc-reports@{self.domain}"'
        try:
            result = self._guarded(lambda: dmarc.get_dmarc_record(self.domain, resolver=self.resolver))
        except dmarc.DMARCRecordNotFound:
            yield DnsRules.issue(
                "dns.dmarc.missing",
                f"No DMARC record at {owner} (nor at the organisational domain).",
                name=owner,
                record="TXT",
                current="(none)",
                publish=publish,
            )
            return
        except dmarc.MultipleDMARCRecords:
            current = " | ".join(self.resolver.chase(owner, "TXT").texts)
            yield DnsRules.issue(
                "dns.dmarc.multiple",
                f"{owner} has more than one DMARC record; receivers then apply none.",
                name=owner,
                record="TXT",
                current=current,
                publish=publish,
            )
            return
        except dmarc.DMARCError as error:
            current = " | ".join(self.resolver.chase(owner, "TXT").texts) or "(none)"
            yield DnsRules.issue(
                "dns.dmarc.invalid",
                f"The DMARC record at {owner} is not valid: {error}",
                name=owner,
                record="TXT",
                current=current,
                publish=publish,
            )
            return
        record = result["record"]
        location = f"_dmarc.{result['location']}"
        tags = result["parsed"]["tags"]
        policy = str(tags["p"]["value"])
        # Never suggest a weaker p= than the one published.
        raised = policy if DMARC_STRENGTH[policy] >= DMARC_STRENGTH[target] else target
        stronger = _P_TAG.sub(f"p={raised}", record.rstrip("; "))
        if "rua" not in tags:
            stronger += f"; rua=mailto:dmarc-reports@{self.domain}"
        publish = f'{owner}. TXT "{stronger}"'
        if DMARC_STRENGTH[policy] < DMARC_STRENGTH[wanted]:
            yield DnsRules.issue(
                "dns.dmarc.policy-weak",
                f"The DMARC policy at {location} is p={policy}; the preset asks for at least p={wanted}.",
                name=location,
                record="TXT",
                current=record,
                publish=publish,
            )
        elif policy == "none":
            yield DnsRules.issue(
                "dns.dmarc.monitoring-only",
                f"The DMARC policy at {location} is p=none: reports only, forged mail is delivered.",
                name=location,
                record="TXT",
                current=record,
                publish=publish,
            )
        subdomains = str(tags.get("sp", {}).get("value", policy))
        if tags.get("sp", {}).get("explicit") and DMARC_STRENGTH[subdomains] < DMARC_STRENGTH[wanted]:
            # Forgers then simply use a made-up subdomain: billing.example.com is as good as example.com.
            yield DnsRules.issue(
                "dns.dmarc.policy-weak",
                f"The DMARC record at {location} sets sp={subdomains} for subdomains; the preset asks for at "
                f"least {wanted}.",
                name=location,
                record="TXT",
                current=record,
                publish=f'{owner}. TXT "{_SP_TAG.sub("", stronger)}"',
                subject="sp",
            )
        if "rua" not in tags:
            yield DnsRules.issue(
                "dns.dmarc.no-rua",
                f"The DMARC record at {location} has no rua= tag: nobody receives aggregate reports.",
                name=location,
                record="TXT",
                current=record,
                publish=f'{location}. TXT "{record.rstrip("; ")}; rua=mailto:dmarc-reports@{self.domain}"',
            )

    def mta_sts(self) -> Iterator[Finding]:
        from checkdmarc import mta_sts

        published = yield from self._reporting_record(
            rule="dns.mta-sts",
            label="MTA-STS",
            owner=f"_mta-sts.{self.domain}",
            record_text="v=STSv1; id=<a new id each time the policy changes>",
            query=lambda: mta_sts.query_mta_sts_record(self.domain, resolver=self.resolver),
            parse=mta_sts.parse_mta_sts_record,
            not_found=mta_sts.MTASTSRecordNotFound,
            invalid=mta_sts.MTASTSError,
        )
        if published:
            yield from self.mta_sts_policy()

    def mta_sts_policy(self) -> Iterator[Finding]:
        """The policy the `_mta-sts` record announces, fetched from its host as a sender would."""
        from gate.checks.dns.mta_sts import fetch_policy, parse_policy

        host = f"mta-sts.{self.domain}"
        publish = f"{host}. A <address of the web server that serves {POLICY_PATH}>"
        resolution, addresses = self.resolver.addresses(host)
        if not addresses:
            how = " (NXDOMAIN)" if resolution.nxdomain else ""
            yield DnsRules.issue(
                "dns.mta-sts.policy-unreachable",
                f"_mta-sts.{self.domain} announces a policy, but {host} has no A or AAAA record{how}: "
                "senders cannot fetch it.",
                name=host,
                record="A",
                current="(none)",
                publish=publish,
            )
            return
        trust = self.policy.trust or _system_trust()
        fetched = fetch_policy(host, addresses, self.policy.mta_sts_port, trust)
        url = f"https://{host}{POLICY_PATH}"
        if fetched.unreachable is not None:
            yield DnsRules.issue(
                "dns.mta-sts.policy-unreachable",
                f"{fetched.unreachable}.",
                name=host,
                record="policy",
                subject=url,
                action=f"Serve the policy at {url}",
            )
            return
        policy, problems = (None, [fetched.invalid]) if fetched.text is None else parse_policy(fetched.text)
        if policy is None:
            yield DnsRules.issue(
                "dns.mta-sts.policy-invalid",
                f"The MTA-STS policy at {url} {'; '.join(p for p in problems if p)}.",
                name=host,
                record="policy",
                subject=url,
                action=f"Correct the policy at {url}",
            )
            return
        mx = self.resolver.chase(self.domain, "MX")
        # A null MX (RFC 7505, `MX 0 .`) names no host to cover.
        hosts = sorted({rdata.exchange.to_text(omit_final_dot=True).lower() for rdata in mx.rrset or ()} - {"."})
        uncovered = [h for h in hosts if not any(mx_matches(p, h) for p in policy.mx)]
        if uncovered and policy.mode != "none":
            effect = "refuse to deliver there" if policy.mode == "enforce" else "report every delivery there as failing"
            yield DnsRules.issue(
                "dns.mta-sts.mx-not-covered",
                f"The MTA-STS policy at {url} ({policy.mode} mode) has no `mx:` pattern for {', '.join(uncovered)}, "
                f"an MX host of {self.domain}: senders {effect}.",
                name=host,
                record="policy",
                subject=url,
                current="mx: " + ", ".join(policy.mx[:10]) + (", ..." if len(policy.mx) > 10 else ""),
                action=f"Add {' and '.join(f'`mx: {h}`' for h in uncovered)} to the policy at {url}",
                severity=None if policy.mode == "enforce" else Severity.MEDIUM,
            )

    def tls_rpt(self) -> Iterator[Finding]:
        from checkdmarc import smtp_tls_reporting as tlsrpt

        yield from self._reporting_record(
            rule="dns.tlsrpt",
            label="TLS-RPT",
            owner=f"_smtp._tls.{self.domain}",
            record_text=f"v=TLSRPTv1; rua=mailto:tls-reports@{self.domain}",
            query=lambda: tlsrpt.query_smtp_tls_reporting_record(self.domain, resolver=self.resolver),
            parse=tlsrpt.parse_smtp_tls_reporting_record,
            not_found=tlsrpt.SMTPTLSReportingRecordNotFound,
            invalid=tlsrpt.SMTPTLSReportingError,
        )

    def _reporting_record(
        self,
        *,
        rule: str,
        label: str,
        owner: str,
        record_text: str,
        query: Callable[[], Mapping[str, Any]],
        parse: Callable[[str], object],
        not_found: type[Exception],
        invalid: type[Exception],
    ) -> Generator[Finding, None, bool]:
        """MTA-STS and TLS-RPT: one TXT record, validated by checkdmarc, required only when asked for.

        Returns whether a valid record is published.
        """
        publish = f'{owner}. TXT "{record_text}"'
        try:
            record = self._guarded(query)["record"]
            self._guarded(lambda: parse(record))
        except not_found:
            if self.policy.require_mta_sts:
                yield DnsRules.issue(
                    f"{rule}.missing",
                    f"{owner} has no {label} record.",
                    name=owner,
                    record="TXT",
                    current="(none)",
                    publish=publish,
                )
        except invalid as error:
            current = " | ".join(self.resolver.chase(owner, "TXT").texts) or "(none)"
            yield DnsRules.issue(
                f"{rule}.invalid",
                f"The {label} record at {owner} is not valid: {error}",
                name=owner,
                record="TXT",
                current=current,
                publish=publish,
            )
        else:
            return True
        return False


def _system_trust() -> ssl.SSLContext:
    from gate.checks.http.trust import ssl_context

    return ssl_context(None)


def _effective_all(parsed: Mapping[str, Any]) -> str:
    """The `all` that ends evaluation: a redirect without `all` hands over to the target's record."""
    redirect = parsed.get("redirect")
    if redirect and parsed.get("all") in (None, "neutral") and not _has_all(parsed):
        return _effective_all(redirect["parsed"])
    return str(parsed.get("all") or "neutral")


def _has_all(parsed: Mapping[str, Any]) -> bool:
    return any(m.get("mechanism") == "all" for m in parsed.get("mechanisms", []))


def dkim_key_problem(record: str) -> tuple[str | None, int | None]:
    """What is wrong with a DKIM key record (RFC 6376 section 3.6.1), and its RSA size in bits."""
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import load_der_public_key

    tags: dict[str, str] = {}
    for part in record.split(";"):
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        if not sep:
            return f"has a tag without '=' ({part.strip()!r})", None
        tags[key.strip().lower()] = "".join(value.split())
    if "v" in tags and tags["v"] != "DKIM1":
        return f"has v={tags['v']}; only DKIM1 exists", None
    if "p" not in tags:
        return "has no p= tag (the public key)", None
    if not tags["p"]:
        return "has an empty p=: the key was revoked and every signature with this selector fails", None
    kind = tags.get("k", "rsa").lower()
    try:
        der = base64.b64decode(tags["p"], validate=True)
    except (binascii.Error, ValueError):
        return "has a p= value that is not base64", None
    if kind == "ed25519":
        return (None, None) if len(der) == 32 else ("has an ed25519 key that is not 32 bytes", None)
    if kind != "rsa":
        return f"uses key type k={kind}, which verifiers do not support", None
    try:
        public_key = load_der_public_key(der)
    except ValueError:
        return "has a p= value that is not an RSA public key", None
    if not isinstance(public_key, rsa.RSAPublicKey):
        return "says k=rsa but holds another kind of key", None
    return None, public_key.key_size
