"""One gate run's reporting to GitHub: a check run, annotations, the job summary, a PR comment,
a SARIF upload and step outputs.

The verdict is decided before any of this runs and nothing here can change it: a reporting
failure is said plainly (stderr and one warning annotation) and the exit code stays the
verdict's. When the token may not write checks (fork pull requests), findings go out as
workflow-command annotations instead, and that is said once.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gate.github import commands
from gate.github.api import ANNOTATIONS_PER_REQUEST, ApiError, ApiOptions, GitHubApi, batches, fit_for_code_scanning
from gate.github.context import GitHubContext, Plan, plan_for, read_context
from gate.model import JudgedFinding, Verdict
from gate.redact import scrub
from gate.report import ReportInput, job_summary, render
from gate.report.places import ConfigPlaces
from gate.report.workflow_annotations import annotation_for, annotation_lines, workspace_path

STICKY_MARKER = "<!-- launch-gate:sticky-comment -->"
# 20 requests of 50: enough for any PR a person reads; the rest are in SARIF and the summary.
MAX_CHECK_RUN_ANNOTATIONS = 1000
_CHECK_LEVEL = {"error": "failure", "warning": "warning", "notice": "notice"}
_CONCLUSION = {"pass": "success", "warn": "success", "fail": "failure", "error": "failure"}
Writer = Callable[[str], None]
# Module-level so a test (or an embedding caller) can tune retries and pacing in one place.
DEFAULT_API_OPTIONS = ApiOptions()


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


@dataclass
class Session:
    """Created before the checks run (so the check run shows "in progress"), finished after."""

    context: GitHubContext
    plan: Plan
    out: Writer
    err: Writer
    api_options: ApiOptions = field(default_factory=lambda: DEFAULT_API_OPTIONS)
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    _api: GitHubApi | None = None
    _check_run_id: int | None = None
    _started: datetime.datetime = field(default_factory=_now)
    _places: ConfigPlaces = field(default_factory=ConfigPlaces.none)
    _without_access: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.notes.extend(self.plan.notes)

    # -- before the run ---------------------------------------------------------------------
    def start(self) -> None:
        settings = self.context.settings
        if not settings.check_run:
            return
        if not self._can_call_api("check run"):
            return
        if not self.context.head_sha:
            self.notes.append("no check run: a commit SHA is missing; findings are shown as annotations")
            return
        try:
            self._api = self._make_api()
            self._check_run_id = self._api.create_check_run(
                name=settings.check_name,
                head_sha=str(self.context.head_sha),
                title="launch-gate is running",
                summary=f"Checking {self.context.describe()}.",
                details_url=self.context.run_url,
                started_at=self._started,
            )
        except ApiError as error:
            self._check_run_failed(error)

    def _make_api(self) -> GitHubApi:
        assert self.context.token and self.context.repository
        return GitHubApi(
            token=self.context.token,
            repository=self.context.repository,
            api_url=self.context.api_url,
            options=self.api_options,
        )

    def _check_run_failed(self, error: ApiError) -> None:
        self._check_run_id = None
        if error.forbidden:
            self.notes.append(
                "the token may not write check runs (it needs `permissions: checks: write`; a pull "
                "request from a fork never gets it), so findings are shown as annotations instead"
            )
        else:
            self.problems.append(f"{error}; findings are shown as annotations instead")

    # -- after the run ----------------------------------------------------------------------
    def finish(
        self,
        report: ReportInput,
        root: Path,
        reports: Mapping[str, Path],
        exit_code: int | None = None,
    ) -> None:
        """Publish everything; `exit_code` is the run's when it differs from the verdict's.

        `report` is what the runner rendered its own reports from (verdict, rule docs, and the
        places that put findings about URLs, routes and hosts on the gate.yml line declaring them).
        """
        verdict = report.verdict
        self._places = report.places
        self._publish(report, root, reports)
        self._write_outputs(verdict.outcome, str(verdict.exit_code if exit_code is None else exit_code), reports)
        self._say_problems()

    def abandon(self, reason: str) -> None:
        """The run stopped before a verdict: never leave the check run "in progress" for ever."""
        if self._check_run_id is None or self._api is None:
            return
        text = f"## 🛑 launch-gate: stopped\n\n{job_summary.md(reason)}; nothing was passed.\n"
        try:
            self._api.update_check_run(
                self._check_run_id,
                output={"title": "Stopped before a verdict", "summary": text},
                conclusion="cancelled",
                completed_at=_now(),
            )
        except ApiError as error:
            self.problems.append(str(error))
        self._say_problems()

    def finish_skipped(self) -> None:
        """Every check this event asked for was skipped (e.g. a failed deployment)."""
        self._say_no_access()
        text = "## ⏭️ launch-gate: skipped\n\n" + "".join(f"> [!NOTE]\n> {job_summary.md(n)}\n\n" for n in self.notes)
        for note in self.notes:
            self.out(commands.plain_notice("launch-gate: skipped", note))
        self._append_summary(text)
        if self._check_run_id is not None and self._api is not None:
            try:
                self._api.update_check_run(
                    self._check_run_id,
                    output={"title": "Skipped", "summary": text},
                    conclusion="skipped",
                    completed_at=_now(),
                )
            except ApiError as error:
                self.problems.append(str(error))
        self._write_outputs("skipped", "0", {})
        self._say_problems()

    def _publish(self, report: ReportInput, root: Path, reports: Mapping[str, Path]) -> None:
        verdict = report.verdict
        settings = self.context.settings
        annotated_in_run = False
        # API calls first: what they learn (a fallback, a refused comment) belongs in the notes
        # that the log and the job summary show.
        if self._check_run_id is not None:
            annotated_in_run = self._complete_check_run(verdict, root)
        if settings.comment:
            self._comment(verdict)
        if settings.upload_sarif:
            self._upload_sarif(report)
        self._say_no_access()
        for note in self.notes:
            self.out(commands.plain_notice("launch-gate", note))
        if settings.annotations and not annotated_in_run:
            elsewhere = self._elsewhere(reports)
            workspace = self.context.workspace
            for line in annotation_lines(verdict.findings, root, workspace, elsewhere, len(self.notes), self._places):
                self.out(line)
        if settings.summary:
            self._append_summary(self._summary(verdict, job_summary.STEP_SUMMARY_LIMIT))

    def _elsewhere(self, reports: Mapping[str, Path]) -> str:
        places = ["the job summary"]
        if "sarif" in reports:
            places.append(f"the SARIF report ({self._display_path(reports['sarif'])})")
        if "json" in reports:
            places.append(f"the JSON report ({self._display_path(reports['json'])})")
        return ", ".join(places)

    def _summary(self, verdict: Verdict, limit: int) -> str:
        return job_summary.render(verdict, context_line=self.context.describe(), notes=self.notes, limit=limit)

    def _check_annotations(self, findings: Sequence[JudgedFinding], root: Path) -> list[dict[str, Any]]:
        config_name = workspace_path(self._places.config_path, root, self.context.workspace) or "gate.yml"
        annotations = []
        for judged in findings:
            if judged.suppressed:
                continue
            note = annotation_for(judged, root, self.context.workspace, self._places)
            line = note.line or 1
            end_line = note.end_line if note.end_line and note.end_line >= line else line
            item: dict[str, Any] = {
                "path": note.path or config_name,
                "start_line": line,
                "end_line": end_line,
                "annotation_level": _CHECK_LEVEL[note.level],
                "title": note.title[:255],
                "message": note.message[:60_000],
            }
            if note.column and end_line == line:
                item["start_column"] = item["end_column"] = note.column
            annotations.append(item)
        annotations.sort(key=lambda a: ("failure", "warning", "notice").index(a["annotation_level"]))
        return annotations

    def _complete_check_run(self, verdict: Verdict, root: Path) -> bool:
        """Completes the run with its annotations; False when annotations must go to the log instead."""
        assert self._api is not None and self._check_run_id is not None
        head = job_summary.headline(verdict)
        annotations = self._check_annotations(verdict.findings, root)
        dropped = max(0, len(annotations) - MAX_CHECK_RUN_ANNOTATIONS)
        if dropped:
            self.notes.append(
                f"the check run carries the first {MAX_CHECK_RUN_ANNOTATIONS} annotations; {dropped} more are "
                "in the job summary and the SARIF report"
            )
        annotations = annotations[:MAX_CHECK_RUN_ANNOTATIONS]
        output = {
            "title": f"{head.title}: {head.detail}"[:255],
            "summary": self._summary(verdict, job_summary.CHECK_RUN_SUMMARY_LIMIT),
        }
        chunks = batches(annotations, ANNOTATIONS_PER_REQUEST) or [[]]
        try:
            # Each update appends its annotations; the conclusion goes with the last one so the
            # run never shows "completed" while annotations are still arriving.
            for index, chunk in enumerate(chunks):
                last = index == len(chunks) - 1
                self._api.update_check_run(
                    self._check_run_id,
                    output={**output, "annotations": list(chunk)},
                    conclusion=_CONCLUSION[verdict.outcome] if last else None,
                    completed_at=_now() if last else None,
                )
        except ApiError as error:
            self._check_run_failed(error)
            return False
        return True

    def _comment(self, verdict: Verdict) -> None:
        if self.context.pr_number is None:
            return
        if not self._can_call_api("pull-request comment"):
            return
        assert self._api is not None
        body = f"{STICKY_MARKER}\n{self._summary(verdict, 60_000)}"
        if self.context.run_url:
            body += f"\n[Workflow run]({self.context.run_url})\n"
        try:
            self._api.upsert_comment(self.context.pr_number, STICKY_MARKER, body)
        except ApiError as error:
            if error.forbidden and self.context.fork:
                # Expected: a fork's pull request never gets a token that may comment.
                self.notes.append("no pull-request comment: the token of a pull request from a fork is read-only")
                return
            hint = " (the token needs `pull-requests: write`)" if error.forbidden else ""
            self.problems.append(f"{error}{hint}")

    def _can_call_api(self, feature: str) -> bool:
        """False, and `feature` noted for the one sentence `_say_no_access` makes, without a token."""
        if not (self.context.token and self.context.repository):
            self._without_access.append(feature)
            return False
        if self._api is None:
            self._api = self._make_api()
        return True

    def _say_no_access(self) -> None:
        """Everything a missing token or repository stopped, said once; a note when only the default
        check run was lost, a reporting problem when a comment or SARIF upload was asked for."""
        if not self._without_access:
            return
        missing = [
            what
            for what, value in (
                ("a token (input github-token)", self.context.token),
                ("GITHUB_REPOSITORY", self.context.repository),
            )
            if not value
        ]
        lost = [f"no {feature}" for feature in self._without_access]
        listed = lost[0] if len(lost) == 1 else f"{', '.join(lost[:-1])} and {lost[-1]}"
        shown = "findings are shown as annotations and in the job summary"
        sentence = f"{listed}: {' and '.join(missing)} missing; {shown}"
        if self._without_access == ["check run"]:
            self.notes.append(sentence)
        else:
            self.problems.append(sentence)
        self._without_access.clear()

    def _upload_sarif(self, report: ReportInput) -> None:
        verdict = report.verdict
        if not (self.context.sha and self.context.ref):
            self.problems.append(
                "SARIF not uploaded: GITHUB_SHA and GITHUB_REF are needed to say which commit it is for"
            )
            return
        if not self._can_call_api("SARIF upload"):
            return
        assert self._api is not None
        checkout = f"file://{self.context.workspace.as_posix()}" if self.context.workspace else None
        try:
            log, notes = fit_for_code_scanning(json.loads(render("sarif", report)))
            self.notes.extend(notes)
            self._api.upload_sarif(
                sarif=json.dumps(log),
                commit_sha=self.context.sha,
                ref=self.context.ref,
                started_at=verdict.started_at,
                checkout_uri=checkout,
            )
        except ApiError as error:
            hint = " (the token needs `security-events: write`)" if error.forbidden else ""
            self.problems.append(f"{error}{hint}")

    def _append_summary(self, text: str) -> None:
        path = self.context.step_summary
        if path is None:
            return
        try:
            used = path.stat().st_size if path.exists() else 0
            room = job_summary.STEP_SUMMARY_LIMIT - used - 1
            data = scrub(text).encode()
            if len(data) > room:
                self.problems.append(
                    f"the job summary file already holds {used} bytes; the gate's summary was not added "
                    "(GitHub drops a step summary over 1 MiB)"
                )
                return
            with path.open("ab") as handle:
                handle.write(data)
        except OSError as error:
            self.problems.append(f"could not write the job summary ({error.strerror}: {path})")

    def _display_path(self, path: Path) -> str:
        workspace = self.context.workspace
        if workspace is not None:
            try:
                return path.resolve().relative_to(workspace.resolve()).as_posix()
            except ValueError:
                pass
        return str(path)

    def _write_outputs(self, verdict: str, exit_code: str, reports: Mapping[str, Path]) -> None:
        path = self.context.output_file
        if path is None:
            return
        values = {"verdict": verdict, "exit-code": exit_code}
        values |= {f"{fmt}-report": self._display_path(report) for fmt, report in reports.items()}
        try:
            with path.open("a", encoding="utf-8") as handle:
                handle.write(commands.output_lines(values))
        except OSError as error:
            self.problems.append(f"could not write step outputs ({error.strerror}: {path})")

    def _say_problems(self) -> None:
        for problem in self.problems:
            self.err(f"error: reporting to GitHub: {problem}. The verdict and exit code are unaffected.")
        if self.problems:
            self.out(
                commands.plain_notice(
                    "launch-gate: reporting failed",
                    "; ".join(self.problems) + ". The verdict and exit code are unaffected.",
                    level="warning",
                )
            )


def open_session(environ: Mapping[str, str], *, force: bool | None, out: Writer, err: Writer) -> Session | None:
    """None outside Actions unless forced; `force=False` (`--no-github`) turns it off inside too."""
    if force is False:
        return None
    context = read_context(environ, force=bool(force))
    if context is None:
        return None
    return Session(context=context, plan=plan_for(context), out=out, err=err)
