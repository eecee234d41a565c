"""DKIM (RFC 6376): a key at every declared selector, or, in quick mode, at the common ones.

checkdmarc does not read DKIM keys, so this part does: one TXT record per selector, tags that
parse, a key that is not revoked, and RSA keys of at least 2048 bits.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator

import yaml

from gate.checks.dns.mail_lookup import MailLookup
from gate.checks.dns.rules import record_finding
from gate.model import Finding, Severity
from gate.rules_data import rules_file

PUBLISH_KEY = 'TXT "v=DKIM1; k=rsa; p=<2048-bit public key from your provider>"'


def common_selectors() -> list[str]:
    """The selectors mail providers commonly use, tried when gate.yml declares none (quick mode)."""
    data = yaml.safe_load(rules_file("dns", "dkim-selectors.yml").read_text())
    return [str(s) for s in data["selectors"]]


def check(mail: MailLookup) -> Iterator[Finding]:
    declared = mail.policy.dkim_selectors
    selectors = declared or mail.policy.quick_selectors
    found = 0
    for selector in selectors:
        owner = f"{selector}._domainkey.{mail.domain}"
        result = mail.resolver.chase(owner, "TXT")
        records = result.texts
        if not records:
            if declared:
                yield record_finding(
                    "dns.dkim.missing",
                    f"No DKIM key is published for selector '{selector}' at {owner}.",
                    name=owner,
                    record="TXT",
                    current="(none)",
                    publish=f"{owner}. {PUBLISH_KEY}",
                )
            continue
        found += 1
        yield from _key_record(owner, records)
    if not declared and selectors and not found:
        yield record_finding(
            "dns.dkim.none-found",
            f"None of the {len(selectors)} common DKIM selectors (e.g. {', '.join(selectors[:4])}) has a key at "
            f"{mail.domain}; declare yours under checks.dns.email.dkim_selectors.",
            name=f"_domainkey.{mail.domain}",
            record="TXT",
            current="(none at common selectors)",
        )


def _key_record(owner: str, records: list[str]) -> Iterator[Finding]:
    publish = f"{owner}. {PUBLISH_KEY}"
    current = " | ".join(records)
    if len(records) > 1:
        yield record_finding(
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
        yield record_finding(
            "dns.dkim.invalid",
            f"The DKIM record at {owner} {problem}.",
            name=owner,
            record="TXT",
            current=current,
            publish=publish,
        )
    elif bits is not None and bits < 2048:
        yield record_finding(
            "dns.dkim.weak-key",
            f"The DKIM key at {owner} is RSA {bits} bits; 2048 is the minimum to aim for.",
            name=owner,
            record="TXT",
            current=f"RSA {bits}-bit key",
            publish=publish,
            severity=Severity.HIGH if bits < 1024 else None,
        )


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
