"""Every rule the dns check can raise, and the one way its parts make a finding of one.

Every finding names the record (owner name and type), what it says now, and the record to
publish instead, so the fix can be pasted into the DNS provider's console.
"""

from __future__ import annotations

from typing import Any

from gate.checks.base import RuleBook, RuleDoc
from gate.model import Finding, Location, Severity

CURRENT_SHOWN = 160  # characters of the current record quoted in a message (DKIM keys are long)
_R = RuleDoc
RULES = RuleBook(
    "dns",
    [
        _R(
            "dns.domain.not-found",
            "Domain does not exist",
            Severity.CRITICAL,
            "The name is not in the DNS at all (NXDOMAIN): the site, the API and mail are down for everyone, "
            "or gate.yml names the wrong domain. Nothing else about it can be checked.",
            "Register the domain and delegate it to your DNS provider, or correct checks.dns.domain.",
        ),
        _R(
            "dns.domain.not-apex",
            "Domain is not a zone apex",
            Severity.HIGH,
            "The check reads CAA, mail policy and DNSSEC at the zone apex (the registered domain); at a name "
            "inside a zone those records are not where senders, CAs and validators look, so the results "
            "would be wrong.",
            "Set checks.dns.domain to the zone apex the message names, and list this name under hosts.",
        ),
        _R(
            "dns.not-checked",
            "Part of the DNS check did not run",
            Severity.INFO,
            "What the gate did not look at is not known to be fine; the report says what was skipped and why, "
            "so nobody reads silence as a pass.",
            "Turn the part back on in gate.yml when it applies to you.",
        ),
        _R(
            "dns.host.unresolvable",
            "Declared host does not resolve",
            Severity.HIGH,
            "A host the app depends on (the site, the API, the admin) that does not resolve is an outage for "
            "everyone who types or calls it.",
            "Publish the A/AAAA or CNAME record gate.yml declares for this host.",
        ),
        _R(
            "dns.host.unexpected-target",
            "Host points somewhere else than declared",
            Severity.HIGH,
            "A name that resolves to another environment or provider sends users (and their cookies and "
            "passwords) to the wrong place: a staging API in production, an old host after a migration.",
            "Change the record so the host points at the target gate.yml declares, or update gate.yml if the "
            "move was intended.",
        ),
        _R(
            "dns.host.should-not-exist",
            "Host that should not exist resolves",
            Severity.MEDIUM,
            "A leftover staging or preview name serves stale pages, often without the protections of "
            "production, and is indexed by search engines.",
            "Delete the record, or declare where it should point in gate.yml.",
        ),
        _R(
            "dns.host.private-address",
            "Production host points at a private or loopback address",
            Severity.HIGH,
            "A private, loopback or link-local address cannot be reached from the internet, and it tells "
            "everyone about the internal network.",
            "Point the host at the public address or the provider's host name.",
        ),
        _R(
            "dns.host.cname-loop",
            "CNAME chain loops",
            Severity.HIGH,
            "Resolvers give up on a CNAME loop: the name is down for everyone.",
            "Break the loop: make one name in the chain an A/AAAA record or point it at the provider's host.",
        ),
        _R(
            "dns.host.cname-chain-too-long",
            "CNAME chain is too long",
            Severity.MEDIUM,
            "Resolvers stop following CNAMEs after a few hops; a long chain fails for some users and is slow for all.",
            "Point the name directly at the final target.",
        ),
        _R(
            "dns.host.dangling-cname",
            "CNAME points at a name that does not exist",
            Severity.HIGH,
            "The host is down, and whoever registers the target name takes it over.",
            "Delete the CNAME, or recreate the resource it points at.",
        ),
        _R(
            "dns.host.canonical-alias-missing",
            "Apex or www does not resolve",
            Severity.MEDIUM,
            "Visitors type both example.com and www.example.com; the one that does not resolve is an error "
            "page instead of a redirect to the canonical host.",
            "Publish the missing name, pointing at the same place (or at a redirect to the canonical host).",
        ),
        _R(
            "dns.takeover.dangling",
            "Subdomain takeover: CNAME to an unclaimed hosting resource",
            Severity.CRITICAL,
            "The CNAME points at a hosting provider resource that no longer exists; anyone can claim it and "
            "serve content (phishing, cookie theft) on your domain.",
            "Delete the CNAME now, or claim the resource again at the provider before pointing DNS at it.",
        ),
        _R(
            "dns.caa.missing",
            "No CAA record",
            Severity.LOW,
            "Without CAA any certificate authority may issue certificates for the domain; CAA limits that to "
            "the one you use.",
            "Publish a CAA record naming your certificate authority.",
        ),
        _R(
            "dns.caa.ca-not-allowed",
            "CAA does not allow the certificate authority in use",
            Severity.HIGH,
            "Certificate renewal by the declared CA will be refused: HTTPS breaks when the current certificate "
            "expires.",
            "Add an `issue` property for the CA you use to the CAA record set.",
        ),
        _R(
            "dns.mx.missing",
            "No MX record",
            Severity.HIGH,
            "Replies to your mail, bounces and DMARC reports addressed to the domain are lost; many receivers "
            "also distrust mail from a domain that cannot receive.",
            "Publish the MX records of your mail provider.",
        ),
        _R(
            "dns.spf.missing",
            "No SPF record",
            Severity.HIGH,
            "Without SPF receivers cannot tell your mail from forgeries; it lands in spam or is rejected.",
            "Publish one TXT record starting with v=spf1 that lists your senders and ends with ~all or -all.",
        ),
        _R(
            "dns.spf.multiple",
            "More than one SPF record",
            Severity.HIGH,
            "RFC 7208 makes two SPF records a permanent error: receivers treat the domain as having no valid SPF.",
            "Merge the records into one TXT record.",
        ),
        _R(
            "dns.spf.invalid",
            "SPF record is not valid",
            Severity.HIGH,
            "A syntax error (or an include that has no SPF) is a permanent error: SPF fails for all your mail.",
            "Correct the record; the message names the term at fault.",
        ),
        _R(
            "dns.spf.too-many-lookups",
            "SPF needs more than 10 DNS lookups",
            Severity.HIGH,
            "RFC 7208 section 4.6.4 caps include, a, mx, ptr, exists and redirect at 10 lookups per check, "
            "includes followed; past that receivers return permerror and SPF fails.",
            "Remove senders you no longer use, replace a/mx by ip4/ip6 ranges, or flatten an include.",
        ),
        _R(
            "dns.spf.too-many-void-lookups",
            "SPF makes more than 2 void lookups",
            Severity.HIGH,
            "RFC 7208 section 4.6.4 lets receivers fail SPF after two lookups that find nothing.",
            "Remove the terms that point at names without records.",
        ),
        _R(
            "dns.spf.loop",
            "SPF include or redirect loop",
            Severity.HIGH,
            "A loop exceeds the lookup limit on every check: SPF is a permanent error.",
            "Remove the include or redirect that points back.",
        ),
        _R(
            "dns.spf.pass-all",
            "SPF allows every server on the internet",
            Severity.CRITICAL,
            "`+all` (or `all` without qualifier) authorises anyone to send mail as your domain.",
            "End the record with ~all or -all.",
        ),
        _R(
            "dns.spf.weak-all",
            "SPF does not reject other senders",
            Severity.HIGH,
            "`?all`, or no `all` at all, tells receivers to treat unlisted senders as neutral: SPF then protects "
            "nothing.",
            "End the record with ~all or -all.",
        ),
        _R(
            "dns.spf.softfail-all",
            "SPF ends with ~all where the preset asks for -all",
            Severity.MEDIUM,
            "`~all` asks receivers to accept but mark forged mail; `-all` asks them to reject it.",
            "End the record with -all once every sender is listed.",
        ),
        _R(
            "dns.dkim.missing",
            "DKIM key not published for a declared selector",
            Severity.HIGH,
            "Mail signed with this selector fails DKIM: DMARC then depends on SPF alone, and forwarding breaks it.",
            "Publish the DKIM key your mail provider gives you at SELECTOR._domainkey.",
        ),
        _R(
            "dns.dkim.invalid",
            "DKIM record cannot be used",
            Severity.HIGH,
            "A key record that does not parse, or a revoked key (empty p=), makes every signature fail.",
            "Publish the key again exactly as your mail provider shows it.",
        ),
        _R(
            "dns.dkim.weak-key",
            "DKIM RSA key is shorter than 2048 bits",
            Severity.LOW,
            "1024-bit RSA keys are within reach of well-funded attackers and some receivers discount them; "
            "keys under 1024 bits are rejected outright (RFC 8301).",
            "Rotate to a 2048-bit key: publish it under a new selector, switch signing, then remove the old one.",
        ),
        _R(
            "dns.dkim.none-found",
            "No DKIM key found at common selectors",
            Severity.LOW,
            "Quick mode looked for the selectors common mail providers use and found none; if you send mail, "
            "it is probably not signed.",
            "Enable DKIM at your mail provider and declare its selectors under checks.dns.email.dkim_selectors.",
        ),
        _R(
            "dns.dmarc.missing",
            "No DMARC record",
            Severity.HIGH,
            "Without DMARC receivers have no policy for mail that fails SPF and DKIM, and you receive no "
            "reports of who sends as you.",
            "Publish a TXT record at _dmarc with at least p=none and rua=mailto: for reports.",
        ),
        _R(
            "dns.dmarc.multiple",
            "More than one DMARC record",
            Severity.HIGH,
            "RFC 7489 section 6.6.3: with more than one record receivers apply no DMARC at all.",
            "Keep one TXT record at _dmarc.",
        ),
        _R(
            "dns.dmarc.invalid",
            "DMARC record is not valid",
            Severity.HIGH,
            "Receivers ignore a DMARC record they cannot parse.",
            "Correct the record; the message names the tag at fault.",
        ),
        _R(
            "dns.dmarc.policy-weak",
            "DMARC policy weaker than the preset asks",
            Severity.HIGH,
            "p=none only monitors: forged mail is still delivered. Once real mail is sent, quarantine or "
            "reject is what stops spoofing.",
            "Raise p= to quarantine (then reject) after the aggregate reports show your own mail passing.",
        ),
        _R(
            "dns.dmarc.monitoring-only",
            "DMARC only monitors (p=none)",
            Severity.LOW,
            "p=none is the right first step, but it does not stop forged mail.",
            "Move to p=quarantine once the reports show your own senders passing.",
        ),
        _R(
            "dns.dmarc.no-rua",
            "DMARC asks for no aggregate reports",
            Severity.MEDIUM,
            "Without rua nobody sees which servers send as the domain, so the policy cannot be tightened safely.",
            "Add rua=mailto:ADDRESS to the DMARC record.",
        ),
        _R(
            "dns.mta-sts.missing",
            "No MTA-STS record",
            Severity.MEDIUM,
            "Without MTA-STS mail to you can be downgraded to plaintext by anyone on the path.",
            'Publish _mta-sts TXT "v=STSv1; id=..." and the policy at https://mta-sts.DOMAIN/.well-known/mta-sts.txt.',
        ),
        _R(
            "dns.mta-sts.invalid",
            "MTA-STS record is not valid",
            Severity.MEDIUM,
            "Senders ignore an MTA-STS record they cannot parse.",
            "Publish exactly one record like `v=STSv1; id=20240101T000000`.",
        ),
        _R(
            "dns.mta-sts.policy-unreachable",
            "MTA-STS policy cannot be fetched",
            Severity.MEDIUM,
            "Senders that see the _mta-sts record fetch https://mta-sts.DOMAIN/.well-known/mta-sts.txt; when the "
            "host does not resolve, its certificate is not valid for that name, it redirects (RFC 8461 section "
            "3.3 forbids following) or it does not answer with 200, they have no policy and mail to you is not "
            "protected.",
            "Serve the policy at https://mta-sts.DOMAIN/.well-known/mta-sts.txt with a certificate for "
            "mta-sts.DOMAIN, status 200 and Content-Type text/plain, without a redirect.",
        ),
        _R(
            "dns.mta-sts.policy-invalid",
            "MTA-STS policy is not valid",
            Severity.MEDIUM,
            "Senders discard a policy they cannot parse (RFC 8461 section 3.2), so mail to you is not protected.",
            "Serve lines like `version: STSv1`, `mode: enforce`, `mx: mx.example.com`, `max_age: 604800` as "
            "text/plain.",
        ),
        _R(
            "dns.mta-sts.mx-not-covered",
            "MTA-STS policy does not list an MX host",
            Severity.HIGH,
            "Senders that enforce the policy refuse to deliver to an MX host no `mx:` pattern matches (RFC 8461 "
            "section 4.1): mail to that host is lost in enforce mode and reported as failing in testing mode.",
            "Add an `mx:` line for every MX host (`*.example.com` matches one label), then publish a new id in "
            "the _mta-sts record so senders fetch the policy again.",
        ),
        _R(
            "dns.tlsrpt.missing",
            "No TLS-RPT record",
            Severity.LOW,
            "Without TLS reporting you do not learn when senders fail to deliver to you securely.",
            'Publish _smtp._tls TXT "v=TLSRPTv1; rua=mailto:ADDRESS".',
        ),
        _R(
            "dns.tlsrpt.invalid",
            "TLS-RPT record is not valid",
            Severity.LOW,
            "Senders ignore a TLS-RPT record they cannot parse.",
            "Publish exactly one record like `v=TLSRPTv1; rua=mailto:tls-reports@DOMAIN`.",
        ),
        _R(
            "dns.dnssec.broken",
            "DNSSEC chain is broken",
            Severity.CRITICAL,
            "The parent's DS does not match a key the zone signs with, or a signature expired: validating "
            "resolvers (a large share of users) answer SERVFAIL for every name in the zone.",
            "Publish a DS at the registrar that matches the zone's current KSK, or re-sign the zone; if "
            "neither can be done now, remove the DS to go unsigned.",
        ),
        _R(
            "dns.dnssec.unsigned",
            "Zone is not signed with DNSSEC",
            Severity.INFO,
            "Unsigned zones work everywhere; DNSSEC adds protection against forged answers.",
            "Consider enabling DNSSEC at your DNS provider and publishing its DS at the registrar.",
        ),
    ],
)


