"""The `dns` check: the domain map, dangling records, CAA, email authentication and DNSSEC.

All DNS traffic goes through one `GateResolver` (the configured `resolver`, or the system's),
with per-query timeouts, retries and a query budget. A name that cannot be resolved because a
server timed out or answered SERVFAIL stops the check with `CheckFailure` (exit 3): an answer
that was never received is never read as "no record".
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

import yaml

from gate.checks.base import CheckContext, CheckOption, Result
from gate.checks.dns.rules import RULES, DnsRules
from gate.config.units import seconds
from gate.errors import CheckFailure, InputError, Position
from gate.model import Budget, Measurement
from gate.rules import rules_file

HOSTNAME = r"^(?=.{1,253}$)([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z0-9-]{2,63}\.?$"
ADDRESS_HINT = "write the resolver as IP or IP:PORT, e.g. 127.0.0.1:5353 or [::1]:5353"
SCHEMA: dict[str, Any] = {
    "properties": {
        "domain": {
            "type": "string",
            "pattern": HOSTNAME,
            "description": "The registered domain (zone apex), e.g. example.com.",
        },
        "canonical": {"type": "string", "description": "The host visitors end up on: '@' (the apex) or 'www'."},
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
                    "description": "The domain sends mail: MX and DKIM are required (default true).",
                },
                "dkim_selectors": {"type": "array", "items": {"type": "string", "pattern": r"^[A-Za-z0-9_.-]+$"}},
                "spf_all": {
                    "enum": ["softfail", "fail"],
                    "description": "Weakest SPF `all` accepted: ~all (softfail) or -all (fail).",
                },
                "dmarc_policy": {"enum": ["none", "quarantine", "reject"], "description": "Weakest DMARC p= accepted."},
                "require_mta_sts": {"type": "boolean", "description": "MTA-STS and TLS-RPT records are required."},
            },
        },
    }
}


def _quick_selectors() -> list[str]:
    data = yaml.safe_load(rules_file("dns", "dkim-selectors.yml").read_text())
    return [str(s) for s in data["selectors"]]


class DnsCheck(DnsRules):
    name = "dns"
    summary = "Domain map, dangling CNAMEs, CAA, SPF/DKIM/DMARC/MX/MTA-STS and DNSSEC of a domain."
    rules = RULES
    options = (
        CheckOption(
            "--domain", "domain", "Check this domain (apex, www, mail records) without a gate.yml.", metavar="NAME"
        ),
        CheckOption("--resolver", "resolver", "DNS server to ask, IP or IP:PORT.", metavar="ADDR"),
    )
    config_schema: ClassVar[Mapping[str, Any]] = SCHEMA

    def run(self, ctx: CheckContext) -> Iterator[Result]:
        from checkdmarc import utils as checkdmarc_utils

        from gate.checks.dns import dnssec
        from gate.checks.dns.hosts import HostChecker, host_specs
        from gate.checks.dns.mail import EmailPolicy, MailChecker
        from gate.checks.dns.resolver import GateResolver, ResolutionFailed
        from gate.checks.dns.takeover import ProbeFailed, load_providers

        config = ctx.config
        domain = self._domain(ctx)
        try:
            resolver = GateResolver(
                config.get("resolver"),
                timeout=seconds(config.get("query_timeout", "2s")),
                retries=config.get("retries", 2),
            )
        except ValueError as error:
            raise InputError(
                f"checks.dns.resolver '{config.get('resolver')}' is not an address ({error})",
                Position(ctx.config_path or "gate.yml"),
                hint=ADDRESS_HINT,
            ) from None
        except ResolutionFailed as failure:
            raise CheckFailure(f"dns: {failure.reason}") from None
        # checkdmarc caches answers per process by name and type, whatever server gave them.
        checkdmarc_utils.DNS_CACHE.clear()
        hosts = HostChecker(resolver, domain, load_providers())
        specs = host_specs(domain, config.get("hosts") or {"@": None, "www": None})
        email = EmailPolicy.from_config(config.get("email", {}), _quick_selectors())
        try:
            for spec in specs:
                ctx.progress.update(f"resolving {spec.fqdn}")
                yield from hosts.check(spec)
            yield from hosts.canonical_pair(config.get("canonical"), {s.fqdn for s in specs})
            caa = config.get("caa", {})
            yield from hosts.caa(caa.get("issuers", []), caa.get("required", False))
            ctx.progress.update("checking email records")
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
            if config.get("dnssec", True):
                ctx.progress.update("checking DNSSEC")
                yield from dnssec.check_zone(resolver, domain)
        except ResolutionFailed as failure:
            raise CheckFailure(
                f"dns: {failure}; asked {resolver.describe()}. Could not check {domain}, so nothing about it passed."
            ) from None
        except ProbeFailed as failure:
            raise CheckFailure(f"dns: subdomain takeover probe: {failure}. Could not check {domain}.") from None

    @staticmethod
    def _domain(ctx: CheckContext) -> str:
        domain = ctx.config.get("domain")
        if not domain:
            raise InputError(
                "the dns check needs a domain",
                Position(ctx.config_path) if ctx.config_path else None,
                hint="set checks.dns.domain in gate.yml, or run `gate check dns --domain example.com`",
            )
        return str(domain).lower().rstrip(".")
