"""The shared HTTP plumbing every preview check uses: bounded bodies, a total deadline per request,
bounded redirects, and secret headers only over HTTPS to the preview's own hosts."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from pathlib import Path

import pytest

from gate.checks.base import CheckContext
from gate.checks.http.preview import Limits, Preview, netloc, normalise_host, preview_from_context
from gate.checks.http.transport import RequestFailed, Session, fetch, follow, make_client, wait_ready
from gate.checks.http.trust import ssl_context
from gate.config.domains import domain_map
from gate.demo.webserver import Request, Response, Site, serve, server_context
from gate.errors import CheckFailure
from tests.support.http_sites import Authority, authority_fixture  # noqa: F401 - the fixture registers by being imported


def _preview(authority: Authority, port: int, **limits: float) -> Preview:
    return Preview(
        base_url=f"https://localhost:{port}/",
        hosts=(f"localhost:{port}",),
        limits=Limits(**limits),
        ca_bundle=authority.pem,
        secret_headers={"x-bypass": "s3cr3t-bypass-value"},
        trust=ssl_context(authority.pem),
    )


def _https(authority: Authority, site: Site) -> contextlib.AbstractContextManager[int]:
    cert, key = authority.leaf()
    return serve(site, server_context(cert, key))


def test_body_is_cut_at_the_cap_and_marked_truncated(authority: Authority) -> None:
    big = Site(fallback=Response(200, b"x" * 3_000_000))
    with _https(authority, big) as port:
        preview = _preview(authority, port)

        async def go() -> tuple[int, bool]:
            async with make_client(preview) as client:
                page = await fetch(client, preview.url("/"), limits=preview.limits, max_body=10_000)
                return len(page.body), page.truncated

        assert asyncio.run(go()) == (10_000, True)


def test_a_slow_server_meets_the_total_deadline(authority: Authority) -> None:
    def slow(request: Request) -> Response:
        time.sleep(3)
        return Response(200, "late")

    with _https(authority, Site(fallback=slow)) as port:
        preview = _preview(authority, port, timeout=0.5)

        async def go() -> None:
            async with make_client(preview) as client:
                await fetch(client, preview.url("/"), limits=preview.limits)

        started = time.monotonic()
        with pytest.raises(RequestFailed, match=r"no complete answer within 0\.5s"):
            asyncio.run(go())
        assert time.monotonic() - started < 2.5


def test_redirects_are_followed_only_to_the_bound(authority: Authority) -> None:
    count = [0]

    def endless(request: Request) -> Response:
        count[0] += 1
        return Response(302, b"", (("location", f"/hop{count[0]}"),))

    with _https(authority, Site(fallback=endless)) as port:
        preview = _preview(authority, port, max_redirects=3)

        async def go() -> int:
            async with make_client(preview) as client:
                return len(await follow(client, preview.url("/"), limits=preview.limits))

        assert asyncio.run(go()) == 4
        assert count[0] == 4


def test_secret_headers_go_only_to_the_previews_own_hosts(authority: Authority) -> None:
    own = Site(fallback=Response(200, "ok"))
    other = Site(fallback=Response(200, "ok"))
    cert, key = authority.leaf()
    with serve(own, server_context(cert, key)) as port, serve(other, server_context(cert, key)) as other_port:
        preview = _preview(authority, port)

        async def go() -> None:
            async with make_client(preview) as client:
                session = Session(client, preview.limits)
                await session.fetch(preview.url("/"))
                await session.fetch(f"https://localhost:{other_port}/")

        asyncio.run(go())
    assert own.requests[0].headers.get("x-bypass") == "s3cr3t-bypass-value"
    assert "x-bypass" not in other.requests[0].headers


def test_wait_ready_gives_up_within_its_bound(authority: Authority) -> None:
    with _https(authority, Site(fallback=Response(503, "warming up"))) as port:
        preview = _preview(authority, port)

        async def go() -> tuple[bool, str | None, int]:
            async with make_client(preview) as client:
                ready = await wait_ready(client, preview.base_url, limits=preview.limits, timeout=0.6, interval=0.2)
                return ready.answered, ready.last_error, ready.attempts

        answered, last, attempts = asyncio.run(go())
    assert not answered and last == "HTTP 503" and 2 <= attempts <= 4


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Example.COM", "example.com"),
        ("example.com:443", "example.com"),
        ("https://example.com:8443/path", "example.com:8443"),
        ("[::1]:8443", "[::1]:8443"),
    ],
)
def test_hosts_are_compared_in_one_normal_form(text: str, expected: str) -> None:
    assert normalise_host(text) == expected


def test_default_port_of_the_scheme_is_dropped() -> None:
    assert netloc("http://example.com:80/") == "example.com"
    assert netloc("http://example.com:443/") == "example.com:443"


def test_ca_bundle_path_resolves_relative_to_gate_yml(tmp_path: Path, authority: Authority) -> None:
    (tmp_path / "certs").mkdir()
    (tmp_path / "certs" / "ca.pem").write_bytes(authority.pem.read_bytes())
    ctx = CheckContext(
        root=tmp_path / "app",
        config={"url": "https://preview.example.com", "ca_bundle": "certs/ca.pem"},
        preset="launch",
        environ={},
        config_path=tmp_path / "gate.yml",
    )
    preview = preview_from_context(ctx)
    assert preview.ca_bundle == (tmp_path / "certs" / "ca.pem").resolve()
    assert preview.base_url == "https://preview.example.com/"


def _context(tmp_path: Path, section: dict[str, object], dns: dict[str, object]) -> CheckContext:
    return CheckContext(
        root=tmp_path,
        config={"url": "https://acme-git-feature.vercel.app", **section},
        preset="launch",
        environ={},
        full_config={"checks": {"dns": dns, "http": section}},
    )


def test_hosts_and_canonical_host_default_to_the_dns_domain_map(tmp_path: Path) -> None:
    dns = {
        "domain": "acme.com",
        "canonical": "www",
        "hosts": {
            "@": None,
            "www": None,
            "api": {"points_to": ["api.fly.dev"]},
            "old-staging": {"exists": False},
            "*.preview": None,
        },
    }
    ctx = _context(tmp_path, {}, dns)
    preview = preview_from_context(ctx, domain_map(ctx.full_config))
    assert preview.hosts == ("acme-git-feature.vercel.app", "acme.com", "www.acme.com", "api.acme.com")
    assert preview.canonical_host == "www.acme.com"


def test_hosts_in_the_http_section_win_over_the_domain_map(tmp_path: Path) -> None:
    section = {"hosts": ["app.acme.com"], "canonical_host": "app.acme.com"}
    ctx = _context(tmp_path, section, {"domain": "acme.com", "canonical": "@"})
    preview = preview_from_context(ctx, domain_map(ctx.full_config))
    assert preview.hosts == ("acme-git-feature.vercel.app", "app.acme.com")
    assert preview.canonical_host == "app.acme.com"


def test_listing_hosts_in_the_http_section_drops_the_whole_domain_map(tmp_path: Path) -> None:
    ctx = _context(tmp_path, {"hosts": ["localhost:8443"]}, {"domain": "acme.com", "canonical": "@"})
    preview = preview_from_context(ctx, domain_map(ctx.full_config))
    assert preview.hosts == ("acme-git-feature.vercel.app", "localhost:8443")
    assert preview.canonical_host is None


def test_a_declared_name_answering_with_a_metadata_address_is_never_connected_to(authority: Authority) -> None:
    # As a DNS answer would (rebinding): the name is declared, its address is not acceptable.
    site = Site(fallback=Response(200, b"ok"))
    with _https(authority, site) as port:
        preview = dataclasses.replace(_preview(authority, port), pins={("localhost", None): "169.254.169.254"})

        async def go() -> None:
            async with make_client(preview) as client:
                await wait_ready(client, preview.base_url, limits=preview.limits, timeout=5, interval=0.1)

        started = time.monotonic()
        with pytest.raises(CheckFailure, match="link-local"):
            asyncio.run(go())
        assert time.monotonic() - started < 2
    assert site.requests == []


def test_an_undeclared_host_is_refused_before_any_connection(authority: Authority) -> None:
    site = Site(fallback=Response(200, b"ok"))
    with _https(authority, site) as port:
        preview = _preview(authority, port)

        async def go() -> None:
            async with make_client(preview) as client:
                await fetch(client, f"https://127.0.0.1:{port}/", limits=preview.limits)

        with pytest.raises(RequestFailed, match=r"not a host gate\.yml declares") as failure:
            asyncio.run(go())
        assert failure.value.refused
    assert site.requests == []
