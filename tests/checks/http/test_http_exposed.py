"""Exposed files are reported only when the response really is the file: content signatures, and no
false alarm from sites that answer every path with 200 (soft 404)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gate.demo.webserver import Request, Response
from tests.support.http_sites import (  # noqa: F401 - the fixtures register by being imported
    HTML,
    INDEX,
    Authority,
    authority_fixture,
    clean_site,
    preview,
)

TEXT = (("content-type", "text/plain"),)
ENV_FILE = "DATABASE_URL=postgres://app:hunter2hunter2@db.internal:5432/app\nSTRIPE_SECRET_KEY=sk_live_x\n"
GIT_CONFIG = (
    '[core]\n\trepositoryformatversion = 0\n\tbare = false\n[remote "origin"]\n\turl = git@github.com:acme/app.git\n'
)


@pytest.mark.parametrize(
    ("path", "body", "severity"),
    [
        ("/.env", ENV_FILE, "critical"),
        ("/.git/config", GIT_CONFIG, "critical"),
        ("/.git/HEAD", "ref: refs/heads/main\n", "high"),
        ("/.DS_Store", b"\x00\x00\x00\x01Bud1\x00\x00\x10\x00", "low"),
        ("/dump.sql", "-- MySQL dump 10.13\nCREATE TABLE `users` (id int);\n", "critical"),
        ("/backup.zip", b"PK\x03\x04\x14\x00\x00\x00", "high"),
    ],
)
def test_a_really_exposed_file_is_reported_with_its_severity(
    tmp_path: Path, authority: Authority, path: str, body: str | bytes, severity: str
) -> None:
    with preview(
        tmp_path, authority, clean_site(**{path: Response(200, body, (("content-type", "application/octet-stream"),))})
    ) as pv:
        report = pv.run("launch")
    finding = report.only("http.exposed.file")
    assert finding["severity"] == severity and finding["location"]["url"].endswith(path)
    assert report.rules == {"http.exposed.file"}
    # The file's content is never quoted: it may hold credentials.
    assert "hunter2hunter2" not in report.outcome.output


def test_soft_404_site_yields_no_exposed_file(tmp_path: Path, authority: Authority) -> None:
    # A single-page app host: every unknown path gets the app's HTML with 200.
    site = clean_site()
    site.fallback = Response(200, INDEX, HTML)
    with preview(tmp_path, authority, site) as pv:
        report = pv.run("launch")
    assert not {r for r in report.rules if r.startswith("http.exposed")}
    assert {"/.env", "/.git/config"} <= {r.path for r in site.requests}


def test_catch_all_that_echoes_the_path_as_text_is_not_a_file(tmp_path: Path, authority: Authority) -> None:
    # A text 200 that mentions the path (and happens to contain `[core]`-like and KEY= text) is
    # still the site's answer to everything, which the random-path baseline shows.
    def echo(request: Request) -> Response:
        return Response(200, f"No page at {request.path}.\nSTATUS=missing\n[core]\nref: refs/heads/main\n", TEXT)

    site = clean_site()
    site.fallback = echo
    with preview(tmp_path, authority, site) as pv:
        report = pv.run("launch")
    assert not {r for r in report.rules if r.startswith("http.exposed")}


def test_an_html_page_at_a_file_path_is_not_the_file(tmp_path: Path, authority: Authority) -> None:
    # An HTML login page served at /.env (a different page from the 404) has no signature of it.
    login = "<!doctype html><title>Sign in</title><form>TOKEN=<input name=t></form>"
    with preview(tmp_path, authority, clean_site(**{"/.env": Response(200, login, HTML)})) as pv:
        report = pv.run("launch")
    assert "http.exposed.file" not in report.rules


def test_server_status_page_is_reported_even_as_html(tmp_path: Path, authority: Authority) -> None:
    page = "<html><head><title>Apache Status</title></head><body><h1>Apache Server Status for localhost</h1>"
    with preview(tmp_path, authority, clean_site(**{"/server-status": Response(200, page, HTML)})) as pv:
        report = pv.run("launch")
    assert report.only("http.exposed.file")["severity"] == "medium"


def test_exposed_file_probes_can_be_turned_off(tmp_path: Path, authority: Authority) -> None:
    site = clean_site(**{"/.env": Response(200, ENV_FILE, TEXT)})
    with preview(tmp_path, authority, site) as pv:
        report = pv.run("launch", exposed_files=False)
    assert report.findings == []
    assert "/.env" not in {r.path for r in site.requests}


def test_fingerprints_survive_a_new_preview_url(tmp_path: Path, authority: Authority) -> None:
    # Every deploy gets a new preview host; a reviewed suppression must still match.
    site = clean_site(**{"/.env": Response(200, ENV_FILE, TEXT), "/about": Response(200, "<html></html>", HTML[:1])})
    with preview(tmp_path, authority, site) as first, preview(tmp_path, authority, site) as second:
        one = first.run("launch")
        two = second.run("launch")
    assert first.port != second.port
    assert one.rules == two.rules and len(one.findings) >= 3
    assert {f["fingerprint"] for f in one.findings} == {f["fingerprint"] for f in two.findings}
