"""Zone files for the dns check's tests: one clean domain, and domains that each plant problems.

Everything lives under the `test.` TLD (RFC 6761), whose zone is served too, so that DS records
sit in a real parent and DMARC's public-suffix lookups get real answers. Keys are real: DKIM keys
are RSA keys made by `cryptography`, DNSSEC zones are signed by dnspython's signer.
"""

from __future__ import annotations

import base64
import datetime
import ssl
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import dns.dnssec
import dns.name
import dns.rdata
import dns.rdtypes.ANY.DNSKEY
import dns.zone
import trustme
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

WEB_ADDRESS = "192.0.2.10"
EDGE_HOST = "edge.hostco.test"
POLICY_ADDRESS = "127.0.0.1"  # where every test domain's mta-sts host points
GOOD_POLICY = "version: STSv1\nmode: enforce\nmx: mx.mailer.test\nmx: *.backup.test\nmax_age: 604800\n"


def soa_ns(origin: str) -> str:
    return f"{origin}. 300 IN SOA ns.test. hostmaster.{origin}. 1 3600 600 86400 300\n{origin}. 300 IN NS ns.test.\n"


def txt(value: str) -> str:
    """A TXT value split into 255-byte character-strings, as DNS consoles publish long keys."""
    chunks = [value[i : i + 255] for i in range(0, len(value), 255)]
    return " ".join(f'"{chunk}"' for chunk in chunks)


@cache
def dkim_value(bits: int) -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return f"v=DKIM1; k=rsa; p={base64.b64encode(der).decode()}"


def mail_records(domain: str, **overrides: str | None) -> dict[str, str]:
    """A domain's mail records that pass every mail rule; an override replaces or (None) removes one."""
    records = {
        "mx": f"{domain}. 300 IN MX 10 mx.mailer.test.",
        "spf": f'{domain}. 300 IN TXT "v=spf1 include:_spf.mailer.test -all"',
        "dkim": f"s1._domainkey.{domain}. 300 IN TXT {txt(dkim_value(2048))}",
        "dmarc": f'_dmarc.{domain}. 300 IN TXT "v=DMARC1; p=reject; rua=mailto:dmarc@{domain}"',
        "mta-sts": f'_mta-sts.{domain}. 300 IN TXT "v=STSv1; id=20260101T000000"',
        "mta-sts-host": f"mta-sts.{domain}. 300 IN A {POLICY_ADDRESS}",
        "tlsrpt": f'_smtp._tls.{domain}. 300 IN TXT "v=TLSRPTv1; rua=mailto:tls@{domain}"',
    }
    for key, value in overrides.items():
        key = key.replace("_", "-")
        if value is None:
            records.pop(key)
        else:
            records[key] = value
    return records


def web_records(domain: str) -> list[str]:
    return [
        f"{domain}. 300 IN A {WEB_ADDRESS}",
        f"www.{domain}. 300 IN CNAME {EDGE_HOST}.",
        f'{domain}. 300 IN CAA 0 issue "letsencrypt.org"',
    ]


@dataclass
class Domain:
    name: str
    lines: list[str]
    # None, "good", "good-sha1-ds", "gost-ds", "expired", "wrong-ds", "edited-after-signing", or
    # "ds-only" (DNSSEC turned off at the DNS host while the registrar still publishes the DS)
    signing: str | None = None
    ds: list[str] = field(default_factory=list)


