"""The dns check against resolvers that fail: SERVFAIL, REFUSED, silence, truncation."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import Outcome, gate, write_files

from faults.common import fails_closed
from faults.peers import Bounds, dns_peer, measured
from faults.table import row

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
    # Retries are bounded: a silent resolver is not asked forever.
    assert 1 <= queries <= 20


@row(
    "DNS answer truncated (TC bit) and TCP refused",
    "dns",
    "exit 3: names the resolver; a truncated answer is no answer",
)
def test_truncated_answer_with_tcp_refused_fails_closed(tmp_path: Path) -> None:
    outcome, bounds, _ = _check(tmp_path, "truncated")
    fails_closed(outcome, bounds, ["dns", "127.0.0.1", "Connection refused"])
