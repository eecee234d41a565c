"""SPF lookup counting on the RFC 7208 test suite's "Processing limits" cases, served by nsd.

The suite evaluates one sender (`host`) per case; the gate lints the record for every sender.
Where the two differ the case says why (include-at-limit).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from gate.checks.dns.mail import MailChecker
from gate.checks.dns.mail_lookup import EmailPolicy
from gate.checks.dns.resolver import GateResolver
from tests.support import spf_suite
from tests.support.contracts import Contracts
from tests.support.nsd_server import Nsd

LIMIT_RULES = {"dns.spf.too-many-lookups", "dns.spf.too-many-void-lookups", "dns.spf.loop"}

# suite test -> (the rule the gate raises, or None; the lookups it counts when the record parses)
PROCESSING_LIMITS: dict[str, tuple[str | None, int | None]] = {
    "redirect-loop": ("dns.spf.loop", None),
    "include-loop": ("dns.spf.loop", None),
    "mx-limit": ("dns.spf.too-many-lookups", None),  # 11 MX names behind one mx (section 4.6.4 item 2)
    "ptr-limit": (None, 1),  # a limit on PTR answers while evaluating, nothing the record itself breaks
    "false-a-limit": (None, 1),  # no limit on the number of A records
    "mech-at-limit": (None, 10),
    # The zone gives e7 no MX: its 2nd, 4th and 6th terms are void, and the third void lookup
    # ends evaluation (section 4.6.4) before the 11th lookup is reached.
    "mech-over-limit": ("dns.spf.too-many-void-lookups", None),
    # The suite's sender 1.2.3.4 matches ip4:1.2.3.4, the 10th lookup's next term, and passes;
    # every other sender goes on to `mx`, the 11th lookup, and gets permerror. A linter speaks
    # for every sender, so it reports the record.
    "include-at-limit": ("dns.spf.too-many-lookups", None),
    "include-over-limit": ("dns.spf.too-many-lookups", None),
    "void-at-limit": (None, 2),
    "void-over-limit": ("dns.spf.too-many-void-lookups", None),
}


@pytest.fixture(scope="module")
def suite(contracts: Contracts) -> dict[str, dict[str, Any]]:
    return spf_suite.scenarios(contracts.spf_suite)


@pytest.fixture(scope="module")
def server(suite: dict[str, dict[str, Any]], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Nsd]:
    zones = spf_suite.zones(
        suite["Processing limits"]["zonedata"], suite["Test cases from implementation bugs"]["zonedata"]
    )
    with Nsd(tmp_path_factory.mktemp("rfc7208"), zones) as nsd:
        yield nsd


def lint(server: Nsd, domain: str) -> tuple[set[str], int | None]:
    checker = MailChecker(GateResolver(server.address, timeout=1, retries=0), domain, EmailPolicy())
    found = {finding.rule_id for finding in checker.spf()}
    return found & LIMIT_RULES, checker.spf_lookups


def test_every_processing_limits_case_is_covered(suite: dict[str, dict[str, Any]]) -> None:
    assert set(suite["Processing limits"]["tests"]) == set(PROCESSING_LIMITS)


@pytest.mark.parametrize("case", list(PROCESSING_LIMITS))
def test_processing_limits_case(server: Nsd, suite: dict[str, dict[str, Any]], case: str) -> None:
    spec = suite["Processing limits"]["tests"][case]
    expected_rule, expected_count = PROCESSING_LIMITS[case]
    domain = spec["mailfrom"].split("@", 1)[1]
    found, count = lint(server, domain)
    assert found == ({expected_rule} if expected_rule else set())
    assert count == expected_count
    results = spec["result"] if isinstance(spec["result"], list) else [spec["result"]]
    if expected_rule and case != "include-at-limit":
        assert results == ["permerror"], "the gate flags only records the suite makes permerror"
    if not expected_rule:
        assert "permerror" not in results


def test_same_record_through_a_cname_alias_is_not_a_duplicate(server: Nsd, suite: dict[str, dict[str, Any]]) -> None:
    """cname-aliasing: include:a and include:b where b is a CNAME to a; pyspf once called it two records."""
    spec = suite["Test cases from implementation bugs"]["tests"]["cname-aliasing"]
    assert spec["result"] == "fail"  # evaluation reaches -all: no permerror on the way
    checker = MailChecker(GateResolver(server.address, timeout=1, retries=0), "mail.example.org", EmailPolicy())
    assert list(checker.spf()) == []
    # Each include counted again (section 4.6.4): a, its two includes and relay's `a`, twice.
    assert checker.spf_lookups == 8
