"""The `secrets` check: leaked credentials in a PR's added lines, git history, the working tree
and build output, found with detect-secrets' plugins and filters plus the gate's own detectors.

A found secret never leaves this package raw: `findings.finding_for` turns it into redacted
evidence and a fingerprint of rule + hashed secret.
"""

from __future__ import annotations

import datetime
import fnmatch
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from gate import redact
from gate.checks.base import Check, CheckContext, CheckOption, Result
from gate.checks.secrets.rules import RULES
from gate.errors import InputError, Position
from gate.model import Finding, Location

BUILD_FOLDERS = [
    "dist",
    "build",
    ".next",
    "out",
    ".output",
    ".nuxt",
    ".svelte-kit",
    ".vercel/output",
    "web-build",
    "android/app/build/generated/assets",
    "android/app/src/main/assets",
    "ios/build",
    ".expo/web",
]
DEFAULT_MAX_FILE_BYTES = 5_000_000


@dataclass(frozen=True)
class _Introduced:
    commit: str
    author: str
    date: str
    path: str
    line: int


class SecretsCheck(Check):
    name = "secrets"
    summary = "Leaked credentials in PR diffs, git history, the working tree and build output."
    rules = RULES.docs
    options = (
        CheckOption(
            "--diff",
            "sources.diff",
            "Scan the lines added in BASE...HEAD (`auto`: from the pull_request event).",
            metavar="BASE...HEAD",
        ),
        CheckOption(
            "--staged",
            "sources.staged",
            "Scan only the lines added in the index against HEAD, and nothing else (a pre-commit hook).",
            is_flag=True,
        ),
        CheckOption("--since", "sources.since", "Scan the commits in REV..HEAD.", metavar="REV"),
        CheckOption("--history", "sources.history", "Scan every commit of every ref.", is_flag=True),
        CheckOption(
            "--build",
            "sources.build",
            "Scan this build output folder instead of the preset's (repeatable).",
            multiple=True,
            metavar="DIR",
        ),
    )
    config_schema: ClassVar[Mapping[str, Any]] = {
        "properties": {
            "sources": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "tree": {"type": "boolean", "description": "Tracked and untracked-not-ignored files."},
                    "staged": {
                        "type": "boolean",
                        "description": "Only the lines added in the index against HEAD; no other source.",
                    },
                    "history": {"type": "boolean", "description": "Every commit of every ref."},
                    "since": {
                        "type": ["string", "null"],
                        "minLength": 1,
                        "format": "git-revision",
                        "description": "Commits in REV..HEAD.",
                    },
                    "diff": {
                        "type": ["string", "null"],
                        "minLength": 1,
                        "format": "git-range",
                        "description": "Added lines of BASE...HEAD; `auto`: from a GitHub pull_request event.",
                    },
                    "build": {
                        "$ref": "#/$defs/repo-paths",
                        "description": "Build output folders (scanned even if gitignored).",
                    },
                },
            },
            "max_file_size": {
                "type": "integer",
                "minimum": 1024,
                "description": "Bytes; larger files are listed as not scanned.",
            },
            "baseline": {
                "type": "string",
                "minLength": 1,
                "format": "repo-path",
                "description": "detect-secrets baseline accepted as reviewed.",
            },
            "exclude": {"$ref": "#/$defs/globs", "description": "Paths (globs) never scanned."},
            "jobs": {"type": "integer", "minimum": 0, "description": "Processes for history scans; 0 = every core."},
        }
    }

    def run(self, ctx: CheckContext) -> Iterator[Result]:
        from gate.checks.secrets import files, gitscan, rekey
        from gate.checks.secrets.findings import finding_for
        from gate.checks.secrets.identity import fingerprint
        from gate.checks.secrets.scanner import shared_engine
        from gate.checks.secrets.silencing import load_baseline

        config = ctx.config
        sources: Mapping[str, Any] = config.get("sources", {})
        max_bytes = int(config.get("max_file_size", DEFAULT_MAX_FILE_BYTES))
        excluded = tuple(config.get("exclude", ()))
        jobs = int(config.get("jobs", 0)) or gitscan.default_jobs()
        root = ctx.root
        baseline_path = str(config.get("baseline", ".secrets.baseline"))
        baseline = load_baseline(root, baseline_path, ctx.policy)
        engine = shared_engine()
        staged = bool(sources.get("staged"))
        diff = None if staged else _diff_range(sources.get("diff"), ctx.environ)
        if (staged or diff or sources.get("since")) and not gitscan.is_repository(root):
            raise InputError(
                f"{root} is not a git repository, so a diff or commit range cannot be scanned",
                Position(str(ctx.config_path or "gate.yml")),
                hint="run the gate inside the repository, or drop checks.secrets.sources.since/diff/staged",
            )

        def keep(path: str) -> bool:
            return not any(fnmatch.fnmatchcase(path, pattern) for pattern in excluded)

        rekeying = rekey.Rekeying()

        def make(hit: Any, path: str, **kwargs: Any) -> Finding:
            detector = engine.detectors[hit.detector]
            finding = finding_for(detector, hit, path=path, baseline_hashes=baseline, **kwargs)
            rekeying.note(detector, hit, finding.fingerprint, path)
            return finding

        def print_of(hit: Any) -> str:
            return fingerprint(engine.detectors[hit.detector], hit)

        reported: set[str] = set()
        # (fingerprint, path) of each diff finding: a map or bundle in the diff is not reported again
        # by the tree scan of the same file.
        in_diff: set[tuple[str, str]] = set()

        # The index against HEAD, or the change since the merge base.
        against = "--cached" if staged else diff
        if against:
            scope = "the staged changes" if staged else against
            ctx.progress.update(f"scanning added lines of {scope}")
            what = ["--cached", "--"] if staged else gitscan.revisions(against)
            occurrences, skipped = gitscan.scan_patch_stream(
                root, ["diff", *gitscan.PATCH_FLAGS, *what], max_file_bytes=max_bytes, jobs=1
            )
            occurrences = _paired(occurrences, engine.detectors)
            yield from self._skipped(skipped)
            advice = (
                "Take it out of the change and read it from the environment: it has not left this machine yet."
                if staged
                else "Rotate it even if a later commit removes it."
            )
            for occurrence in occurrences:
                if keep(occurrence.path):
                    title = engine.detectors[occurrence.hit.detector].title
                    finding = make(
                        occurrence.hit,
                        occurrence.path,
                        message=f"{title} added in this change at {occurrence.path}:{occurrence.hit.line}. {advice}",
                        details={"source": "diff", "range": scope},
                        source="staged" if staged else "committed",
                    )
                    reported.add(finding.fingerprint)
                    in_diff.add((finding.fingerprint, occurrence.path))
                    yield finding
        if staged:
            # A pre-commit hook asks about what is being committed, not what is already there.
            yield from self._rekeyed(ctx, rekeying, baseline_path, baseline)
            return

        paths: list[str] = []
        if sources.get("tree", True):
            ctx.progress.update("scanning the working tree")
            paths = [p for p in files.tree_files(root) if keep(p)]
        build = list(sources.get("build", []))
        listed = set(paths)
        built, escaped = files.build_files(root, build)
        paths += [p for p in built if p not in listed and keep(p)]
        tree_hits, skipped_files = files.scan_files(engine, root, paths, max_bytes)
        yield from self._skipped([*escaped, *skipped_files])

        introduced: dict[str, _Introduced] = {}
        if sources.get("history") or sources.get("since"):
            redact.warm_secret_ids((h.hit.identity for h in tree_hits), gitscan.usable_cores())
            in_files = {print_of(h.hit) for h in tree_hits}
            yield from self._history(
                ctx, sources, max_bytes, jobs, keep, make, print_of, introduced, reported | in_files
            )

        for file_hit in tree_hits:
            detector = engine.detectors[file_hit.hit.detector]
            print_id = print_of(file_hit.hit)
            if (print_id in reported and not file_hit.original) or (print_id, file_hit.path) in in_diff:
                continue
            shipped = _under(file_hit.path, build) or file_hit.original is not None
            details: dict[str, Any] = {"source": "build" if _under(file_hit.path, build) else "tree"}
            message = f"{detector.title} in {file_hit.path} at line {file_hit.hit.line}."
            if file_hit.original:
                source, line = file_hit.original
                details |= {"original_source": source, "original_line": line}
                message = (
                    f"{detector.title} shipped in build output {file_hit.path}, from {source} line {line}; "
                    "everyone who loads the app can read it."
                )
            origin = introduced.get(print_id)
            if origin:
                details |= {
                    "introduced_in": origin.commit,
                    "introduced_by": origin.author,
                    "introduced_at": origin.date,
                }
                message += f" First committed in {origin.commit[:10]} by {origin.author} on {origin.date}."
            yield make(
                file_hit.hit,
                file_hit.path,
                message=message,
                details=details,
                source="shipped" if shipped else "committed",
            )
        yield from self._rekeyed(ctx, rekeying, baseline_path, baseline)

    def _rekeyed(
        self, ctx: CheckContext, rekeying: Any, baseline_path: str, baseline: frozenset[str]
    ) -> Iterator[Result]:
        """Each suppression or baseline entry made for a fingerprint that was not the whole secret."""
        from gate.checks.secrets import rekey

        source = ctx.config_path.name if ctx.config_path else "gate.yml"
        suppressions = ctx.full_config.get("suppressions") or ()
        yield from rekey.stale_findings(rekeying, suppressions, source, ctx.root, baseline_path, baseline)

    def _history(
        self,
        ctx: CheckContext,
        sources: Mapping[str, Any],
        max_bytes: int,
        jobs: int,
        keep: Any,
        make: Any,
        print_of: Any,
        introduced: dict[str, _Introduced],
        reported: set[str],
    ) -> Iterator[Result]:
        from gate.checks.secrets import gitscan
        from gate.checks.secrets.scanner import shared_engine

        root = ctx.root
        # Outside a repository, or before the first commit, there is no history that could leak.
        if not gitscan.is_repository(root) or not gitscan.has_commits(root):
            return
        if gitscan.is_shallow(root):
            yield self.finding(
                "secrets.unscanned",
                "This is a shallow clone: commits before its boundary were not scanned, so secrets in older "
                "history cannot be ruled out.",
                location=Location(name="git history"),
                subject="shallow",
            )
        if gitscan.has_grafts(root):
            yield self.finding(
                "secrets.unscanned",
                "The repository has grafts (.git/info/grafts) that rewrite commits' parents: commits they cut "
                "off were not scanned, so secrets in them cannot be ruled out. Remove the file (or turn it "
                "into replace refs with `git replace --convert-graft-file`).",
                location=Location(name="git history"),
                subject="grafts",
            )
        since = sources.get("since")
        revisions = gitscan.revisions(f"{since}..HEAD") if not sources.get("history") else ["--all", "--"]
        scope = "every ref" if sources.get("history") else f"{since}..HEAD"
        ctx.progress.update(f"scanning history of {scope}")
        commits = gitscan.count_commits(root, revisions)
        occurrences, skipped = gitscan.scan_patch_stream(
            root,
            gitscan.log_args(revisions),
            max_file_bytes=max_bytes,
            jobs=jobs,
            progress=lambda done: ctx.progress.update("history: commits scanned", done, commits),
        )
        ctx.progress.update("looking for lines merges add")
        for merges in gitscan.merge_args(root, revisions):
            ctx.progress.update("scanning what merges add")
            found, unread = gitscan.scan_patch_stream(root, merges, max_file_bytes=max_bytes, jobs=jobs)
            occurrences += found
            skipped += unread
        if sources.get("history"):
            ctx.progress.update("scanning what tags hold outside any commit")
            tagged, unread = gitscan.scan_tagged(root, shared_engine(), max_bytes)
            occurrences += tagged
            skipped += unread
        occurrences = _paired(occurrences, shared_engine().detectors)
        yield from self._skipped(skipped)
        added = (o.hit.identity for o in occurrences if o.commit is not None and keep(o.path))
        redact.warm_secret_ids(added, gitscan.usable_cores())
        # The commit that introduced each secret: the earliest of those that added it.
        first: dict[str, tuple[gitscan.Occurrence, int]] = {}
        for occurrence in occurrences:
            if not keep(occurrence.path) or occurrence.commit is None:
                continue
            print_id = print_of(occurrence.hit)
            known = first.get(print_id)
            if known is None:
                first[print_id] = (occurrence, 1)
            elif _when(occurrence.commit.date) <= _when(known[0].commit.date):  # type: ignore[union-attr]
                first[print_id] = (occurrence, known[1] + 1)
            else:
                first[print_id] = (known[0], known[1] + 1)
        needles = {print_id: _needle(o.hit) for print_id, (o, _) in first.items()}
        at_head = gitscan.present_at_head(root, list(needles.values()))
        for print_id, (occurrence, count) in first.items():
            commit = occurrence.commit
            assert commit is not None
            introduced[print_id] = _Introduced(
                commit.sha, commit.author, commit.date, occurrence.path, occurrence.hit.line
            )
            if print_id in reported:
                continue  # reported where it is now (diff, tree), with this commit attached
            present = needles[print_id] in at_head
            status = (
                "It is still present at HEAD."
                if present
                else "It is no longer at HEAD, but deleting it did not un-leak it: every clone has it. Rotate it."
            )
            yield make(
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

    def _skipped(self, skipped: Sequence[Any]) -> Iterator[Result]:
        from gate.checks.secrets.findings import unscanned_findings

        yield from unscanned_findings(skipped)


def _paired(occurrences: Sequence[Any], detectors: Sequence[Any]) -> list[Any]:
    """The occurrences with the two halves of one credential, added in one file by one commit (or
    by the change), folded into one."""
    from dataclasses import replace

    from gate.checks.secrets.hits import paired

    groups: dict[tuple[str | None, str], list[Any]] = {}
    for occurrence in occurrences:
        key = (occurrence.commit.sha if occurrence.commit else None, occurrence.path)
        groups.setdefault(key, []).append(occurrence)
    out: list[Any] = []
    for group in groups.values():
        hits = [o.hit for o in group]
        folded = paired(hits, detectors) if len(group) > 1 else hits
        out.extend(replace(group[0], hit=hit) for hit in folded)
    return out


def _when(date: str) -> datetime.datetime:
    try:
        return datetime.datetime.fromisoformat(date)
    except ValueError:
        return datetime.datetime.max.replace(tzinfo=datetime.UTC)


def _needle(hit: Any) -> str:
    """What to look for at HEAD: the secret, or for a private key a line from the middle of its
    body (the first lines of keys of one kind are alike)."""
    lines = str(hit.identity).split("\n")
    return lines[len(lines) // 2]


def _under(path: str, folders: Sequence[str]) -> bool:
    return any(path == f or path.startswith(f.rstrip("/") + "/") for f in folders)


def _diff_range(value: str | None, environ: Mapping[str, str]) -> str | None:
    """`auto` means: inside a GitHub pull_request run, base.sha...head.sha of its event."""
    if value != "auto":
        return value
    from gate.github.context import pull_request_range

    return pull_request_range(environ)
