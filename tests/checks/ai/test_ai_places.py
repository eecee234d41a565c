"""An ai finding points at the gate.yml line that declared its route."""

from __future__ import annotations

from pathlib import Path

from gate.checks.ai.rules import RULES
from gate.config.yamlpos import load_text
from gate.model import Location
from gate.report.places import ConfigPlaces

CONFIG = """\
version: 1
checks:
  http:
    url: https://preview.example.com/
  ai:
    routes:
      - name: support bot
        path: /api/chat
      - path: /v1/chat/completions
        format: chat
"""


def test_ai_findings_land_on_their_routes_path_line(tmp_path: Path) -> None:
    config = tmp_path / "gate.yml"
    config.write_text(CONFIG)
    places = ConfigPlaces.of(load_text(CONFIG, config), config, tmp_path)
    for route, line in (("support bot", 8), ("POST /v1/chat/completions", 9)):
        location = Location(url="https://preview.example.com/x", route=route)
        place = places.declared(RULES.finding("ai.canary.system-prompt", "m", location=location))
        assert place is not None and (place.path, place.line) == ("gate.yml", line)