def record_finding(
    rule_id: str,
    message: str,
    *,
    name: str,
    record: str,
    current: str | None = None,
    publish: str | None = None,
    action: str | None = None,
    severity: Severity | None = None,
    subject: str | None = None,
) -> Finding:
    """A finding on DNS name `name`, about its `record` type, with the record to publish instead
    (`publish`) or, where nothing should be published, what to do (`action`)."""
    doc = RULES[rule_id]
    details: dict[str, Any] = {"record": record}
    if current is not None:
        details["current"] = current
        if current not in message:
            shown = current if len(current) <= CURRENT_SHOWN else current[: CURRENT_SHOWN - 3] + "..."
            if record == "TXT" and not shown.startswith("("):
                shown = f'"{shown}"'
            message = f"{message} Now: {record} {shown}"
    fix = doc.fix
    if publish is not None:
        details["publish"] = publish
        fix = f"Publish: {publish}  ({doc.fix})"
    elif action is not None:
        details["action"] = action
        fix = f"{action}. {doc.fix}"
    return RULES.finding(
        rule_id,
        message,
        severity=severity,
        location=Location(name=name),
        subject=subject if subject is not None else record,
        fix=fix,
        details=details,
    )


def not_checked(name: str, message: str) -> Finding:
    """A note that part of the check did not look at `name`, and why: never a silent pass."""
    return RULES.finding(
        "dns.not-checked",
        message,
        location=Location(name=name),
        subject=message,
        details={"record": "-"},
    )