def _sign(domain: Domain, text: str) -> str:
    origin = dns.name.from_text(domain.name)
    zone = dns.zone.from_text(text, origin=origin, relativize=False)
    ksk = ec.generate_private_key(ec.SECP256R1())
    zsk = ec.generate_private_key(ec.SECP256R1())
    algorithm = dns.dnssec.Algorithm.ECDSAP256SHA256
    ksk_key = dns.dnssec.make_dnskey(ksk.public_key(), algorithm, flags=dns.dnssec.Flag.ZONE | dns.dnssec.Flag.SEP)
    zsk_key = dns.dnssec.make_dnskey(zsk.public_key(), algorithm, flags=dns.dnssec.Flag.ZONE)
    now = datetime.datetime.now(datetime.UTC)
    if domain.signing == "expired":
        inception, expiration = now - datetime.timedelta(days=30), now - datetime.timedelta(days=2)
    else:
        inception, expiration = now - datetime.timedelta(days=1), now + datetime.timedelta(days=30)
    if domain.signing != "ds-only":
        dns.dnssec.sign_zone(zone, keys=[(ksk, ksk_key), (zsk, zsk_key)], inception=inception, expiration=expiration)
    if domain.signing == "edited-after-signing":
        # The MX changed in the zone file and nobody re-signed: the old RRSIG stays.
        with zone.writer() as txn:
            txn.replace(origin, 300, dns.rdata.from_text("IN", "MX", "20 mx.mailer.test."))
    published = ksk_key
    if domain.signing == "wrong-ds":
        # A KSK rolled at the DNS host while the registrar still has the old key's DS.
        old = ec.generate_private_key(ec.SECP256R1())
        published = dns.dnssec.make_dnskey(
            old.public_key(), algorithm, flags=dns.dnssec.Flag.ZONE | dns.dnssec.Flag.SEP
        )
    assert isinstance(published, dns.rdtypes.ANY.DNSKEY.DNSKEY)
    # Many registrars still publish SHA-1 DS records; validators accept them.
    digest = "SHA1" if domain.signing == "good-sha1-ds" else "SHA256"
    ds = dns.dnssec.make_ds(origin, published, digest, validating=True)
    domain.ds = [f"{domain.name}. 300 IN DS {ds.to_text()}"]
    if domain.signing == "gost-ds":
        # GOST R 34.11-94 (digest type 3): validators have dropped it (RFC 8624), so they ignore this DS.
        domain.ds = [f"{domain.name}. 300 IN DS {ds.key_tag} {ds.algorithm} 3 {'ab' * 32}"]
    return zone.to_text(relativize=False)


def helper_zones() -> dict[str, str]:
    """Zones the planted domains point into: a web host, a mail provider, a takeover-prone provider."""
    return {
        "hostco.test": soa_ns("hostco.test")
        + "\n".join(
            [
                f"{EDGE_HOST}. 300 IN A 192.0.2.20",
                "other.hostco.test. 300 IN A 192.0.2.21",
            ]
        )
        + "\n",
        "mailer.test": soa_ns("mailer.test")
        + "\n".join(
            [
                "mx.mailer.test. 300 IN A 192.0.2.25",
                '_spf.mailer.test. 300 IN TXT "v=spf1 ip4:192.0.2.0/24 -all"',
                "mailer.test. 300 IN MX 10 mx.mailer.test.",
            ]
        )
        + "\n",
        # Empty but served: every name in it is NXDOMAIN, as for a deleted Azure web app.
        "azurewebsites.net": soa_ns("azurewebsites.net"),
    }


def build(domains: list[Domain], unloaded: tuple[str, ...] = ()) -> dict[str, str | None]:
    """Zone texts for nsd: the domains (signed where asked), the helpers, and the `test.` parent."""
    zones: dict[str, str | None] = dict(helper_zones())
    for domain in domains:
        text = soa_ns(domain.name) + "\n".join(domain.lines) + "\n"
        zones[domain.name] = _sign(domain, text) if domain.signing else text
    parent = [soa_ns("test"), "ns.test. 300 IN A 127.0.0.1"]
    for origin in [*zones, *unloaded]:
        if origin.endswith(".test"):
            parent.append(f"{origin}. 300 IN NS ns.test.")
    for domain in domains:
        parent.extend(domain.ds)
    zones["test"] = "\n".join(parent) + "\n"
    for origin in unloaded:
        zones[origin] = None
    return zones


def lines(*groups: Mapping[str, str] | list[str]) -> list[str]:
    out: list[str] = []
    for group in groups:
        out.extend(group.values() if isinstance(group, Mapping) else group)
    return out


class PolicyHost:
    """The MTA-STS policy hosts of the test domains: one HTTPS server on loopback, a trustme CA.

    The certificate names `mta-sts.D` for every domain D in `names`; each host serves
    `policies[host]` (status, content type, body), or the good policy.
    """

    def __init__(self, folder: Path, names: list[str], policies: Mapping[str, tuple[int, str, str]]) -> None:
        ca = trustme.CA()
        self.ca_pem = folder / "mta-sts-ca.pem"
        ca.cert_pem.write_to_path(str(self.ca_pem))
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert(*(f"mta-sts.{name}" for name in names)).configure_cert(context)
        served = dict(policies)

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                host = self.headers.get("Host", "").split(":")[0]
                status, kind, body = served.get(host, (200, "text/plain", GOOD_POLICY))
                data = body.encode() if self.path == "/.well-known/mta-sts.txt" else b""
                self.send_response(status if data else 404)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *_args: object) -> None:
                return

        self.server = ThreadingHTTPServer((POLICY_ADDRESS, 0), Handler)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port: int = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> PolicyHost:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
