"""Assembles the handover page from gate.yml and the last report."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gate.config import Config
from gate.handover import sections
from gate.handover.document import Document


def build(config: Config, report: Mapping[str, Any]) -> Document:
    project = config.data.get("project", {}).get("name") or config.root.name
    target = report.get("target", {})
    facts = [
        ("Project", str(project)),
        ("Last report", str(report.get("started_at", ""))),
        ("Commit", str(target.get("commit") or "unknown")),
        ("Preset", str(report.get("preset", config.preset))),
        ("Verdict", str(report.get("verdict", ""))),
    ]
    return Document(
        f"Handover: {project}",
        facts,
        [
            sections.domains(config, report),
            sections.hosting(config),
            sections.mail(config, report),
            sections.environment(config),
            sections.secrets(report),
            sections.monitoring(config),
            *sections.playbooks(config),
            sections.risks(report),
            sections.not_checked(config, report),
        ],
    )
