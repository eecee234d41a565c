"""DMARC (RFC 7489): one record at _dmarc (or the organisational domain), parsed by checkdmarc,
its policy and its subdomain policy judged against the weakest the preset accepts."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from gate.checks.dns.mail_lookup import MailLookup
from gate.checks.dns.rules import record_finding
from gate.model import Finding

# Weakest first: the preset names the weakest DMARC policy it accepts.
DMARC_STRENGTH = {"none": 0, "quarantine": 1, "reject": 2}
_P_TAG = re.compile(r"(?i)(?<![a-z])p\s*=\s*[a-z]+")
_SP_TAG = re.compile(r"(?i);\s*sp\s*=\s*[a-z]+")


def check(mail: MailLookup) -> Iterator[Finding]:
    from checkdmarc import dmarc

    owner = f"_dmarc.{mail.domain}"
    target = "reject" if mail.policy.dmarc_policy == "reject" else "quarantine"
    publish = f'{owner}. TXT "v=DMARC1; p={target}; rua=mailto:dmarc-reports@{mail.domain}"'

    def finding(rule_id: str, message: str, current: str) -> Finding:
        return record_finding(rule_id, message, name=owner, record="TXT", current=current, publish=publish)

    try:
        result = mail.guarded(lambda: dmarc.get_dmarc_record(mail.domain, resolver=mail.resolver))
    except dmarc.DMARCRecordNotFound:
        yield finding("dns.dmarc.missing", f"No DMARC record at {owner} (nor at the organisational domain).", "(none)")
        return
    except dmarc.MultipleDMARCRecords:
        current = " | ".join(mail.resolver.chase(owner, "TXT").texts)
        yield finding(
            "dns.dmarc.multiple", f"{owner} has more than one DMARC record; receivers then apply none.", current
        )
        return
    except dmarc.DMARCError as error:
        current = " | ".join(mail.resolver.chase(owner, "TXT").texts) or "(none)"
        yield finding("dns.dmarc.invalid", f"The DMARC record at {owner} is not valid: {error}", current)
        return
    yield from _judge(mail, result, target)


def _judge(mail: MailLookup, result: Mapping[str, Any], target: str) -> Iterator[Finding]:
    """The published record's p=, sp= and rua= against the preset; `target` is the p= to suggest."""
    owner, wanted = f"_dmarc.{mail.domain}", mail.policy.dmarc_policy
    record = result["record"]
    location = f"_dmarc.{result['location']}"
    tags = result["parsed"]["tags"]
    policy = str(tags["p"]["value"])
    # Never suggest a weaker p= than the one published.
    raised = policy if DMARC_STRENGTH[policy] >= DMARC_STRENGTH[target] else target
    stronger = _P_TAG.sub(f"p={raised}", record.rstrip("; "))
    if "rua" not in tags:
        stronger += f"; rua=mailto:dmarc-reports@{mail.domain}"

    def finding(rule_id: str, message: str, publish: str, subject: str | None = None) -> Finding:
        return record_finding(
            rule_id, message, name=location, record="TXT", current=record, publish=publish, subject=subject
        )

    if DMARC_STRENGTH[policy] < DMARC_STRENGTH[wanted]:
        message = f"The DMARC policy at {location} is p={policy}; the preset asks for at least p={wanted}."
        yield finding("dns.dmarc.policy-weak", message, f'{owner}. TXT "{stronger}"')
    elif policy == "none":
        message = f"The DMARC policy at {location} is p=none: reports only, forged mail is delivered."
        yield finding("dns.dmarc.monitoring-only", message, f'{owner}. TXT "{stronger}"')
    subdomains = str(tags.get("sp", {}).get("value", policy))
    if tags.get("sp", {}).get("explicit") and DMARC_STRENGTH[subdomains] < DMARC_STRENGTH[wanted]:
        # Forgers then simply use a made-up subdomain: billing.example.com is as good as example.com.
        message = (
            f"The DMARC record at {location} sets sp={subdomains} for subdomains; the preset asks for at "
            f"least {wanted}."
        )
        yield finding("dns.dmarc.policy-weak", message, f'{owner}. TXT "{_SP_TAG.sub("", stronger)}"', subject="sp")
    if "rua" not in tags:
        message = f"The DMARC record at {location} has no rua= tag: nobody receives aggregate reports."
        rua = f'{location}. TXT "{record.rstrip("; ")}; rua=mailto:dmarc-reports@{mail.domain}"'
        yield finding("dns.dmarc.no-rua", message, rua)
