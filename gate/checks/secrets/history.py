"""Source: git history, the commits in REV..HEAD or every commit of every ref (with what merges
add and what tags hold outside any commit). Each secret is reported once, at the commit that
introduced it, unless it is reported where it is now (diff, tree), with that commit attached."""

from __future__ import annotations

import datetime
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from gate import redact
from gate.checks.base import Progress, Result
from gate.checks.secrets import blobs, gitcli, gitscan, merges, tags
from gate.checks.secrets.files import FileHit
from gate.checks.secrets.findings import unscanned_findings
from gate.checks.secrets.hits import Hit, paired_occurrences
from gate.checks.secrets.patches import Occurrence, Skipped
from gate.checks.secrets.rules import RULES
from gate.checks.secrets.session import ScanSession
from gate.model import Finding, Location


@dataclass(frozen=True)
class Introduced:
    """The commit that first added a secret, and where."""

    commit: str
    author: str
    date: str
    path: str
    line: int


def history_findings(
    session: ScanSession, progress: Progress, tree_hits: Sequence[FileHit], introduced: dict[str, Introduced]
) -> Iterator[Result]:
    """Secrets added by the commits in scope; fills `introduced` for the tree's findings."""
    redact.warm_secret_ids((h.hit.identity for h in tree_hits), gitscan.usable_cores())
    reported = session.reported | {session.print_of(h.hit) for h in tree_hits}
    root = session.root
    # Outside a repository, or before the first commit, there is no history that could leak.
    if not gitcli.is_repository(root) or not gitcli.has_commits(root):
        return
    yield from _unreachable_commits(root)
    occurrences, skipped = _occurrences(session, progress)
    yield from unscanned_findings(skipped)
    first = _first_additions(session, occurrences)
    needles = {print_id: _needle(o.hit) for print_id, (o, _) in first.items()}
    at_head = blobs.present_at_head(root, list(needles.values()))
    for print_id, (occurrence, count) in first.items():
        commit = occurrence.commit
        assert commit is not None
        introduced[print_id] = Introduced(commit.sha, commit.author, commit.date, occurrence.path, occurrence.hit.line)
        if print_id in reported:
            continue  # reported where it is now (diff, tree), with this commit attached
        present = needles[print_id] in at_head
        status = (
            "It is still present at HEAD."
            if present
            else "It is no longer at HEAD, but deleting it did not un-leak it: every clone has it. Rotate it."
        )
        yield session.make(
            occurrence.hit,
            occurrence.path,
            commit=commit.sha,
            message=f"Added in commit {commit.sha[:10]} by {commit.author} on {commit.date} "
            f"({occurrence.path}:{occurrence.hit.line}). {status}",
            details={
                "source": "history",
                "commit": commit.sha,
                "author": commit.author,
                "date": commit.date,
                "at_head": present,
                "commits_adding_it": count,
            },
        )
        reported.add(print_id)


def _unreachable_commits(root: Path) -> Iterator[Finding]:
    """Commits no ref walk reaches: before a shallow clone's boundary, or cut off by grafts."""
    if gitcli.is_shallow(root):
        yield RULES.finding(
            "secrets.unscanned",
            "This is a shallow clone: commits before its boundary were not scanned, so secrets in older "
            "history cannot be ruled out.",
            location=Location(name="git history"),
            subject="shallow",
        )
    if gitcli.has_grafts(root):
        yield RULES.finding(
            "secrets.unscanned",
            "The repository has grafts (.git/info/grafts) that rewrite commits' parents: commits they cut "
            "off were not scanned, so secrets in them cannot be ruled out. Remove the file (or turn it "
            "into replace refs with `git replace --convert-graft-file`).",
            location=Location(name="git history"),
            subject="grafts",
        )


def _occurrences(session: ScanSession, progress: Progress) -> tuple[list[Occurrence], list[Skipped]]:
    """Every secret on a line the commits in scope add, and what could not be read."""
    root, sources, max_bytes, jobs = session.root, session.sources, session.max_bytes, session.jobs
    since = sources.get("since")
    revisions = gitcli.revisions(f"{since}..HEAD") if not sources.get("history") else ["--all", "--"]
    scope = "every ref" if sources.get("history") else f"{since}..HEAD"
    progress.update(f"scanning history of {scope}")
    commits = gitscan.count_commits(root, revisions)
    occurrences, skipped = gitscan.scan_patch_stream(
        root,
        merges.log_args(revisions),
        max_file_bytes=max_bytes,
        jobs=jobs,
        progress=lambda done: progress.update("history: commits scanned", done, commits),
    )
    progress.update("looking for lines merges add")
    for merge_log in merges.merge_args(root, revisions):
        progress.update("scanning what merges add")
        found, unread = gitscan.scan_patch_stream(root, merge_log, max_file_bytes=max_bytes, jobs=jobs)
        occurrences += found
        skipped += unread
    if sources.get("history"):
        progress.update("scanning what tags hold outside any commit")
        tagged, unread = tags.scan_tagged(root, session.engine, max_bytes)
        occurrences += tagged
        skipped += unread
    return paired_occurrences(occurrences, session.engine.detectors), skipped


def _first_additions(session: ScanSession, occurrences: Sequence[Occurrence]) -> dict[str, tuple[Occurrence, int]]:
    """Fingerprint -> (the earliest commit's occurrence, how many commits added the secret)."""
    added = (o.hit.identity for o in occurrences if o.commit is not None and session.keep(o.path))
    redact.warm_secret_ids(added, gitscan.usable_cores())
    first: dict[str, tuple[Occurrence, int]] = {}
    for occurrence in occurrences:
        if not session.keep(occurrence.path) or occurrence.commit is None:
            continue
        print_id = session.print_of(occurrence.hit)
        known = first.get(print_id)
        if known is None:
            first[print_id] = (occurrence, 1)
        elif _when(occurrence.commit.date) <= _when(known[0].commit.date):  # type: ignore[union-attr]
            first[print_id] = (occurrence, known[1] + 1)
        else:
            first[print_id] = (known[0], known[1] + 1)
    return first


def _when(date: str) -> datetime.datetime:
    try:
        return datetime.datetime.fromisoformat(date)
    except ValueError:
        return datetime.datetime.max.replace(tzinfo=datetime.UTC)


def _needle(hit: Hit) -> str:
    """What to look for at HEAD: the secret, or for a private key a line from the middle of its
    body (the first lines of keys of one kind are alike)."""
    lines = str(hit.identity).split("\n")
    return lines[len(lines) // 2]
