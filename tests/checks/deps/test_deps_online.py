"""Online: pip-audit's PyPI and OSV services and the OSV query API, against a real loopback server.

Whatever the service cannot answer ends in exit 3 and says why; a package the service skips is
counted and named, and a run where every package was skipped is never a pass.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.support.deps_support import check, findings, osv_api, project, record, unaudited, vulnerable

JINJA = record(
    "PYSEC-2019-217",
    "PyPI",
    "jinja2",
    ["2.10"],
    "2.10.1",
    aliases=["CVE-2019-10906", "GHSA-462w-v97r-4m45"],
    summary="In Pallets Jinja before 2.10.1, str.format_map allows a sandbox escape.",
    severity=[{"type": "CVSS_V3", "score": "CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:N/A:N"}],
)
MINIMIST = record(
    "GHSA-xvch-5gv4-984h",
    "npm",
    "minimist",
    ["1.2.5"],
    "1.2.6",
    aliases=["CVE-2021-44906"],
    summary="Prototype Pollution in minimist",
    database_specific={"severity": "CRITICAL"},
)
LODASH_A = record(
    "GHSA-p6mc-m468-83gw", "npm", "lodash", ["4.17.15"], "4.17.19", summary="Prototype Pollution in lodash"
)
LODASH_B = record("GHSA-29mw-wpgm-hmr9", "npm", "lodash", ["4.17.15"], "4.17.21", summary="ReDoS in lodash")
RECORDS = [JINJA, MINIMIST, LODASH_A, LODASH_B]

LOCK = json.dumps(
    {
        "name": "app",
        "lockfileVersion": 3,
        "packages": {
            "": {"name": "app"},
            "node_modules/minimist": {"version": "1.2.5"},
            "node_modules/lodash": {"version": "4.17.15"},
            "node_modules/left-pad": {"version": "1.3.0"},
        },
    },
    indent=2,
)


def _config(root: Path, url: str, service: str = "osv", timeout: str = "5s") -> Path:
    key = "pypi_url" if service == "pypi" else "osv_url"
    path = "/pypi/" if service == "pypi" else "/v1/query"
    return project(
        root,
        {
            "gate.yml": (
                f"version: 1\nchecks:\n  deps:\n    service: {service}\n"
                f"    {key}: {url}{path}\n    request_timeout: {timeout}\n"
            )
        },
    )


def test_python_through_pip_audits_osv_service_keeps_the_records_severity(tmp_path: Path) -> None:
    root = project(tmp_path, {"requirements.txt": "jinja2==2.10\nclick==8.1.7\n"})
    with osv_api(RECORDS) as api:
        outcome = check(_config(root, api.url))
    assert outcome.exit_code == 1
    assert vulnerable(outcome) == {("PYSEC-2019-217", "requirements.txt:1", "deps.vulnerable")}
    (finding,) = findings(outcome, "deps.vulnerable")
    assert (
        finding["severity"] == "high"
        and "CVSS 3.0 8.6" in finding["message"]
        and "Fixed in 2.10.1" in finding["message"]
    )
    # pip-audit's own request shape, one query per pinned package
    assert {"package": {"name": "click", "ecosystem": "PyPI"}, "version": "8.1.7"} in api.queries


def test_npm_through_the_osv_query_api_follows_pages(tmp_path: Path) -> None:
    root = project(tmp_path, {"package-lock.json": LOCK})
    with osv_api(RECORDS, mode="page") as api:
        outcome = check(_config(root, api.url))
    assert vulnerable(outcome) == {
        ("GHSA-xvch-5gv4-984h", "package-lock.json:8", "deps.vulnerable"),
        ("GHSA-p6mc-m468-83gw", "package-lock.json:11", "deps.vulnerable"),
        ("GHSA-29mw-wpgm-hmr9", "package-lock.json:11", "deps.vulnerable"),  # from the second page
    }
    assert any(q.get("page_token") == "page-2" for q in api.queries)
    minimist = next(f for f in findings(outcome) if f["details"].get("advisory") == "GHSA-xvch-5gv4-984h")
    assert minimist["severity"] == "critical" and "npm install minimist@1.2.6" in minimist["fix"]


@pytest.mark.parametrize("mode", ["error500", "bad-request", "not-json"])
@pytest.mark.parametrize(
    "files", [{"requirements.txt": "jinja2==2.10\n"}, {"package-lock.json": LOCK}], ids=["python", "npm"]
)
def test_a_failing_service_fails_closed(tmp_path: Path, mode: str, files: dict[str, str]) -> None:
    root = project(tmp_path, dict(files))
    with osv_api(RECORDS, mode=mode) as api:
        outcome = check(_config(root, api.url))
    assert outcome.exit_code == 3, outcome.output
    assert "OSV" in outcome.output


@pytest.mark.parametrize(
    "files", [{"requirements.txt": "jinja2==2.10\n"}, {"package-lock.json": LOCK}], ids=["python", "npm"]
)
def test_a_service_that_does_not_answer_in_time_fails_closed(tmp_path: Path, files: dict[str, str]) -> None:
    root = project(tmp_path, dict(files))
    with osv_api(RECORDS, mode="slow") as api:
        api.delay = 2.0
        started = time.monotonic()
        outcome = check(_config(root, api.url, timeout="300ms"))
    assert outcome.exit_code == 3, outcome.output
    assert time.monotonic() - started < 10
    assert "time" in outcome.output.lower()


def test_an_unreachable_service_fails_closed(tmp_path: Path) -> None:
    root = project(tmp_path, {"requirements.txt": "jinja2==2.10\n"})
    with osv_api(RECORDS) as api:
        url = api.url
    outcome = check(_config(root, url))  # the server is gone: connection refused
    assert outcome.exit_code == 3 and "could not be reached" in outcome.output


def test_pypi_answering_404_for_everything_is_not_a_pass(tmp_path: Path) -> None:
    # Plain pip-audit prints "No known vulnerabilities found" and exits 0 here.
    root = project(tmp_path, {"requirements.txt": "jinja2==2.10\nclick==8.1.7\n"})
    with osv_api(RECORDS, mode="pypi-404") as api:
        outcome = check(_config(root, api.url, service="pypi"))
    assert outcome.exit_code == 3
    assert "could not audit any of the 2 Python packages" in outcome.output


def test_pypi_skipping_some_packages_names_them_and_blocks_at_launch(tmp_path: Path) -> None:
    root = project(tmp_path, {"requirements.txt": "jinja2==2.10\nin-house-lib==1.0\n"})
    with osv_api(RECORDS, mode="pypi-partial") as api:
        outcome = check(_config(root, api.url, service="pypi"), "--preset", "launch")
        demo = check(root, "--preset", "demo")
    assert outcome.exit_code == 1
    assert vulnerable(outcome) == {("PYSEC-2019-217", "requirements.txt:1", "deps.vulnerable")}
    assert unaudited(outcome) == {"requirements.txt:2"}
    (skipped,) = findings(outcome, "deps.unaudited")
    assert skipped["blocking"] and "not found on PyPI" in skipped["message"]
    assert [f["blocking"] for f in findings(demo, "deps.unaudited")] == [False]


def test_credentials_in_a_mirror_url_never_reach_the_output(tmp_path: Path) -> None:
    root = project(tmp_path, {"requirements.txt": "jinja2==2.10\n", "package-lock.json": LOCK})
    with osv_api(RECORDS, mode="error500") as api:
        secret_url = api.url.replace("http://", "http://ci-bot:Mirr0rPassw0rd-8842@")
        outcome = check(_config(root, secret_url))
    assert outcome.exit_code == 3
    assert "Mirr0rPassw0rd-8842" not in outcome.output and "127.0.0.1" in outcome.output
