"""The bounded crawl of pages and client bundles: mixed content, local and staging API bases, public
source maps, and secrets through the secrets check's scanner."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from gate.demo.webserver import Response
from tests.support.http_sites import (  # noqa: F401 - the fixtures register by being imported
    APP_JS,
    HTML,
    INDEX,
    Authority,
    authority_fixture,
    clean_site,
    preview,
)

JS = (
    ("content-type", "text/javascript"),
    ("cache-control", "public, max-age=31536000, immutable"),
    ("x-vercel-cache", "HIT"),
)
APP = "/assets/app-3f9a1c2b.js"
# An AWS access key id in its real shape; not a live key.
AWS_KEY = "AKIAQ4XW7TZP2NBK5RJD"  # gate: allow - test fixture, not a live key  # pragma: allowlist secret


def _bundle(text: str) -> dict[str, Response]:
    return {APP: Response(200, text, JS)}


@pytest.mark.parametrize(
    "literal",
    ["http://localhost:3000/api", "http://127.0.0.1:8000", "https://10.0.3.7/v1", "ws://192.168.1.20:4000/socket"],
)
def test_bundle_pointing_at_a_local_or_private_api(tmp_path: Path, authority: Authority, literal: str) -> None:
    with preview(tmp_path, authority, clean_site(**_bundle(f'const API = "{literal}";\n' + APP_JS))) as pv:
        report = pv.run("launch")
    finding = report.only("http.bundle.local-api")
    assert literal in finding["message"] and finding["location"]["url"].endswith(APP)
    assert report.rules == {"http.bundle.local-api"}


def test_bundle_naming_a_staging_host_unless_allowed(tmp_path: Path, authority: Authority) -> None:
    code = 'const API = "https://staging-api.acme-app.com/v1";\nconst DOCS = "https://www.w3.org/2000/svg";\n'
    with preview(tmp_path, authority, clean_site(**_bundle(code + APP_JS))) as pv:
        report = pv.run("launch")
        allowed = pv.run("launch", crawl={"allow_hosts": ["staging-api.acme-app.com"]})
    assert "staging-api.acme-app.com" in report.only("http.bundle.staging-host")["message"]
    assert report.rules == {"http.bundle.staging-host"}
    assert allowed.findings == []


def test_mixed_content_active_is_high_and_passive_is_medium(tmp_path: Path, authority: Authority) -> None:
    page = INDEX.replace(
        "</body>",
        '<script src="http://cdn.example.net/lib.js"></script><img src="http://images.example.net/a.png">'
        '<form action="http://forms.example.net/signup"></form></body>',
    )
    with preview(tmp_path, authority, clean_site(**{"/": Response(200, page, HTML)})) as pv:
        report = pv.run("launch")
    found = sorted((f["severity"], f["message"]) for f in report.findings if f["rule_id"] == "http.mixed-content")
    assert found == [
        ("high", "Forms on the https page submit over plain HTTP: http://forms.example.net/signup."),
        ("high", "The https page loads 1 active sub-resource(s) over plain HTTP: http://cdn.example.net/lib.js."),
        ("medium", "The https page loads 1 passive sub-resource(s) over plain HTTP: http://images.example.net/a.png."),
    ]


def test_public_source_map_is_reported_when_it_really_is_one(tmp_path: Path, authority: Authority) -> None:
    source_map = json.dumps({"version": 3, "sources": ["src/app.ts"], "mappings": "AAAA", "sourcesContent": ["x"]})
    routes = {
        APP: Response(200, APP_JS + "//# sourceMappingURL=app-3f9a1c2b.js.map\n", JS),
        APP + ".map": Response(200, source_map, (("content-type", "application/json"),)),
    }
    with preview(tmp_path, authority, clean_site(**routes)) as pv:
        report = pv.run("launch")
    finding = report.only("http.exposed.source-map")
    assert finding["location"]["url"].endswith(".js.map")
    assert report.rules == {"http.exposed.source-map"}


def test_a_map_url_answered_with_html_is_not_a_source_map(tmp_path: Path, authority: Authority) -> None:
    site = clean_site()
    site.fallback = Response(200, INDEX, HTML)
    with preview(tmp_path, authority, site) as pv:
        report = pv.run("launch")
    assert "http.exposed.source-map" not in report.rules
    assert any(r.path.endswith(".js.map") for r in site.requests)


def test_crawl_is_bounded_by_script_count_and_stays_on_the_preview(tmp_path: Path, authority: Authority) -> None:
    page = INDEX.replace("</head>", '<script src="https://third-party.example.net/tag.js"></script></head>')
    site = clean_site(**{"/": Response(200, page, HTML)})
    with preview(tmp_path, authority, site) as pv:
        report = pv.run("launch", crawl={"max_scripts": 1})
    assert report.findings == []
    asked = [r.path for r in site.requests]
    assert APP in asked and "/assets/chunk-7e6d5c4b.js" not in asked


def test_crawl_follows_links_only_to_the_configured_depth(tmp_path: Path, authority: Authority) -> None:
    about = "<html><body><a href='/deep'>deeper</a></body></html>"
    deep = '<html><script src="/assets/deep-1a2b3c4d.js"></script></html>'
    deep_js = Response(200, 'fetch("http://localhost:9999/x")', JS)
    site = clean_site(
        **{
            "/about": Response(200, about, HTML),
            "/deep": Response(200, deep, HTML),
            "/assets/deep-1a2b3c4d.js": deep_js,
        }
    )
    with preview(tmp_path, authority, site) as pv:
        shallow = pv.run("launch", crawl={"depth": 1})
        deeper = pv.run("launch", crawl={"depth": 2})
    assert "http.bundle.local-api" not in shallow.rules
    assert "http.bundle.local-api" in deeper.rules


def test_bundles_fail_closed_when_the_secrets_scanner_is_missing(
    tmp_path: Path, authority: Authority, monkeypatch: pytest.MonkeyPatch
) -> None:
    # None in sys.modules makes the import raise ImportError, as in an install without the secrets check.
    monkeypatch.setitem(sys.modules, "gate.checks.secrets.scanner", None)
    with preview(tmp_path, authority) as pv:
        report = pv.run("launch")
    assert report.outcome.exit_code == 3
    assert report.error is not None and "could not be scanned for secrets" in report.error


def test_secret_in_a_bundle_and_its_source_map_is_found_by_the_secrets_scanner(
    tmp_path: Path, authority: Authority
) -> None:
    source_map = json.dumps(
        {
            "version": 3,
            "sources": ["src/config.ts"],
            "mappings": "AAAA",
            "sourcesContent": [f'export const awsKey = "{AWS_KEY}";\n'],
        }
    )
    routes = {
        APP: Response(200, f'const k="{AWS_KEY}";\n{APP_JS}//# sourceMappingURL=app-3f9a1c2b.js.map\n', JS),
        APP + ".map": Response(200, source_map, (("content-type", "application/json"),)),
    }
    with preview(tmp_path, authority, clean_site(**routes)) as pv:
        report = pv.run("launch")
    assert report.error is None, report.error
    secrets = [f for f in report.findings if f["rule_id"].startswith("secrets.")]
    places = {f["location"]["url"].split("#")[0].rsplit("/", 1)[-1] for f in secrets}
    assert places == {"app-3f9a1c2b.js", "app-3f9a1c2b.js.map"}
    assert all(f["check"] == "http" and f["blocking"] for f in secrets)
    assert AWS_KEY not in report.outcome.output


def test_page_parts_are_read_from_tolerant_html() -> None:
    from gate.checks.http.markup import parse_page

    html = """<html><head><base href="/app/">
    <meta http-equiv="content-security-policy" content="default-src 'self'">
    <link rel="modulepreload" href="chunk-1a2b3c4d.js"><link rel="icon" href="http://cdn.example.net/i.ico">
    <link rel="preload" as="script" href="/pre.js"><link rel="stylesheet" href="site.css">
    <script src="data:text/javascript,1"></script><script src="main.js"></script>
    </head><body><iframe src="http://ads.example.net/"></iframe><img src="javascript:void(0)">
    <a href="#top">top</a><a href="next">next</a><a href="mailto:a@b.c">mail</a>
    <form action="http://forms.example.net/submit"></form><div <p>unclosed"""
    parts = parse_page(html, "https://acme.test/index.html")
    assert parts.scripts == [
        "https://acme.test/app/chunk-1a2b3c4d.js",
        "https://acme.test/pre.js",
        "https://acme.test/app/main.js",
    ]
    assert parts.stylesheets == ["https://acme.test/app/site.css"]
    assert parts.links == ["https://acme.test/app/next"]
    assert parts.forms == ["http://forms.example.net/submit"]
    assert parts.meta_csp == ["default-src 'self'"]
    mixed = {(r.url, r.active) for r in parts.resources if r.url.startswith("http://")}
    assert mixed == {("http://cdn.example.net/i.ico", False), ("http://ads.example.net/", True)}


def test_a_source_map_bigger_than_the_cap_is_still_recognised(tmp_path: Path, authority: Authority) -> None:
    big = json.dumps({"version": 3, "sources": ["a.ts"], "sourcesContent": ["x" * 20_000], "mappings": "AAAA"})
    routes = {
        APP: Response(200, APP_JS + "//# sourceMappingURL=app-3f9a1c2b.js.map\n", JS),
        APP + ".map": Response(200, big, (("content-type", "application/json"),)),
    }
    with preview(tmp_path, authority, clean_site(**routes)) as pv:
        report = pv.run("launch", crawl={"max_script_bytes": 4096})
    assert report.rules == {"http.exposed.source-map"}


def test_a_page_with_a_flood_of_links_is_crawled_within_the_page_bound(tmp_path: Path, authority: Authority) -> None:
    links = "".join(f'<a href="/p{i}">{i}</a>' for i in range(20_000))
    site = clean_site(**{"/": Response(200, INDEX.replace("</body>", links + "</body>"), HTML)})
    site.fallback = Response(200, "<html><body>page</body></html>", HTML)
    with preview(tmp_path, authority, site) as pv:
        report = pv.run("launch", crawl={"max_pages": 4}, exposed_files=False)
    assert report.error is None
    # "/" (asked three times: wait, redirects, crawl), "/about", then the first two flood links.
    crawled = {r.path for r in site.requests if r.path == "/about" or r.path.startswith("/p")}
    assert crawled == {"/about", "/p0", "/p1"}
