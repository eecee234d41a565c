"""Mail to the domain: MX, MTA-STS (the record and the policy its host serves) and TLS-RPT.

checkdmarc validates the MTA-STS and TLS-RPT records; the policy host is fetched and parsed by
`mta_sts` as a sender would, and its `mx:` patterns are matched against the domain's MX hosts.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable, Generator, Iterator, Mapping
from typing import Any

from gate.checks.dns.mail_lookup import MailLookup
from gate.checks.dns.mta_sts import POLICY_PATH, fetch_policy, mx_matches, parse_policy
from gate.checks.dns.rules import record_finding
from gate.model import Finding, Severity


def mx(mail: MailLookup) -> Iterator[Finding]:
    result = mail.resolver.chase(mail.domain, "MX")
    if result.rrset is None:
        yield record_finding(
            "dns.mx.missing",
            f"{mail.domain} has no MX record, yet gate.yml says it receives mail.",
            name=mail.domain,
            record="MX",
            current="(none)",
            publish=f"{mail.domain}. MX 10 <your mail provider's MX host>.",
        )


def mta_sts(mail: MailLookup) -> Iterator[Finding]:
    from checkdmarc import mta_sts

    published = yield from _reporting_record(
        mail,
        rule="dns.mta-sts",
        label="MTA-STS",
        owner=f"_mta-sts.{mail.domain}",
        record_text="v=STSv1; id=<a new id each time the policy changes>",
        query=lambda: mta_sts.query_mta_sts_record(mail.domain, resolver=mail.resolver),
        parse=mta_sts.parse_mta_sts_record,
        not_found=mta_sts.MTASTSRecordNotFound,
        invalid=mta_sts.MTASTSError,
    )
    if published:
        yield from policy_host(mail)


def policy_host(mail: MailLookup) -> Iterator[Finding]:
    """The policy the `_mta-sts` record announces, fetched from its host as a sender would."""
    host = f"mta-sts.{mail.domain}"
    publish = f"{host}. A <address of the web server that serves {POLICY_PATH}>"
    resolution, addresses = mail.resolver.addresses(host)
    if not addresses:
        how = " (NXDOMAIN)" if resolution.nxdomain else ""
        yield record_finding(
            "dns.mta-sts.policy-unreachable",
            f"_mta-sts.{mail.domain} announces a policy, but {host} has no A or AAAA record{how}: "
            "senders cannot fetch it.",
            name=host,
            record="A",
            current="(none)",
            publish=publish,
        )
        return
    trust = mail.policy.trust or _system_trust()
    fetched = fetch_policy(host, addresses, mail.policy.mta_sts_port, trust)
    url = f"https://{host}{POLICY_PATH}"
    if fetched.unreachable is not None:
        yield record_finding(
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
        yield record_finding(
            "dns.mta-sts.policy-invalid",
            f"The MTA-STS policy at {url} {'; '.join(p for p in problems if p)}.",
            name=host,
            record="policy",
            subject=url,
            action=f"Correct the policy at {url}",
        )
        return
    mx = mail.resolver.chase(mail.domain, "MX")
    # A null MX (RFC 7505, `MX 0 .`) names no host to cover.
    hosts = sorted({rdata.exchange.to_text(omit_final_dot=True).lower() for rdata in mx.rrset or ()} - {"."})
    uncovered = [h for h in hosts if not any(mx_matches(p, h) for p in policy.mx)]
    if uncovered and policy.mode != "none":
        effect = "refuse to deliver there" if policy.mode == "enforce" else "report every delivery there as failing"
        yield record_finding(
            "dns.mta-sts.mx-not-covered",
            f"The MTA-STS policy at {url} ({policy.mode} mode) has no `mx:` pattern for {', '.join(uncovered)}, "
            f"an MX host of {mail.domain}: senders {effect}.",
            name=host,
            record="policy",
            subject=url,
            current="mx: " + ", ".join(policy.mx[:10]) + (", ..." if len(policy.mx) > 10 else ""),
            action=f"Add {' and '.join(f'`mx: {h}`' for h in uncovered)} to the policy at {url}",
            severity=None if policy.mode == "enforce" else Severity.MEDIUM,
        )


def tls_rpt(mail: MailLookup) -> Iterator[Finding]:
    from checkdmarc import smtp_tls_reporting as tlsrpt

    yield from _reporting_record(
        mail,
        rule="dns.tlsrpt",
        label="TLS-RPT",
        owner=f"_smtp._tls.{mail.domain}",
        record_text=f"v=TLSRPTv1; rua=mailto:tls-reports@{mail.domain}",
        query=lambda: tlsrpt.query_smtp_tls_reporting_record(mail.domain, resolver=mail.resolver),
        parse=tlsrpt.parse_smtp_tls_reporting_record,
        not_found=tlsrpt.SMTPTLSReportingRecordNotFound,
        invalid=tlsrpt.SMTPTLSReportingError,
    )


def _reporting_record(
    mail: MailLookup,
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
        record = mail.guarded(query)["record"]
        mail.guarded(lambda: parse(record))
    except not_found:
        if mail.policy.require_mta_sts:
            yield record_finding(
                f"{rule}.missing",
                f"{owner} has no {label} record.",
                name=owner,
                record="TXT",
                current="(none)",
                publish=publish,
            )
    except invalid as error:
        current = " | ".join(mail.resolver.chase(owner, "TXT").texts) or "(none)"
        yield record_finding(
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
