"""The http check's surface rules against real HTTPS previews on loopback, one planted flaw each.

Every test starts from the clean preview (which yields zero findings) and breaks one thing, so
each finding can only come from that one change.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest

from gate.demo.webserver import Request, Response, Site, serve
from tests.support.http_sites import (  # noqa: F401 - the fixtures register by being imported
    ABOUT,
    CSP,
    HTML,
    INDEX,
    JSON,
    ROUTES,
    SECURITY,
    TOKEN,
    Authority,
    authority_fixture,
    clean_site,
    preview,
)


def _without(headers: tuple[tuple[str, str], ...], *names: str) -> tuple[tuple[str, str], ...]:
    return tuple((n, v) for n, v in headers if n not in names)


def test_clean_preview_yields_zero_findings_under_launch(tmp_path: Path, authority: Authority) -> None:
    site = clean_site()
    with preview(tmp_path, authority, site) as pv:
        report = pv.run("launch", hosts=[pv.host, f"127.0.0.1:{pv.port}"])
    assert report.error is None
    assert report.findings == []
    assert report.outcome.exit_code == 0
    asked = {(r.method, r.path) for r in site.requests}
    # It really looked: pages, bundles found through the page and a dynamic import, the routes.
    assert {("GET", "/about"), ("GET", "/assets/chunk-7e6d5c4b.js"), ("GET", "/api/me"), ("GET", "/.env")} <= asked
    authed = [r for r in site.requests if r.path == "/api/me" and r.method == "GET"]
    assert any(r.headers.get("authorization") == f"Bearer {TOKEN}" for r in authed)


def test_api_responses_are_not_graded_like_pages(tmp_path: Path, authority: Authority) -> None:
    # A JSON API without CSP, framing or Referrer-Policy is fine; an HTML page without them is not.
    site = clean_site(**{"/": Response(200, INDEX, _without(HTML, "content-security-policy"))})
    site.common_headers = _without(SECURITY, "referrer-policy")
    with preview(tmp_path, authority, site) as pv:
        report = pv.run("launch")
    assert report.rules == {
        "http.headers.csp-missing",
        "http.headers.framing-unprotected",
        "http.headers.referrer-policy-missing",
    }
    for finding in report.findings:
        # Only the HTML pages are named, never /api/health.
        assert "/api/" not in finding["location"]["url"]


def test_missing_hsts_and_nosniff_are_reported_on_pages_and_apis(tmp_path: Path, authority: Authority) -> None:
    site = clean_site()
    site.common_headers = _without(SECURITY, "strict-transport-security", "x-content-type-options")
    with preview(tmp_path, authority, site) as pv:
        report = pv.run("launch")
    assert report.rules == {"http.headers.hsts-missing", "http.headers.nosniff-missing"}
    hsts = report.only("http.headers.hsts-missing")
    assert hsts["blocking"] is True and hsts["severity"] == "medium"
    # Where it was seen is a JSON array of URLs, not the text of a Python list.
    urls = hsts["details"]["urls"]
    assert isinstance(urls, list) and len(urls) > 1 and all(url.startswith("https://") for url in urls)
    nosniff_places = {f["location"]["url"] for f in report.findings if f["rule_id"] == "http.headers.nosniff-missing"}
    assert any("/api/" in url for url in nosniff_places) and any(
        not url.endswith("/api/health") for url in nosniff_places
    )


def test_weak_hsts_fails_launch_but_not_demo(tmp_path: Path, authority: Authority) -> None:
    site = clean_site()
    site.common_headers = (
        ("strict-transport-security", "max-age=300"),
        *_without(SECURITY, "strict-transport-security"),
    )
    with preview(tmp_path, authority, site) as pv:
        launch = pv.run("launch")
        demo = pv.run("demo")
    weak = launch.only("http.headers.hsts-weak")
    assert "max-age is 300s" in weak["message"] and "includeSubDomains is missing" in weak["message"]
    assert demo.findings == []


def test_unsafe_inline_scripts_fail_only_at_launch_and_nonces_make_them_safe(
    tmp_path: Path, authority: Authority
) -> None:
    inline = "default-src 'self'; script-src 'self' 'unsafe-inline'; frame-ancestors 'none'"
    with_nonce = "script-src 'self' 'unsafe-inline' 'nonce-abc'; frame-ancestors 'none'"
    page = Response(200, INDEX, (*_without(HTML, "content-security-policy"), ("content-security-policy", inline)))
    safe = Response(200, ABOUT, (*_without(HTML, "content-security-policy"), ("content-security-policy", with_nonce)))
    with preview(tmp_path, authority, clean_site(**{"/": page, "/about": safe})) as pv:
        launch = pv.run("launch")
        demo = pv.run("demo")
    finding = launch.only("http.headers.csp-unsafe-inline")
    assert finding["location"]["url"].endswith(f"{pv.port}/")
    assert demo.findings == []


def test_meta_csp_counts_but_frame_ancestors_in_meta_does_not(tmp_path: Path, authority: Authority) -> None:
    page = INDEX.replace("<head>", f'<head><meta http-equiv="Content-Security-Policy" content="{CSP}">')
    site = clean_site(**{"/": Response(200, page, _without(HTML, "content-security-policy"))})
    with preview(tmp_path, authority, site) as pv:
        report = pv.run("launch")
    assert report.rules == {"http.headers.framing-unprotected"}


def test_leaking_headers_are_reported_but_a_bare_server_name_is_not(tmp_path: Path, authority: Authority) -> None:
    site = clean_site(
        **{
            "/": Response(200, INDEX, (*HTML, ("x-powered-by", "Express"), ("server", "nginx/1.18.0"))),
            "/about": Response(200, ABOUT, (*HTML, ("server", "nginx"))),
        }
    )
    with preview(tmp_path, authority, site) as pv:
        report = pv.run("launch")
    leaks = [f for f in report.findings if f["rule_id"] == "http.headers.leaks-version"]
    assert sorted(f["message"] for f in leaks) == [
        "Responses send `server: nginx/1.18.0`.",
        "Responses send `x-powered-by: Express`.",
    ]
    assert report.rules == {"http.headers.leaks-version"}


@pytest.mark.parametrize(
    ("body", "name"),
    [
        (
            'Traceback (most recent call last):\n  File "/app/main.py", line 3, in <module>\nKeyError: x',
            "Python traceback",
        ),
        ("TypeError: x is undefined\n    at handler (/srv/app/routes/user.js:41:13)\n", "Node.js stack"),
        (
            "java.lang.NullPointerException\n\tat com.acme.api.UserController.get(UserController.java:42)\n",
            "Java stack",
        ),
    ],
)
def test_stack_trace_in_an_error_body_is_high(tmp_path: Path, authority: Authority, body: str, name: str) -> None:
    site = clean_site()
    site.fallback = Response(500, body, (("content-type", "text/plain"),))
    with preview(tmp_path, authority, site) as pv:
        report = pv.run("launch")
    finding = report.only("http.errors.stack-trace")
    assert name in finding["message"] and finding["severity"] == "high"
    assert report.rules == {"http.errors.stack-trace"}


def test_session_cookie_flags(tmp_path: Path, authority: Authority) -> None:
    cookies = (
        ("set-cookie", "sessionid=abc; Path=/"),
        ("set-cookie", "theme=dark; Path=/"),  # not a session cookie: no rule applies
        ("set-cookie", "auth_token=; Max-Age=0; Path=/"),  # being deleted: nothing to protect
    )
    with preview(tmp_path, authority, clean_site(**{"/about": Response(200, ABOUT, (*HTML, *cookies))})) as pv:
        report = pv.run("launch")
    assert report.rules == {"http.cookies.not-secure", "http.cookies.not-httponly", "http.cookies.no-samesite"}
    assert all("`sessionid`" in f["message"] for f in report.findings)


def test_set_cookie_on_a_publicly_cacheable_response(tmp_path: Path, authority: Authority) -> None:
    headers = (
        *_without(HTML, "cache-control"),
        ("cache-control", "public, max-age=600"),
        ("set-cookie", "prefs=1; Secure; HttpOnly; SameSite=Lax"),
    )
    with preview(tmp_path, authority, clean_site(**{"/about": Response(200, ABOUT, headers)})) as pv:
        report = pv.run("launch")
    finding = report.only("http.cache.set-cookie-cacheable")
    assert "prefs" in finding["message"] and "public" in finding["message"]
    assert report.rules == {"http.cache.set-cookie-cacheable"}


def test_set_cookie_kept_out_of_shared_caches_by_a_quoted_no_cache_list_passes(
    tmp_path: Path, authority: Authority
) -> None:
    headers = (
        *_without(HTML, "cache-control"),
        ("cache-control", 'public, max-age=600, no-cache="Authorization, Set-Cookie"'),
        ("set-cookie", 'session="a;b"; Path=/; Secure; HttpOnly; SameSite=Lax'),
    )
    with preview(tmp_path, authority, clean_site(**{"/about": Response(200, ABOUT, headers)})) as pv:
        report = pv.run("launch")
    assert report.findings == []


def _me_with(extra: tuple[tuple[str, str], ...], cache: str = "private, no-store", hits: bool = False) -> Any:
    served = [0]

    def handler(request: Request) -> Response:
        headers = (*JSON, ("cache-control", cache), *extra)
        if hits:
            served[0] += 1
            headers += (("x-vercel-cache", "HIT" if served[0] > 1 else "MISS"),)
        if request.method == "OPTIONS":
            return Response(204, b"", tuple((n, v) for n, v in headers if n.startswith("access-control")) + extra)
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return Response(401, '{"error":"unauthorized"}', headers)
        return Response(200, '{"id": 1}', headers)

    return handler


def _reflect(credentials: bool) -> Any:
    def handler(request: Request) -> Response:
        headers: tuple[tuple[str, str], ...] = (*JSON, ("cache-control", "private, no-store"))
        origin = request.headers.get("origin")
        if origin:
            headers += (("access-control-allow-origin", origin),)
            if credentials:
                headers += (("access-control-allow-credentials", "true"),)
        return Response(
            204 if request.method == "OPTIONS" else 200, b"" if request.method == "OPTIONS" else "{}", headers
        )

    return handler


def test_cors_reflecting_any_origin_with_credentials_is_high(tmp_path: Path, authority: Authority) -> None:
    site = clean_site(**{"/api/me": _reflect(credentials=True)})
    with preview(tmp_path, authority, site) as pv:
        report = pv.run("launch")
    reflected = report.only("http.cors.reflected-origin")
    null = report.only("http.cors.null-origin")
    assert reflected["severity"] == null["severity"] == "high"
    assert reflected["location"]["route"] == "/api/me"
    # The write route was only ever asked with a preflight: the gate performs no writes.
    assert all(r.method in ("GET", "OPTIONS") for r in site.requests if r.path == "/api/me")
    assert any(
        r.method == "OPTIONS" and r.headers.get("access-control-request-method") == "PATCH" for r in site.requests
    )


def test_cors_reflection_without_credentials_is_medium(tmp_path: Path, authority: Authority) -> None:
    with preview(tmp_path, authority, clean_site(**{"/api/me": _reflect(credentials=False)})) as pv:
        report = pv.run("launch")
    assert report.only("http.cors.reflected-origin")["severity"] == "medium"


def test_cors_wildcard_with_credentials(tmp_path: Path, authority: Authority) -> None:
    wildcard = (("access-control-allow-origin", "*"), ("access-control-allow-credentials", "true"))
    with preview(tmp_path, authority, clean_site(**{"/api/me": _me_with(wildcard)})) as pv:
        report = pv.run("launch")
    assert report.rules == {"http.cors.wildcard-credentials"}


def test_cors_is_only_judged_on_routes_marked_authenticated(tmp_path: Path, authority: Authority) -> None:
    site = clean_site(**{"/api/health": _reflect(credentials=True)})
    with preview(tmp_path, authority, site) as pv:
        report = pv.run("launch")
    assert report.findings == []


@pytest.mark.parametrize("cache", ["public, max-age=60", "s-maxage=300"])
def test_authenticated_response_marked_shared_cacheable_is_high(
    tmp_path: Path, authority: Authority, cache: str
) -> None:
    with preview(tmp_path, authority, clean_site(**{"/api/me": _me_with((), cache=cache)})) as pv:
        report = pv.run("launch")
    finding = report.only("http.cache.private-cacheable")
    assert finding["severity"] == "high" and cache.split(",")[0].split("=")[0] in finding["message"]


def test_authenticated_response_without_private_or_no_store_is_medium(tmp_path: Path, authority: Authority) -> None:
    with preview(tmp_path, authority, clean_site(**{"/api/me": _me_with((), cache="no-cache")})) as pv:
        report = pv.run("launch")
    assert report.only("http.cache.private-cacheable")["severity"] == "medium"


def test_authenticated_response_served_from_the_edge_cache_is_critical(tmp_path: Path, authority: Authority) -> None:
    with preview(tmp_path, authority, clean_site(**{"/api/me": _me_with((), hits=True)})) as pv:
        report = pv.run("launch")
    finding = report.only("http.cache.private-served-from-cache")
    assert finding["severity"] == "critical" and "x-vercel-cache: HIT" in finding["message"]


def test_without_a_token_private_caching_is_said_to_be_unchecked(tmp_path: Path, authority: Authority) -> None:
    with preview(tmp_path, authority) as pv:
        pv.section.pop("auth_token_env")
        report = pv.run("launch", env={})
    finding = report.only("http.cache.private-unchecked")
    assert finding["severity"] == "info" and finding["blocking"] is False
    assert report.outcome.exit_code == 0


def test_the_token_never_appears_in_any_output(tmp_path: Path, authority: Authority) -> None:
    # A server that echoes the Authorization header into its body and a header.
    def echo(request: Request) -> Response:
        token = request.headers.get("authorization", "")
        return Response(200, f'{{"you": "{token}"}}', (*JSON, ("cache-control", "public"), ("x-debug-auth", token)))

    with preview(tmp_path, authority, clean_site(**{"/api/me": echo})) as pv:
        report = pv.run("launch")
    assert "http.cache.private-cacheable" in report.rules
    assert TOKEN not in report.outcome.output


def test_hashed_assets_need_long_immutable_caching_at_launch(tmp_path: Path, authority: Authority) -> None:
    short = Response(200, "body{}", (("content-type", "text/css"), ("cache-control", "public, max-age=600")))
    with preview(tmp_path, authority, clean_site(**{"/assets/site-9b8c7d6e.css": short})) as pv:
        launch = pv.run("launch")
        prototype = pv.run("prototype")
    finding = launch.only("http.edge.static-short-cache")
    assert "max-age is 600s" in finding["message"] and "immutable is missing" in finding["message"]
    assert prototype.findings == []


def test_no_cdn_is_reported_where_the_preset_requires_one(tmp_path: Path, authority: Authority) -> None:
    site = clean_site()
    site.common_headers = _without(SECURITY, "x-vercel-id")
    with preview(tmp_path, authority, site) as pv:
        launch = pv.run("launch")
        demo = pv.run("demo")
    assert launch.rules == {"http.edge.no-cdn"}
    assert demo.findings == []


def test_static_assets_that_always_reach_the_origin_behind_a_cdn(tmp_path: Path, authority: Authority) -> None:
    miss = Response(
        200,
        "export {}",
        (
            ("content-type", "text/javascript"),
            ("cache-control", "public, max-age=31536000, immutable"),
            ("x-vercel-cache", "MISS"),
        ),
    )
    with preview(tmp_path, authority, clean_site(**{"/assets/app-3f9a1c2b.js": miss})) as pv:
        report = pv.run("launch")
    assert report.rules == {"http.edge.static-not-cached"}
    assert "Vercel" in report.only("http.edge.static-not-cached")["message"]


def _alias_site(port_holder: list[int], alias_answer: Any) -> Site:
    """The clean site, but requests for the alias host get `alias_answer`."""
    site = clean_site()
    inner = site.answer

    def answer(request: Request) -> Response:
        if request.host.startswith("127.0.0.1"):
            site.requests.append(request)
            return alias_answer(request, port_holder[0]) if callable(alias_answer) else alias_answer
        return inner(request)

    site.answer = answer  # type: ignore[method-assign]
    return site


_HOPS = itertools.count()


def _redirect(location: str) -> Response:
    return Response(301, b"", (("location", location),))


@pytest.mark.parametrize(
    ("answer", "rule"),
    [
        (lambda r, port: _redirect(f"https://localhost:{port}{r.path}"), None),
        (
            lambda r, port: (
                _redirect(f"https://127.0.0.1:{port}/step")
                if r.path == "/"
                else _redirect(f"https://localhost:{port}/")
            ),
            "http.redirect.multi-hop",
        ),
        (lambda r, port: Response(200, INDEX, HTML), "http.redirect.alias-not-redirected"),
        (
            lambda r, port: (
                _redirect(f"https://127.0.0.1:{port}/a") if r.path == "/" else _redirect(f"https://127.0.0.1:{port}/")
            ),
            "http.redirect.loop",
        ),
        (lambda r, port: _redirect(f"http://localhost:{port}/"), "http.redirect.downgrade"),
        (
            lambda r, port: (
                _redirect(f"https://127.0.0.1:{port}/home") if r.path == "/" else Response(200, INDEX, HTML)
            ),
            "http.redirect.not-canonical",
        ),
        (lambda r, port: _redirect(f"https://127.0.0.1:{port}/{next(_HOPS)}"), "http.redirect.too-long"),
    ],
    ids=["one-hop", "two-hops", "served-directly", "loop", "downgrade", "elsewhere", "endless"],
)
def test_alias_hosts_must_reach_the_canonical_host_in_one_clean_hop(
    tmp_path: Path, authority: Authority, answer: Any, rule: str | None
) -> None:
    port: list[int] = []
    with preview(tmp_path, authority, _alias_site(port, answer)) as pv:
        port.append(pv.port)
        report = pv.run("launch", canonical_host=pv.host, aliases=[f"127.0.0.1:{pv.port}"])
    redirect_rules = {r for r in report.rules if r.startswith("http.redirect.")}
    assert redirect_rules == ({rule} if rule else set()), report.findings


def test_alias_served_directly_says_it_is_the_same_content(tmp_path: Path, authority: Authority) -> None:
    port: list[int] = []
    site = _alias_site(port, lambda r, p: Response(200, INDEX, HTML))
    with preview(tmp_path, authority, site) as pv:
        port.append(pv.port)
        report = pv.run("launch", canonical_host=pv.host, aliases=[f"127.0.0.1:{pv.port}"])
    assert "same content" in report.only("http.redirect.alias-not-redirected")["message"]


def test_routes_section_keeps_a_shape_the_flow_check_can_extend(tmp_path: Path, authority: Authority) -> None:
    # Unknown route keys are refused with a position, so a typo never silently drops a check.
    with preview(tmp_path, authority) as pv:
        report = pv.run("launch", routes=[*ROUTES, {"path": "/api/x", "clas": "read"}])
    assert report.outcome.exit_code == 2
    assert "unknown key 'clas'" in report.outcome.stderr and "did you mean 'class'" in report.outcome.stderr


def test_an_alias_redirecting_off_the_declared_hosts_is_not_followed(tmp_path: Path, authority: Authority) -> None:
    elsewhere = Site(fallback=Response(200, INDEX, HTML))
    with serve(elsewhere) as other_port:
        port: list[int] = []
        site = _alias_site(port, lambda r, p: _redirect(f"https://localhost:{other_port}/"))
        with preview(tmp_path, authority, site) as pv:
            port.append(pv.port)
            report = pv.run("launch", canonical_host=pv.host, aliases=[f"127.0.0.1:{pv.port}"])
    assert "outside the declared hosts" in report.only("http.redirect.not-canonical")["message"]
    assert elsewhere.requests == []


@pytest.mark.parametrize("status", [401, 403])
def test_a_preview_that_refuses_the_gate_cannot_be_passed(tmp_path: Path, authority: Authority, status: int) -> None:
    site = clean_site(**{"/": Response(status, "Authentication required", (("content-type", "text/html"),))})
    with preview(tmp_path, authority, site) as pv:
        report = pv.run("launch")
    assert report.outcome.exit_code == 3
    assert report.error is not None and f"HTTP {status}" in report.error and "bypass_header" in report.error


def test_hsts_without_max_age_is_ignored_by_browsers(tmp_path: Path, authority: Authority) -> None:
    site = clean_site()
    site.common_headers = (
        ("strict-transport-security", "includeSubDomains"),
        *_without(SECURITY, "strict-transport-security"),
    )
    with preview(tmp_path, authority, site) as pv:
        report = pv.run("demo")
    assert "no max-age" in report.only("http.headers.hsts-weak")["message"]


def test_a_refused_token_is_said_not_passed(tmp_path: Path, authority: Authority) -> None:
    with preview(tmp_path, authority) as pv:
        report = pv.run("launch", env={"GATE_APP_TOKEN": "tok_expired_000000000000000000000000"})
    finding = report.only("http.cache.private-unchecked")
    assert "/api/me (HTTP 401)" in finding["message"]
    assert "tok_expired" not in report.outcome.output


def test_a_redirect_loop_on_a_deep_page_blocks_and_shows_its_chain(tmp_path: Path, authority: Authority) -> None:
    def hop(target: str) -> Response:
        return Response(301, b"", (("location", target),))

    site = clean_site(
        **{
            "/pricing": hop("/pricing/"),
            "/pricing/": hop("/plans"),
            "/plans": hop("/pricing"),
            "/api/loop": hop("/api/loop"),
        }
    )
    with preview(tmp_path, authority, site) as pv:
        report = pv.run("launch", pages=["/", "/pricing"], routes=[*ROUTES, {"path": "/api/loop"}])
    loops = {f["location"]["url"]: f for f in report.findings if f["rule_id"] == "http.redirect.loop"}
    page = loops[f"https://{pv.host}/pricing"]
    assert page["blocking"] is True and page["severity"] == "critical"
    # The whole chain, every hop, until the URL repeats.
    assert page["details"]["chain"] == " -> ".join(
        f"https://{pv.host}{path}" for path in ("/pricing", "/pricing/", "/plans", "/pricing")
    )
    assert f"https://{pv.host}/api/loop" in loops
    assert report.outcome.exit_code == 1


def test_a_redirect_loop_behind_the_plain_http_entry_is_found(tmp_path: Path, authority: Authority) -> None:
    port: list[int] = []

    def plain(request: Request) -> Response:
        # The root redirects to https as it should; /pricing bounces between two plain-HTTP URLs.
        if request.path == "/pricing":
            return Response(302, b"", (("location", f"http://localhost:{port[0]}/pricing?again"),))
        if request.path == "/pricing?again":
            return Response(302, b"", (("location", "/pricing"),))
        return Response(308, b"", (("location", f"https://localhost:{port[1]}{request.path}"),))

    with serve(Site(fallback=plain)) as http_port:
        port.append(http_port)
        with preview(tmp_path, authority, http=None) as pv:
            port.append(pv.port)
            report = pv.run("launch", pages=["/", "/pricing"], http_port=http_port)
    (loop,) = [f for f in report.findings if f["rule_id"] == "http.redirect.loop"]
    assert loop["location"]["url"] == f"http://localhost:{http_port}/pricing"
    assert loop["details"]["chain"].count(" -> ") == 2


def test_an_endless_chain_off_a_declared_page_is_cut_at_the_bound(tmp_path: Path, authority: Authority) -> None:
    def deeper(request: Request) -> Response:
        return Response(302, b"", (("location", f"{request.path}x"),))

    site = clean_site()
    inner = site.answer

    def answer(request: Request) -> Response:
        if request.path.startswith("/deep"):
            site.requests.append(request)
            return deeper(request)
        return inner(request)

    site.answer = answer  # type: ignore[method-assign]
    with preview(tmp_path, authority, site) as pv:
        report = pv.run("launch", pages=["/", "/deep"], limits={"timeout": "5s", "max_redirects": 3})
    # Entered over https and over plain HTTP: each entry is its own chain, each cut at the bound.
    chains = {f["location"]["url"]: f for f in report.findings if f["rule_id"] == "http.redirect.too-long"}
    assert set(chains) == {f"https://{pv.host}/deep", f"http://localhost:{pv.http_port}/deep"}
    for finding in chains.values():
        assert "bound: 3" in finding["message"] and finding["details"]["chain"].count(" -> ") == 4
    # Each of the three walks (https, plain HTTP, the crawl) stops at the bound.
    assert len([r for r in site.requests if r.path.startswith("/deep")]) <= 3 * 4


def test_a_second_host_without_hsts_beside_one_with_include_subdomains(tmp_path: Path, authority: Authority) -> None:
    # One TLS server for both names, as platforms serve them: app.localhost lacks HSTS although
    # localhost sends includeSubDomains, and sets its session cookie without flags.
    site = clean_site()
    site.common_headers = _without(SECURITY, "strict-transport-security")
    inner = site.answer

    def answer(request: Request) -> Response:
        response = inner(request)
        if request.host.startswith("app.localhost"):
            extra = (("set-cookie", "sessionid=abc; Path=/"),)
            kept = tuple(h for h in response.headers if h[0] != "set-cookie")
        else:
            extra = (("strict-transport-security", "max-age=63072000; includeSubDomains; preload"),)
            kept = response.headers
        return Response(response.status, response.body, kept + extra)

    site.answer = answer  # type: ignore[method-assign]
    with preview(tmp_path, authority, site, leaf=authority.leaf("localhost", "app.localhost")) as pv:
        report = pv.run("launch", hosts=[pv.host, f"app.localhost:{pv.port}"], http_port={"*": pv.http_port})
    app = {f["rule_id"] for f in report.findings if f["location"]["url"].startswith("https://app.localhost:")}
    assert app == {
        "http.headers.hsts-missing",
        "http.cookies.not-secure",
        "http.cookies.not-httponly",
        "http.cookies.no-samesite",
    }, report.findings
    hsts = next(f for f in report.findings if f["rule_id"] == "http.headers.hsts-missing")
    assert "localhost sends includeSubDomains" in hsts["message"]
    # The main host is clean: every finding is about the second host.
    assert all("app.localhost" in f["location"]["url"] for f in report.findings), report.findings


def test_an_authenticated_route_that_loops_only_when_signed_in_is_found(tmp_path: Path, authority: Authority) -> None:
    def me(request: Request) -> Response:
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return Response(401, '{"error":"unauthorized"}', (*JSON, ("cache-control", "no-store")))
        target = "/api/me/" if request.path == "/api/me" else "/api/me"
        return Response(302, b"", (("location", target), ("cache-control", "no-store")))

    port: list[int] = []

    def upgrade(request: Request) -> Response:
        return Response(308, b"", (("location", f"https://localhost:{port[0]}{request.path}"),))

    plain = Site(fallback=upgrade)
    site = clean_site(**{"/api/me": me, "/api/me/": me})
    with preview(tmp_path, authority, site, http=plain) as pv:
        port.append(pv.port)
        report = pv.run("launch")
    loop = report.only("http.redirect.loop")
    assert loop["location"]["url"] == f"https://{pv.host}/api/me"
    assert loop["details"]["chain"].endswith("/api/me/ -> " + f"https://{pv.host}/api/me")
    # The plain-HTTP entry of the same route was followed too, and never with the token.
    assert "/api/me" in {r.path for r in plain.requests}
    assert all("authorization" not in r.headers for r in plain.requests)
