"""Record-level rules of the dns check, as tables of what must pass next to near-misses."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from gate.checks.dns.dkim import dkim_key_problem
from gate.checks.dns.hosts import is_private
from gate.checks.dns.resolver import parse_address
from gate.config.domains import fqdn
from tests.support.dns_zones import dkim_value


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1", ("127.0.0.1", 53)),
        ("127.0.0.1:5353", ("127.0.0.1", 5353)),
        ("::1", ("::1", 53)),
        ("[::1]:5353", ("::1", 5353)),
        (" 9.9.9.9 ", ("9.9.9.9", 53)),
    ],
)
def test_resolver_address_forms(text: str, expected: tuple[str, int]) -> None:
    assert parse_address(text) == expected


@pytest.mark.parametrize("text", ["dns.google", "127.0.0.1:0", "127.0.0.1:70000", "[::1]5353", "1.2.3.4:x", ""])
def test_resolver_address_near_misses_are_rejected(text: str) -> None:
    with pytest.raises(ValueError):
        parse_address(text)


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("@", "example.com"),
        ("www", "www.example.com"),
        ("API", "api.example.com"),
        ("api.example.com", "api.example.com"),
        ("cdn.other.net.", "cdn.other.net"),
        ("example.com", "example.com"),
        ("notexample.com", "notexample.com.example.com"),
    ],
)
def test_host_names_in_the_map(label: str, expected: str) -> None:
    assert fqdn(label, "example.com") == expected


@pytest.mark.parametrize(
    ("address", "private"),
    [
        ("10.1.2.3", True),
        ("172.31.255.255", True),
        ("172.32.0.1", False),
        ("192.168.1.1", True),
        ("100.64.0.1", True),
        ("127.0.0.53", True),
        ("169.254.169.254", True),
        ("0.0.0.0", True),
        ("76.76.21.21", False),
        ("192.0.2.10", False),
        ("::1", True),
        ("fd00::1", True),
        ("fe80::1", True),
        ("2606:4700::1111", False),
    ],
)
def test_private_addresses(address: str, private: bool) -> None:
    assert is_private(address) is private


def _ed25519_value() -> str:
    key = ed25519.Ed25519PrivateKey.generate().public_key()
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return f"v=DKIM1; k=ed25519; p={base64.b64encode(raw).decode()}"


def test_dkim_rsa_keys_report_their_size() -> None:
    assert dkim_key_problem(dkim_value(2048)) == (None, 2048)
    assert dkim_key_problem(dkim_value(1024)) == (None, 1024)
    # Tags in another order, spaces inside the base64 (as some consoles split it), no v= tag.
    key = dkim_value(2048).split("p=", 1)[1]
    spaced = " ".join(key[i : i + 64] for i in range(0, len(key), 64))
    assert dkim_key_problem(f"p={spaced}; k=rsa") == (None, 2048)


def test_dkim_ed25519_key_is_accepted_without_a_size() -> None:
    assert dkim_key_problem(_ed25519_value()) == (None, None)


@pytest.mark.parametrize(
    ("record", "says"),
    [
        ("v=DKIM1; k=rsa; p=", "revoked"),
        ("v=DKIM1; k=rsa", "no p= tag"),
        ("v=DKIM2; p=AAAA", "only DKIM1"),
        ("v=DKIM1; p=not*base64", "not base64"),
        ("v=DKIM1; p=" + base64.b64encode(b"not a key").decode(), "not an RSA public key"),
        ("v=DKIM1; k=dsa; p=AAAA", "k=dsa"),
        ("v=DKIM1; k=ed25519; p=" + base64.b64encode(b"short").decode(), "not 32 bytes"),
        ("v=DKIM1; k rsa", "without '='"),
    ],
)
def test_dkim_near_misses_say_what_is_wrong(record: str, says: str) -> None:
    problem, bits = dkim_key_problem(record)
    assert problem is not None and says in problem and bits is None
