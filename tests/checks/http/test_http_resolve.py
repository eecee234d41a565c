"""Name resolution inside the http check: `resolve:` pins, `*.localhost` on loopback without a DNS
query (RFC 6761), only declared hosts, never a link-local or metadata address, and `http_port`
per host; against real HTTPS servers on loopback."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from gate.checks.http.resolve import Refused, Resolver, forbidden, pins_from_config
from gate.demo.webserver import Response, Site, serve
from tests.support.http_sites import Authority, authority_fixture, clean_site, preview  # noqa: F401 - fixture


async def _no_dns(host: str, port: int) -> list[str]:
    raise AssertionError(f"a DNS query for {host} was sent")


def _resolve(resolver: Resolver, host: str, port: int = 443) -> list[str]:
    return asyncio.run(resolver.addresses(host, port))


def test_localhost_names_and_pins_never_reach_a_resolver() -> None:
    pins, bad = pins_from_config({"preview.example": "127.0.0.1", "api.example:8443": "::1"})
    assert bad == []
    resolver = Resolver(frozenset({"app.localhost", "preview.example", "api.example"}), pins, _no_dns)
    assert _resolve(resolver, "APP.localhost.") == ["127.0.0.1", "::1"]
    assert _resolve(resolver, "preview.example") == ["127.0.0.1"]
    assert _resolve(resolver, "api.example", 8443) == ["::1"]


def test_only_declared_hosts_are_connected_to() -> None:
    resolver = Resolver(frozenset({"app.localhost"}), {}, _no_dns)
    with pytest.raises(Refused, match=r"not a host gate\.yml declares"):
        _resolve(resolver, "evil.localhost")


@pytest.mark.parametrize(
    "answer",
    [["169.254.169.254"], ["fe80::1"], ["::ffff:169.254.169.254"], ["fd00:ec2::254"], ["100.100.100.200"]],
)
def test_a_name_that_resolves_to_a_metadata_address_is_refused(answer: list[str]) -> None:
    # DNS rebinding: the declared name's answer is what is checked, not the name.
    async def rebinding(host: str, port: int) -> list[str]:
        return answer

    resolver = Resolver(frozenset({"preview.example"}), {}, rebinding)
    with pytest.raises(Refused, match="never connects to"):
        _resolve(resolver, "preview.example")


def test_of_several_answers_only_the_allowed_ones_are_tried() -> None:
    async def mixed(host: str, port: int) -> list[str]:
        return ["169.254.169.254", "127.0.0.1"]

    assert _resolve(Resolver(frozenset({"preview.example"}), {}, mixed), "preview.example") == ["127.0.0.1"]


def test_pins_to_unusable_addresses_are_bad_input() -> None:
    _, bad = pins_from_config({"a.example": "169.254.169.254", "b.example": "not-an-ip"})
    assert [entry for entry, _ in bad] == ["a.example", "b.example"]
    assert forbidden("127.0.0.1") is None and forbidden("10.0.0.1") is None


def test_a_preview_on_localhost_subdomains_is_checked_whole(tmp_path: Path, authority: Authority) -> None:
    leaf = authority.leaf("app.localhost", "www.localhost")
    with preview(tmp_path, authority, leaf=leaf) as pv:
        report = pv.run(
            "launch",
            url=f"https://app.localhost:{pv.port}/",
            hosts=[f"www.localhost:{pv.port}"],
            http_port={f"app.localhost:{pv.port}": pv.http_port, "*": pv.http_port},
        )
    assert report.error is None, report.outcome.output
    assert report.findings == [] and report.outcome.exit_code == 0


def test_resolve_pins_a_real_looking_name_to_loopback(tmp_path: Path, authority: Authority) -> None:
    leaf = authority.leaf("preview.acme-app.test")
    with preview(tmp_path, authority, leaf=leaf) as pv:
        report = pv.run(
            "launch",
            url=f"https://preview.acme-app.test:{pv.port}/",
            resolve={"preview.acme-app.test": "127.0.0.1"},
            http_port=None,
        )
    assert report.error is None, report.outcome.output
    assert report.findings == [], report.findings


def test_a_resolve_pin_to_the_metadata_address_is_refused_with_its_line(tmp_path: Path, authority: Authority) -> None:
    with preview(tmp_path, authority) as pv:
        report = pv.run("launch", resolve={"localhost": "169.254.169.254"})
    assert report.outcome.exit_code == 2
    assert "checks.http.resolve maps localhost" in report.outcome.stderr and "gate.yml:" in report.outcome.stderr


def test_http_port_per_host(tmp_path: Path, authority: Authority) -> None:
    plain = Site(fallback=Response(200, "plain", (("content-type", "text/plain"),)))
    with serve(plain) as other, preview(tmp_path, authority) as pv:
        report = pv.run("launch", hosts=[f"127.0.0.1:{pv.port}"], http_port={"127.0.0.1": other, "*": pv.http_port})
    finding = report.only("http.tls.http-not-redirected")
    assert finding["location"]["url"] == f"http://127.0.0.1:{other}/"
    assert [r.path for r in plain.requests] == ["/"]
