"""Source: the lines a change adds, a pull request's (BASE...HEAD) or the index's (a pre-commit hook)."""

from __future__ import annotations

from collections.abc import Iterator

from gate.checks.base import Progress, Result
from gate.checks.secrets import gitcli, gitscan, patches
from gate.checks.secrets.findings import unscanned_findings
from gate.checks.secrets.hits import paired_occurrences
from gate.checks.secrets.session import ScanSession


def diff_findings(session: ScanSession, progress: Progress) -> Iterator[Result]:
    """Secrets on the lines added in the index against HEAD, or in the change since the merge base."""
    staged = session.staged
    against = "--cached" if staged else session.diff
    if not against:
        return
    scope = "the staged changes" if staged else against
    progress.update(f"scanning added lines of {scope}")
    what = ["--cached", "--"] if staged else gitcli.revisions(against)
    occurrences, skipped = gitscan.scan_patch_stream(
        session.root, ["diff", *patches.PATCH_FLAGS, *what], max_file_bytes=session.max_bytes, jobs=1
    )
    occurrences = paired_occurrences(occurrences, session.engine.detectors)
    yield from unscanned_findings(skipped)
    advice = (
        "Take it out of the change and read it from the environment: it has not left this machine yet."
        if staged
        else "Rotate it even if a later commit removes it."
    )
    for occurrence in occurrences:
        if session.keep(occurrence.path):
            title = session.engine.detectors[occurrence.hit.detector].title
            finding = session.make(
                occurrence.hit,
                occurrence.path,
                message=f"{title} added in this change at {occurrence.path}:{occurrence.hit.line}. {advice}",
                details={"source": "diff", "range": scope},
                source="staged" if staged else "committed",
            )
            session.reported.add(finding.fingerprint)
            session.in_diff.add((finding.fingerprint, occurrence.path))
            yield finding
