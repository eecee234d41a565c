"""The `dns` check: the domain map, dangling records, CAA, email authentication and DNSSEC.

One run checks `domain`, or every entry of `domains`, each after its SOA shows it is a zone
apex that exists (else one root-cause finding). All DNS traffic goes through one
`GateResolver` (the configured `resolver`, or the system's), with per-query timeouts,
retries, a query budget and servers that stopped answering left out for the rest of the run.
A name that cannot be resolved because a server timed out or answered SERVFAIL stops the
check with `CheckFailure` (exit 3): an answer that was never received is never read as "no
record".
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from gate.checks.base import Check, CheckContext, CheckOption, Result
from gate.checks.dns.rules import RULES, not_checked
from gate.checks.dns.targets import Target, targets
from gate.config.units import seconds
from gate.errors import CheckFailure, InputError, Position
from gate.model import Budget, Measurement

if TYPE_CHECKING:
    import ssl

    from gate.checks.dns.resolver import GateResolver

HOSTNAME = r"^(?=.{1,253}$)([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z0-9-]{2,63}\.?$"
ADDRESS_HINT = "write the resolver as IP or IP:PORT, e.g. 127.0.0.1:5353 or [::1]:5353"
DOMAIN_PROPERTIES: dict[str, Any] = {
    "canonical": {"type": "string", "description": "The host visitors end up on: '@' (the apex) or 'www'."},
    "dnssec": {"type": "boolean", "description": "Check the DNSSEC chain of the domain (default true)."},
    "hosts": {
        "type": "object",
        "description": "The domain map: '@', 'www', 'api', ... and what each must point at.",
        "additionalProperties": {
            "type": ["object", "null"],
            "additionalProperties": False,
            "properties": {
                "points_to": {
                    "type": "array",
                    "items": {"type": "string", "minLength": 1},
                    "description": "Host names (globs allowed), IP addresses or CIDR ranges; any one must match.",
                },
                "exists": {
                    "type": "boolean",
                    "description": "false: the name must not resolve (old staging, previews).",
                },
                "environment": {"type": "string", "description": "production (default) forbids private addresses."},
            },
        },
    },
    "caa": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "issuers": {
                "type": "array",
                "items": {"type": "string"},
                "description": "CA domains you use, e.g. letsencrypt.org.",
            },
            "required": {"type": "boolean", "description": "A missing CAA record is medium (true) or low (false)."},
        },
    },
    "email": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "sends": {
                "type": "boolean",
                "description": "The domain sends mail: DKIM is required (default true).",
            },
            "receives": {
                "type": "boolean",
                "description": "The domain receives mail: MX is required (default true).",
            },
            "dkim_selectors": {"type": "array", "items": {"type": "string", "pattern": r"^[A-Za-z0-9_.-]+$"}},
            "spf_all": {
                "enum": ["softfail", "fail"],
                "description": "Weakest SPF `all` accepted: ~all (softfail) or -all (fail).",
            },
            "dmarc_policy": {"enum": ["none", "quarantine", "reject"], "description": "Weakest DMARC p= accepted."},
            "require_mta_sts": {"type": "boolean", "description": "MTA-STS and TLS-RPT records are required."},
            "mta_sts_port": {
                "type": "integer",
                "minimum": 1,
                "maximum": 65535,
                "description": "Port of the MTA-STS policy host (default 443, what senders use; "
                "another port is for testing against a local server).",
            },
        },
    },
}
SCHEMA: dict[str, Any] = {
    "properties": {
        "domain": {
            "type": "string",
            "pattern": HOSTNAME,
            "description": "The registered domain (zone apex), e.g. example.com. With `domains`, only this one "
            "of them is checked (what --domain does).",
        },
        "domains": {
            "type": "array",
            "minItems": 1,
            "description": "Several domains checked in one run, each with its own hosts, selectors and settings.",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["domain"],
                "properties": {
                    "domain": {"type": "string", "pattern": HOSTNAME, "description": "The zone apex."},
                    **DOMAIN_PROPERTIES,
                },
            },
        },
        "resolver": {
            "anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}, "minItems": 1}],
            "description": "DNS server(s) to ask, IP or IP:PORT, in order (default: the system's resolvers).",
        },
        "query_timeout": {
            "$ref": "#/$defs/duration",
            "description": "Wait this long for each DNS answer (default 2s).",
        },
        "retries": {
            "type": "integer",
            "minimum": 0,
            "maximum": 5,
            "description": "Ask again this many times after a timeout or SERVFAIL.",
        },
        "takeover_http": {
            "type": "boolean",
            "description": "Confirm a takeover by fetching the provider's page from the resolved address "
            "(default true); false keeps the check to DNS and reports what it could not confirm.",
        },
        "ca_bundle": {
            "type": "string",
            "description": "PEM file of extra CAs trusted for the MTA-STS policy host (a private staging CA).",
        },
        **DOMAIN_PROPERTIES,
    }
}


class DnsCheck(Check):
    name = "dns"
    summary = "Domain map, dangling CNAMEs, CAA, SPF/DKIM/DMARC/MX/MTA-STS and DNSSEC of one or more domains."
    rules = RULES.docs
    options = (
        CheckOption(
            "--domain",
            "domain",
            "Check this domain; overrides checks.dns.domain, and picks it alone out of checks.dns.domains "
            "(its hosts and selectors apply). Works without a gate.yml.",
            metavar="NAME",
        ),
        CheckOption(
            "--resolver", "resolver", "DNS server to ask, IP or IP:PORT; overrides checks.dns.resolver.", metavar="ADDR"
        ),
    )
    config_schema: ClassVar[Mapping[str, Any]] = SCHEMA

    def prepare(self, ctx: CheckContext) -> None:
        """Domains listed once and at least one to check, resolver addresses, a readable ca_bundle."""
        _check_domains(ctx)
        self._targets, self._skipped = targets(ctx.config)
        if not self._targets:
            raise InputError(
                "the dns check needs a domain",
                Position(ctx.config_path) if ctx.config_path else None,
                hint="set checks.dns.domain (or checks.dns.domains) in gate.yml, "
                "or run `gate check dns --domain example.com`",
            )
        self._trust = _trust(ctx)
        _check_resolver(ctx)

    def run(self, ctx: CheckContext) -> Iterator[Result]:
        from checkdmarc import utils as checkdmarc_utils

        resolver = _resolver(ctx.config)
        # checkdmarc caches answers per process by name and type, whatever server gave them.
        checkdmarc_utils.DNS_CACHE.clear()
        for name in self._skipped:
            yield not_checked(
                name, f"{name} was not checked, because --domain (checks.dns.domain) picked {self._targets[0].domain}."
            )
        for number, target in enumerate(self._targets, start=1):
            where = f" ({number}/{len(self._targets)})" if len(self._targets) > 1 else ""
            ctx.progress.update(f"checking {target.domain}{where}")
            yield from self._domain(ctx, resolver, target)

    def _domain(self, ctx: CheckContext, resolver: GateResolver, target: Target) -> Iterator[Result]:
        from gate.checks.dns import dkim, dnssec
        from gate.checks.dns.hosts import HostChecker, host_specs, zone_problem
        from gate.checks.dns.mail import MailChecker
        from gate.checks.dns.mail_lookup import EmailPolicy
        from gate.checks.dns.resolver import ResolutionFailed
        from gate.checks.dns.takeover import ProbeFailed, load_providers

        domain, settings = target.domain, target.settings
        try:
            problem = zone_problem(resolver, domain)
            if problem is not None:
                yield problem
                return
            hosts = HostChecker(resolver, domain, load_providers(), http_probe=ctx.config.get("takeover_http", True))
            specs = host_specs(domain, settings["hosts"] or {"@": None, "www": None})
            email = EmailPolicy.from_config(settings["email"], dkim.common_selectors(), self._trust)
            for spec in specs:
                ctx.progress.update(f"resolving {spec.fqdn}")
                yield from hosts.check(spec)
            yield from hosts.canonical_pair(settings["canonical"], {s.fqdn for s in specs})
            caa = settings["caa"]
            yield from hosts.caa(caa.get("issuers", []), caa.get("required", False))
            ctx.progress.update(f"checking email records of {domain}")
            mail = MailChecker(resolver, domain, email)
            yield from mail.run()
            if mail.spf_lookups is not None:
                yield Measurement(
                    name="dns.spf.lookups",
                    subject=domain,
                    value=float(mail.spf_lookups),
                    unit="lookups",
                    check=self.name,
                    budget=Budget(limit=10),
                )
            if settings["dnssec"]:
                ctx.progress.update(f"checking DNSSEC of {domain}")
                yield from dnssec.check_zone(resolver, domain)
            else:
                yield not_checked(domain, f"The DNSSEC chain of {domain} was not checked, because dnssec is false.")
        except ResolutionFailed as failure:
            raise CheckFailure(
                f"dns: {failure}; asked {resolver.describe()}. Could not check {domain}, so nothing about it passed."
            ) from None
        except ProbeFailed as failure:
            raise CheckFailure(f"dns: subdomain takeover probe: {failure}. Could not check {domain}.") from None


def _check_domains(ctx: CheckContext) -> None:
    """`domains` entries are unique, and host maps live in them: nothing is silently ignored."""
    entries = ctx.config.get("domains") or ()
    if not entries:
        return
    where = Position(ctx.config_path or "gate.yml")
    misplaced = [key for key in ("hosts", "canonical") if ctx.config.get(key)]
    if misplaced:
        raise InputError(
            f"checks.dns.{misplaced[0]} is set next to checks.dns.domains, where no domain would use it",
            where,
            hint=f"move `{misplaced[0]}` into the entry of the domain it belongs to",
        )
    names = [str(e["domain"]).lower().rstrip(".") for e in entries]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise InputError(
            f"checks.dns.domains lists {', '.join(repeated)} more than once",
            where,
            hint="keep one entry per domain, with all its hosts and selectors",
        )


def _trust(ctx: CheckContext) -> ssl.SSLContext | None:
    """The CAs the MTA-STS policy host is judged against: the system's, plus `ca_bundle`."""
    bundle = ctx.config.get("ca_bundle")
    if not bundle:
        return None
    from gate.checks.http.trust import ssl_context

    base = ctx.config_path.parent if ctx.config_path else ctx.root
    path = (base / bundle).resolve()
    try:
        return ssl_context(path)
    except (OSError, ValueError) as error:
        raise InputError(
            f"checks.dns.ca_bundle '{bundle}' is not a readable PEM bundle ({error})",
            Position(ctx.config_path or "gate.yml"),
            hint="give the path of a PEM file of CA certificates, relative to gate.yml",
        ) from None


def _check_resolver(ctx: CheckContext) -> None:
    from gate.checks.dns.resolver import parse_address

    configured = ctx.config.get("resolver")
    try:
        for address in [configured] if isinstance(configured, str) else configured or ():
            parse_address(address)
    except ValueError as error:
        raise InputError(
            f"checks.dns.resolver '{configured}' is not an address ({error})",
            Position(ctx.config_path or "gate.yml"),
            hint=ADDRESS_HINT,
        ) from None


def _resolver(config: Mapping[str, Any]) -> GateResolver:
    """The configured servers (checked in `prepare`), or the system's: none configured is exit 3."""
    from gate.checks.dns.resolver import GateResolver, ResolutionFailed

    try:
        return GateResolver(
            config.get("resolver"),
            timeout=seconds(config.get("query_timeout", "2s")),
            retries=config.get("retries", 2),
        )
    except ResolutionFailed as failure:
        raise CheckFailure(f"dns: {failure.reason}") from None
