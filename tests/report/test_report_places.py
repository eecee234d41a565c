"""Findings about a URL, route, host or domain land on the gate.yml line that declared it.

Code scanning and check-run annotations need a file and a line; for these findings the file is
the config (wherever it is) and the line is the key that named the URL, route or host.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gate.config.yamlpos import load_text
from gate.model import Finding, Location, Severity
from gate.report.places import ConfigPlaces, Declared
from tests.support.helpers import gate, git, write_files

LAUNCH_YML = """\
version: 1
preset: launch
checks:
  http:
    enabled: true
    url: https://preview.example.com/
    hosts:
      - app.example.com
      - api.example.com
    aliases: [www.example.com]
    pages: [/, /pricing]
    login:
      path: /api/login
      fields: {email: GATE_EMAIL, password: GATE_PASSWORD}
    routes:
      - path: /api/me
        auth: true
      - name: feed
        path: /api/feed
  dns:
    enabled: true
    domain: example.com
    hosts:
      "@": {points_to: [76.76.21.21]}
      www: {points_to: [cname.vercel-dns.com]}
      staging: {exists: false}
"""


def _finding(check: str, **location: str) -> Finding:
    return Finding(
        rule_id=f"{check}.probe",
        check=check,
        severity=Severity.HIGH,
        title="Probe",
        message="probe",
        fix="fix",
        location=Location(**location),  # type: ignore[arg-type]
    )


@pytest.fixture
def places(tmp_path: Path) -> ConfigPlaces:
    config = tmp_path / "ci" / "launch.yml"
    config.parent.mkdir()
    config.write_text(LAUNCH_YML)
    return ConfigPlaces.of(load_text(LAUNCH_YML, config), config, tmp_path)


@pytest.mark.parametrize(
    ("check", "location", "line"),
    [
        ("http", {"url": "https://preview.example.com/api/me", "route": "/api/me"}, 16),
        ("http", {"url": "https://preview.example.com/api/feed"}, 19),
        ("http", {"route": "feed"}, 19),
        ("http", {"url": "https://preview.example.com/api/login"}, 13),
        ("http", {"url": "https://preview.example.com/pricing"}, 11),
        ("http", {"url": "https://api.example.com/", "name": "api.example.com"}, 9),
        ("http", {"url": "https://preview.example.com/robots.txt"}, 6),  # the preview itself
        ("dns", {"name": "staging.example.com"}, 26),
        ("dns", {"name": "www.example.com."}, 25),
        ("dns", {"name": "example.com"}, 24),
        ("dns", {"name": "mail.example.com"}, 22),  # not in the map: the domain key
        ("http", {"url": "https://www.example.com/", "name": "www.example.com"}, 10),  # an alias
    ],
)
def test_each_kind_of_place_maps_to_the_key_that_declared_it(
    places: ConfigPlaces, check: str, location: dict[str, str], line: int
) -> None:
    place = places.declared(_finding(check, **location))
    assert place is not None and (place.path, place.line) == ("ci/launch.yml", line)


def test_a_finding_with_a_file_or_a_config_outside_the_tree_is_not_moved(places: ConfigPlaces, tmp_path: Path) -> None:
    assert places.declared(_finding("http", path="src/app.py", url="https://x/")) is None
    outside = ConfigPlaces.of(load_text(LAUNCH_YML, Path("/elsewhere/x.yml")), Path("/elsewhere/x.yml"), tmp_path)
    assert outside.declared(_finding("http", url="https://preview.example.com/")) is None
    assert ConfigPlaces.none().declared(_finding("dns", name="example.com")) is None


def test_a_name_nothing_declared_points_at_the_checks_section(places: ConfigPlaces) -> None:
    assert places.declared(_finding("dns", name="elsewhere.org")) == Declared("ci/launch.yml", 20, 3)


@pytest.mark.usefixtures("fake_checks")
def test_sarif_and_annotations_carry_the_real_config_path_and_line(tmp_path: Path) -> None:
    config = (
        "version: 1\n"
        "checks:\n"
        "  env: {enabled: false}\n"
        "  deps: {enabled: false}\n"
        "  secrets: {enabled: false}\n"
        "  asyncslow:\n"
        "    enabled: true\n"
    )
    root = write_files(tmp_path / "repo", {"ci/launch.yml": config, "src/app.py": "x = 1\n"})
    git(root, "init", "-q")
    sarif = json.loads(gate("run", "--config", "ci/launch.yml", "--format", "sarif", cwd=root).stdout)
    [result] = next(r for r in sarif["runs"] if r["automationDetails"]["id"] == "launch-gate/asyncslow/")["results"]
    [location] = result["locations"]
    assert location["physicalLocation"]["artifactLocation"]["uri"] == "ci/launch.yml"
    assert location["physicalLocation"]["region"] == {"startLine": 6, "startColumn": 3}
    assert location["logicalLocations"][0]["fullyQualifiedName"] == "https://app.example.com/"
    assert "https://app.example.com/" in result["message"]["text"]

    outcome = gate("run", "--config", "ci/launch.yml", "--github", cwd=root, env={"GITHUB_WORKSPACE": str(root)})
    [notice] = [line for line in outcome.stdout.splitlines() if line.startswith("::notice") and "async note" in line]
    assert notice.startswith("::notice file=ci/launch.yml,line=6,col=3,")
    assert "Where: https%3A//app.example.com/" in notice or "Where: https://app.example.com/" in notice
