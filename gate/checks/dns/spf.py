"""SPF (RFC 7208): one record, parsed and counted by checkdmarc, its `all` judged against the preset.

checkdmarc counts the lookups (includes and redirects followed) and raises on loops, syntax
errors and the limits; this part turns those into findings and judges what checkdmarc leaves
out: the qualifier of the `all` that ends evaluation, against the weakest the preset accepts.
"""

from __future__ import annotations

import re
from collections.abc import Generator, Iterator, Mapping
from typing import Any

from gate.checks.dns.mail_lookup import MailLookup
from gate.checks.dns.rules import record_finding
from gate.model import Finding

SPF_LIMIT = 10
VOID_LIMIT = 2
# Weakest first: the preset names the weakest `all` it accepts.
ALL_STRENGTH = {"pass": 0, "neutral": 1, "softfail": 2, "fail": 3}
ALL_TERM = {"pass": "+all", "neutral": "?all", "softfail": "~all", "fail": "-all"}
_ALL_TERM = re.compile(r"^[-+~?]?all$", re.IGNORECASE)


def check(mail: MailLookup) -> Generator[Finding, None, int | None]:
    """The SPF findings of the domain; returns the record's DNS lookups as RFC 7208 counts them,
    or None when there is no record that parses."""
    from checkdmarc import spf

    domain = mail.domain
    recommended = f'{domain}. TXT "v=spf1 include:<your mail provider> {ALL_TERM[mail.policy.spf_all]}"'

    def finding(rule_id: str, message: str, current: str) -> Finding:
        return record_finding(rule_id, message, name=domain, record="TXT", current=current, publish=recommended)

    try:
        query = mail.guarded(lambda: spf.query_spf_record(domain, resolver=mail.resolver))
    except spf.MultipleSPFRTXTRecords:
        records = [v for v in mail.resolver.chase(domain, "TXT").texts if v.lower().startswith("v=spf1")]
        message = f"{domain} publishes {len(records)} SPF records; receivers treat that as permerror."
        yield finding("dns.spf.multiple", message, " | ".join(records))
        return None
    except spf.SPFRecordNotFound:
        yield finding("dns.spf.missing", f"{domain} publishes no TXT record starting with v=spf1.", "(none)")
        return None
    record = query["record"]
    try:
        parsed = mail.guarded(lambda: spf.parse_spf_record(record, domain, resolver=mail.resolver))
    except (spf.SPFIncludeLoop, spf.SPFRedirectLoop) as error:
        yield finding("dns.spf.loop", f"The SPF record of {domain} loops: {error}.", record)
        return None
    except spf.SPFTooManyVoidDNSLookups as error:
        message = (
            f"Checking the SPF record of {domain} makes more than {VOID_LIMIT} lookups that find nothing: {error}."
        )
        yield finding("dns.spf.too-many-void-lookups", message, record)
        return None
    except spf.SPFTooManyDNSLookups as error:
        message = (
            f"Checking the SPF record of {domain} needs more DNS lookups than RFC 7208 allows "
            f"({SPF_LIMIT}), includes and redirects followed: {error}."
        )
        yield finding("dns.spf.too-many-lookups", message, record)
        return None
    except (spf.SPFSyntaxError, spf.SPFRecordNotFound) as error:
        # An include whose target has no SPF record is a permerror too (RFC 7208 section 5.2).
        yield finding("dns.spf.invalid", f"The SPF record of {domain} is not valid: {error}", record)
        return None
    yield from _judge_all(mail, record, _effective_all(parsed["parsed"]), recommended)
    return int(parsed["dns_lookups"])


def _judge_all(mail: MailLookup, record: str, qualifier: str, generic: str) -> Iterator[Finding]:
    domain = mail.domain
    wanted = mail.policy.spf_all
    recommended = generic
    terms = record.split()
    if not any(term.lower().startswith("redirect=") for term in terms):
        # The same senders, with the `all` the preset asks for in place of the current one.
        kept = [term for term in terms if not _ALL_TERM.match(term)]
        recommended = f'{domain}. TXT "{" ".join([*kept, ALL_TERM[wanted]])}"'

    def finding(rule_id: str, message: str) -> Finding:
        return record_finding(rule_id, message, name=domain, record="TXT", current=record, publish=recommended)

    if qualifier == "pass":
        yield finding(
            "dns.spf.pass-all", f"The SPF record of {domain} ends with +all: any server may send as {domain}."
        )
    elif qualifier == "neutral":
        message = (
            f"The SPF record of {domain} ends with ?all or has no all: "
            "mail from unlisted servers is treated as neutral."
        )
        yield finding("dns.spf.weak-all", message)
    elif ALL_STRENGTH[qualifier] < ALL_STRENGTH[wanted]:
        yield finding("dns.spf.softfail-all", f"The SPF record of {domain} ends with ~all; the preset asks for -all.")


def _effective_all(parsed: Mapping[str, Any]) -> str:
    """The `all` that ends evaluation: a redirect without `all` hands over to the target's record."""
    redirect = parsed.get("redirect")
    if redirect and parsed.get("all") in (None, "neutral") and not _has_all(parsed):
        return _effective_all(redirect["parsed"])
    return str(parsed.get("all") or "neutral")


def _has_all(parsed: Mapping[str, Any]) -> bool:
    return any(m.get("mechanism") == "all" for m in parsed.get("mechanisms", []))
