"""The demo's DNS part: its loopback server answers like nsd, and `gate demo` shows the planted problems."""

from __future__ import annotations

import json
from pathlib import Path

import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import pytest

from gate.checks.dns.resolver import GateResolver
from gate.demo import dns_part
from gate.demo.dns_server import LoopbackDnsServer
from tests.support.helpers import gate
from tests.support.nsd_server import Nsd

QUESTIONS = [
    (dns_part.DOMAIN, "A"),
    (f"www.{dns_part.DOMAIN}", "A"),
    (f"www.{dns_part.DOMAIN}", "AAAA"),
    (f"promo.{dns_part.DOMAIN}", "A"),
    ("acme-promo.azurewebsites.net", "A"),
    (f"_dmarc.{dns_part.DOMAIN}", "TXT"),
    (f"s1._domainkey.{dns_part.DOMAIN}", "TXT"),
    (f"nothere.{dns_part.DOMAIN}", "TXT"),
    (dns_part.DOMAIN, "DS"),
    ("example.org", "A"),
]


def _ask(port: int, name: str, rdtype: str, tcp: bool) -> tuple[str, bool, list[str], list[str]]:
    query = dns.message.make_query(name, rdtype)
    send = dns.query.tcp if tcp else dns.query.udp
    reply = send(query, "127.0.0.1", port=port, timeout=2)
    return (
        dns.rcode.to_text(reply.rcode()),
        bool(reply.flags & dns.flags.AA),
        sorted(rrset.to_text() for rrset in reply.answer),
        sorted(rrset.to_text() for rrset in reply.authority if rrset.rdtype == dns.rdatatype.SOA),
    )


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory) -> tuple[Nsd, LoopbackDnsServer]:
    nsd = Nsd(tmp_path_factory.mktemp("demo-nsd"), dns_part.zones()).start()
    ours = LoopbackDnsServer(dns_part.zones()).start()
    yield nsd, ours
    ours.stop()
    nsd.stop()


@pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])
@pytest.mark.parametrize(("name", "rdtype"), QUESTIONS)
def test_demo_server_answers_like_nsd(both: tuple[Nsd, LoopbackDnsServer], name: str, rdtype: str, tcp: bool) -> None:
    nsd, ours = both
    assert _ask(ours.port, name, rdtype, tcp) == _ask(nsd.port, name, rdtype, tcp)


def test_dns_check_finds_the_same_on_the_demo_server_as_on_nsd(both: tuple[Nsd, LoopbackDnsServer]) -> None:
    from gate.checks.dns.hosts import HostChecker, host_specs
    from gate.checks.dns.takeover import load_providers

    results = []
    for server in both:
        resolver = GateResolver(server.address, timeout=1, retries=0)
        hosts = HostChecker(resolver, dns_part.DOMAIN, load_providers())
        found = [
            f
            for spec in host_specs(dns_part.DOMAIN, {"@": None, "www": None, "promo": None})
            for f in hosts.check(spec)
        ]
        results.append(sorted((f.rule_id, f.message) for f in found))
    assert results[0] == results[1] and [r for r, _ in results[0]] == ["dns.takeover.dangling"]


def test_demo_shows_the_dangling_cname_and_the_weak_dmarc() -> None:
    outcome = gate("demo", "--format", "json")
    report = json.loads(outcome.stdout)
    dns_findings = {(f["rule_id"], f["location"]["name"]) for f in report["findings"] if f["check"] == "dns"}
    assert ("dns.takeover.dangling", f"promo.{dns_part.DOMAIN}") in dns_findings
    assert ("dns.dmarc.monitoring-only", f"_dmarc.{dns_part.DOMAIN}") in dns_findings
    assert ("dns.dmarc.no-rua", f"_dmarc.{dns_part.DOMAIN}") in dns_findings
    assert next(c for c in report["checks"] if c["name"] == "dns")["status"] == "fail"
    assert outcome.exit_code == 1


def test_demo_skips_the_dns_part_with_a_note_when_no_server_can_listen(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import contextlib

    def refuse(self: LoopbackDnsServer) -> LoopbackDnsServer:
        raise PermissionError("binding is not allowed here")

    monkeypatch.setattr(LoopbackDnsServer, "start", refuse)
    with contextlib.ExitStack() as stack, caplog.at_level("WARNING"):
        assert dns_part.plant(tmp_path, stack) == {}
    assert "skipping the DNS part" in caplog.text
