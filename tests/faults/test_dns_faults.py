"""The dns check against resolvers that fail (SERVFAIL, REFUSED, silence, truncation, one dead of
two), a domain that does not exist, and MTA-STS policy hosts that misbehave (slow, huge, redirect)."""

from __future__ import annotations

import json
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from tests.faults.common import fails_closed
from tests.faults.peers import Behaviour, Bounds, TcpPeer, answer, dns_peer, drip, endless, measured
from tests.faults.table import row
from tests.support.dns_zones import Domain, build, lines, mail_records, web_records
from tests.support.helpers import Outcome, gate, write_files
from tests.support.nsd_server import Nsd

CONFIG = """version: 1
checks:
  dns:
    enabled: true
    domain: example.test
    resolver: {resolver}
    query_timeout: 1s
    retries: 1
    dnssec: true
    hosts:
      "@": {{points_to: ["192.0.2.10"]}}
"""


@pytest.fixture(scope="module", autouse=True)
def _imported() -> None:
    """The first dns run imports checkdmarc and friends (seconds on a loaded box); the bounds
    measure how the gate handles the fault, so pay the import before the clock starts."""
    import checkdmarc  # noqa: F401

    import gate.checks.dns.mail  # noqa: F401


def _check(tmp_path: Path, mode: str) -> tuple[Outcome, Bounds, int]:
    with dns_peer(mode) as (resolver, seen):
        write_files(tmp_path, {"gate.yml": CONFIG.format(resolver=resolver)})
        with measured() as box:
            outcome = gate("check", "dns", cwd=tmp_path)
    return outcome, box[0], len(seen)


@row("DNS resolver answers SERVFAIL", "dns", "exit 3: names the resolver and SERVFAIL; nothing about the domain passes")
def test_servfail_fails_closed(tmp_path: Path) -> None:
    outcome, bounds, _ = _check(tmp_path, "servfail")
    fails_closed(outcome, bounds, ["dns", "127.0.0.1", "SERVFAIL"])


@row("DNS resolver answers REFUSED", "dns", "exit 3: names the resolver and REFUSED")
def test_refused_fails_closed(tmp_path: Path) -> None:
    outcome, bounds, _ = _check(tmp_path, "refused")
    fails_closed(outcome, bounds, ["dns", "127.0.0.1", "REFUSED"])


@row("DNS resolver never answers (UDP timeout)", "dns", "exit 3 after `query_timeout` x `retries`: names the resolver")
def test_silent_resolver_times_out(tmp_path: Path) -> None:
    outcome, bounds, queries = _check(tmp_path, "silent")
    fails_closed(outcome, bounds, ["dns", "127.0.0.1"], seconds=20)
    assert "time" in outcome.output.lower()
    # Once silent for every attempt of one query, the resolver is dead for the run: not asked again.
    assert queries == 2


@row(
    "DNS answer truncated (TC bit) and TCP refused",
    "dns",
    "exit 3: names the resolver; a truncated answer is no answer",
)
def test_truncated_answer_with_tcp_refused_fails_closed(tmp_path: Path) -> None:
    outcome, bounds, _ = _check(tmp_path, "truncated")
    fails_closed(outcome, bounds, ["dns", "127.0.0.1", "Connection refused"])


DOMAIN = "example.test"


@pytest.fixture(scope="module")
def zones(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Nsd]:
    """example.test with MX, SPF, DMARC, an _mta-sts record and its policy host at 127.0.0.1."""
    domain = Domain(DOMAIN, lines(web_records(DOMAIN), mail_records(DOMAIN)))
    with Nsd(tmp_path_factory.mktemp("nsd"), build([domain])) as server:
        yield server


def _zone_config(tmp_path: Path, resolvers: list[str], ca_bundle: Path | None = None, **email: object) -> None:
    section = {
        "enabled": True,
        "domain": DOMAIN,
        "resolver": resolvers,
        "query_timeout": "1s",
        "retries": 1,
        "dnssec": False,
        "hosts": {"@": None},
        "email": {"dkim_selectors": ["s1"], **email},
        **({"ca_bundle": str(ca_bundle)} if ca_bundle else {}),
    }
    write_files(tmp_path, {"gate.yml": json.dumps({"version": 1, "checks": {"dns": section}})})


