"""GitHub annotations: one workflow command per finding, placed on its file and line.

The runner shows at most 10 annotations of each level per step, so the
most severe go first and the rest are counted in one closing line instead of silently lost.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from gate.github.commands import Level, workflow_command
from gate.model import JudgedFinding, Severity
from gate.report.places import ConfigPlaces

LEVELS: tuple[Level, ...] = ("error", "warning", "notice")
PER_LEVEL_LIMIT = 10
# The runner cuts messages here; cutting ourselves keeps the cut away from an escape sequence.
MAX_MESSAGE = 4096
MAX_TITLE = 255


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class Annotation:
    level: Level
    message: str
    title: str
    path: str | None = None
    line: int | None = None
    end_line: int | None = None
    column: int | None = None

    def command(self) -> str:
        line, end_line, column = self.line, self.end_line, self.column
        # The runner drops columns unless the annotation sits on one line, and drops the
        # lines when endLine < line; send only what it will keep.
        if line is None or (end_line is not None and end_line < line):
            line = end_line = column = None
        if end_line is not None and end_line != line:
            column = None
        properties: dict[str, str | int | None] = {
            "file": self.path,
            "line": line,
            "endLine": end_line,
            "col": column,
            "title": _clip(self.title, MAX_TITLE),
        }
        return workflow_command(self.level, properties, _clip(self.message, MAX_MESSAGE))


def level_of(judged: JudgedFinding) -> Level:
    if judged.blocking:
        return "error"
    return "warning" if judged.finding.severity >= Severity.MEDIUM else "notice"


def workspace_path(path: str | None, root: Path, workspace: Path | None) -> str | None:
    """A finding's path (relative to the scanned root) as GitHub wants it: relative to the workspace."""
    if path is None:
        return None
    if workspace is None:
        return path
    try:
        return (root / path).resolve().relative_to(workspace.resolve()).as_posix()
    except ValueError:
        # Outside the workspace GitHub cannot place it on a file; it still shows on the run.
        return None


def annotation_for(
    judged: JudgedFinding, root: Path, workspace: Path | None, places: ConfigPlaces | None = None
) -> Annotation:
    """`places` puts a finding about a URL, route or host on the gate.yml line that declared it."""
    finding = judged.finding
    location = finding.location
    path = workspace_path(location.path, root, workspace)
    line, end_line, column = location.line, location.end_line, location.column
    declared = places.declared(finding) if places is not None else None
    if declared is not None:
        path = workspace_path(declared.path, root, workspace)
        line, end_line, column = declared.line, None, declared.column
    parts = [finding.message, f"Fix: {finding.fix}"]
    if finding.evidence:
        parts.append(f"Evidence: {finding.evidence}")
    if path is None or declared is not None:
        parts.append(f"Where: {location}")
    parts.append(f"Rule {finding.rule_id}, fingerprint {finding.fingerprint} (`gate explain {finding.rule_id}`)")
    return Annotation(
        level=level_of(judged),
        title=f"{finding.title} [{finding.rule_id}]",
        message="\n".join(parts),
        path=path,
        line=line if path else None,
        end_line=end_line if path else None,
        column=column if path else None,
    )


def _rank(judged: JudgedFinding) -> tuple[int, int]:
    return (LEVELS.index(level_of(judged)), -int(judged.finding.severity))


def annotation_lines(
    findings: Iterable[JudgedFinding],
    root: Path,
    workspace: Path | None,
    elsewhere: str,
    notices_used: int = 0,
    places: ConfigPlaces | None = None,
) -> list[str]:
    """At most 10 per level, most severe first; one closing notice counts what did not fit.

    `elsewhere` says where the rest can be read (job summary, check run, SARIF); `notices_used`
    is how many notices the step already printed, which count against the same limit.
    """
    limits = {"error": PER_LEVEL_LIMIT, "warning": PER_LEVEL_LIMIT, "notice": max(PER_LEVEL_LIMIT - notices_used, 1)}
    active = sorted((j for j in findings if not j.suppressed), key=_rank)
    shown: Counter[str] = Counter()
    hidden: Counter[str] = Counter()
    chosen: list[JudgedFinding] = []
    for judged in active:
        level = level_of(judged)
        if shown[level] < limits[level]:
            shown[level] += 1
            chosen.append(judged)
        else:
            hidden[level] += 1
    if hidden and shown["notice"] and shown["notice"] == limits["notice"]:
        # The closing line is itself a notice; make room for it so the runner shows it.
        dropped = next(j for j in reversed(chosen) if level_of(j) == "notice")
        chosen.remove(dropped)
        hidden["notice"] += 1
    lines = [annotation_for(j, root, workspace, places).command() for j in chosen]
    if hidden:
        total = hidden.total()
        parts = ", ".join(
            f"{hidden[level]} {level}{'s' if hidden[level] != 1 else ''}" for level in LEVELS if hidden[level]
        )
        lines.append(
            workflow_command(
                "notice",
                {"title": "launch-gate: more findings than annotations"},
                f"{total} more finding(s) ({parts}) are not shown as annotations: GitHub shows at most "
                f"{PER_LEVEL_LIMIT} per level in a step. Read them all in {elsewhere}.",
            )
        )
    return lines
