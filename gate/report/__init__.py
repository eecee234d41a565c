"""Reporters render a verdict; they decide nothing. Registry: one line per format.

Everything a reporter produces goes through `gate.redact.scrub` here, and files are written
whole or not at all, so a crash never leaves a half report that a later step could misread.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from gate.model import Verdict
from gate.redact import scrub
from gate.report.places import ConfigPlaces

if TYPE_CHECKING:
    # Only a type here: importing gate.checks would load every check for `gate --help`.
    from gate.checks.base import RuleDoc


@dataclass(frozen=True)
class ReportInput:
    verdict: Verdict
    rules: Mapping[str, RuleDoc]
    tool_version: str
    color: bool = False
    # Where gate.yml declared each URL, route and host; findings without a file point there.
    places: ConfigPlaces = field(default_factory=ConfigPlaces.none)


Renderer = Callable[[ReportInput], str]


def _registry() -> dict[str, Renderer]:
    from gate.report import console, json_report, junit, sarif

    return {
        "console": console.render,
        "json": json_report.render,
        "sarif": sarif.render,
        "junit": junit.render,
    }


FORMATS = ("console", "json", "sarif", "junit")


def render(fmt: str, report: ReportInput) -> str:
    return scrub(_registry()[fmt](report))


def write_atomically(path: Path, text: str) -> None:
    """Write to a temp file beside `path` and rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
