"""One run of the secrets check: what it scans (from gate.yml and the event), what it has reported
so far, and how a hit becomes a finding (with the baseline and rekeying applied on the way)."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gate.checks.base import CheckContext
from gate.checks.secrets import gitcli, gitscan
from gate.checks.secrets.findings import finding_for
from gate.checks.secrets.hits import Hit
from gate.checks.secrets.identity import fingerprint
from gate.checks.secrets.rekey import Rekeying, stale_findings
from gate.checks.secrets.scanner import Engine, shared_engine
from gate.checks.secrets.silencing import load_baseline
from gate.errors import InputError, Position
from gate.model import Finding

DEFAULT_MAX_FILE_BYTES = 5_000_000


@dataclass
class ScanSession:
    """The settings of one run, and the state its sources share (diff, then tree and history)."""

    root: Path
    engine: Engine
    sources: Mapping[str, Any]
    max_bytes: int
    excluded: tuple[str, ...]
    jobs: int
    baseline_path: str
    baseline: frozenset[str]
    staged: bool
    # BASE...HEAD of the change whose added lines are scanned (None: no diff, or staged).
    diff: str | None
    # Where the run's suppressions are (named in stale-suppression findings), and the entries.
    config_name: str
    suppressions: Any
    rekeying: Rekeying = field(default_factory=Rekeying)
    # Fingerprints the diff reported, and (fingerprint, path) of each: a map or bundle in the diff
    # is not reported again by the tree scan of the same file.
    reported: set[str] = field(default_factory=set)
    in_diff: set[tuple[str, str]] = field(default_factory=set)

    @classmethod
    def start(cls, ctx: CheckContext) -> ScanSession:
        """The run's settings; InputError when a diff or commit range is asked for outside git."""
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
        if (staged or diff or sources.get("since")) and not gitcli.is_repository(root):
            raise InputError(
                f"{root} is not a git repository, so a diff or commit range cannot be scanned",
                Position(str(ctx.config_path or "gate.yml")),
                hint="run the gate inside the repository, or drop checks.secrets.sources.since/diff/staged",
            )
        return cls(
            root=root,
            engine=engine,
            sources=sources,
            max_bytes=max_bytes,
            excluded=excluded,
            jobs=jobs,
            baseline_path=baseline_path,
            baseline=baseline,
            staged=staged,
            diff=diff,
            config_name=ctx.config_path.name if ctx.config_path else "gate.yml",
            suppressions=ctx.full_config.get("suppressions") or (),
        )

    @property
    def scans_history(self) -> bool:
        return bool(self.sources.get("history") or self.sources.get("since"))

    @property
    def build_folders(self) -> list[str]:
        return list(self.sources.get("build", []))

    def keep(self, path: str) -> bool:
        return not any(fnmatch.fnmatchcase(path, pattern) for pattern in self.excluded)

    def make(self, hit: Hit, path: str, **kwargs: Any) -> Finding:
        detector = self.engine.detectors[hit.detector]
        finding = finding_for(detector, hit, path=path, baseline_hashes=self.baseline, **kwargs)
        self.rekeying.note(detector, hit, finding.fingerprint, path)
        return finding

    def print_of(self, hit: Hit) -> str:
        return fingerprint(self.engine.detectors[hit.detector], hit)

    def stale_findings(self) -> Iterator[Finding]:
        """Each suppression or baseline entry made for a fingerprint that was not the whole secret."""
        yield from stale_findings(
            self.rekeying, self.suppressions, self.config_name, self.root, self.baseline_path, self.baseline
        )


def _diff_range(value: str | None, environ: Mapping[str, str]) -> str | None:
    """`auto` means: inside a GitHub pull_request run, base.sha...head.sha of its event."""
    if value != "auto":
        return value
    from gate.github.context import pull_request_range

    return pull_request_range(environ)