@row(
    "One of two DNS resolvers is dead",
    "dns",
    "asked once, then skipped for the rest of the run; the live one answers every query",
)
def test_dead_resolver_is_asked_once(tmp_path: Path, zones: Nsd) -> None:
    with dns_peer("silent") as (dead, seen):
        _zone_config(tmp_path, [dead, zones.address], require_mta_sts=False)
        with measured() as box:
            outcome = gate("check", "dns", "--format", "json", cwd=tmp_path)
    assert outcome.exit_code in (0, 1), outcome.output
    assert len(seen) == 1, f"the dead resolver was asked {len(seen)} times"
    assert json.loads(outcome.stdout)["verdict"] != "error"
    assert box[0].seconds < 20


@row("Domain does not exist (NXDOMAIN)", "dns", "exit 1: one `dns.domain.not-found` finding, nothing else checked")
def test_nonexistent_domain_is_one_finding(tmp_path: Path, zones: Nsd) -> None:
    _zone_config(tmp_path, [zones.address])
    with measured() as box:
        outcome = gate("check", "dns", "--domain", "gone.test", "--format", "json", cwd=tmp_path)
    fails_closed(outcome, box[0], ["dns.domain.not-found"], codes=(1,))
    assert [f["rule_id"] for f in json.loads(outcome.stdout)["findings"]] == ["dns.domain.not-found"]


@pytest.fixture(scope="module")
def policy_tls(tmp_path_factory: pytest.TempPathFactory) -> tuple[ssl.SSLContext, Path]:
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(f"mta-sts.{DOMAIN}").configure_cert(context)
    pem = tmp_path_factory.mktemp("ca") / "mta-sts-ca.pem"
    ca.cert_pem.write_to_path(str(pem))
    return context, pem


def _policy_host(tmp_path: Path, zones: Nsd, tls: tuple[ssl.SSLContext, Path], behaviour: Behaviour) -> Outcome:
    with TcpPeer(behaviour, tls=tls[0]) as peer:
        _zone_config(tmp_path, [zones.address], tls[1], mta_sts_port=peer.port)
        with measured() as box:
            outcome = gate("check", "dns", cwd=tmp_path)
    fails_closed(outcome, box[0], ["dns.mta-sts.policy-unreachable", f"mta-sts.{DOMAIN}"], codes=(1,))
    return outcome


@row(
    "MTA-STS policy host dribbles its answer",
    "dns",
    "exit 1: `dns.mta-sts.policy-unreachable` after 10 s for the whole fetch",
)
def test_slow_policy_host(tmp_path: Path, zones: Nsd, policy_tls: tuple[ssl.SSLContext, Path]) -> None:
    outcome = _policy_host(tmp_path, zones, policy_tls, drip(interval=0.5))
    assert "within 10s" in outcome.output


@row(
    "MTA-STS policy host sends an endless body",
    "dns",
    "exit 1: `dns.mta-sts.policy-unreachable`; reading stops at 64 KiB",
)
def test_huge_policy(tmp_path: Path, zones: Nsd, policy_tls: tuple[ssl.SSLContext, Path]) -> None:
    outcome = _policy_host(tmp_path, zones, policy_tls, endless(headers="Content-Type: text/plain\r\n"))
    assert "more than 64 KiB" in outcome.output


@row(
    "MTA-STS policy host redirects",
    "dns",
    "exit 1: `dns.mta-sts.policy-unreachable`; the redirect is not followed (RFC 8461 section 3.3)",
)
def test_redirecting_policy_host(tmp_path: Path, zones: Nsd, policy_tls: tuple[ssl.SSLContext, Path]) -> None:
    outcome = _policy_host(tmp_path, zones, policy_tls, answer(301, headers={"Location": "https://evil.test/p"}))
    assert "redirects (301 to https://evil.test/p)" in outcome.output


@row(
    "A zone points the MTA-STS policy host or a CNAME target at a link-local or metadata address",
    "dns",
    "never connected to: the policy is reported unreachable, the takeover probe unconfirmed, each naming the address",
)
def test_link_local_and_metadata_answers_are_never_connected_to() -> None:
    from gate.checks.dns.mta_sts import fetch_policy
    from gate.checks.dns.takeover import ProbeFailed, serves_unclaimed_page

    fetched = fetch_policy(
        "mta-sts.hosts.test", ["169.254.169.254", "fd00:ec2::254"], 443, ssl.create_default_context()
    )
    assert fetched.unreachable and "169.254.169.254 is link-local" in fetched.unreachable
    assert "fd00:ec2::254 is a cloud metadata address" in fetched.unreachable
    with pytest.raises(ProbeFailed, match=r"169\.254\.169\.254 is link-local"):
        serves_unclaimed_page("promo.hosts.test", ["169.254.169.254"], "unclaimed")
