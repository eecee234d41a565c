"""The few GitHub REST calls the gate makes, through PyGithub, with bounded retries.

Every call names API version 2022-11-28 (the version `github-rest-subset.json` describes), retries
5xx answers with backoff, waits out a rate limit only up to a bound, and turns any failure into
`ApiError` with a plain sentence; bodies are scrubbed before they leave the process.
"""

from __future__ import annotations

import base64
import gzip
import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from gate import __version__
from gate.redact import scrub

API_VERSION = "2022-11-28"
ANNOTATIONS_PER_REQUEST = 50
# GitHub rejects a gzip-compressed SARIF file over 10 MB (docs, "sarif-limits").
MAX_SARIF_GZIP = 10 * 1024 * 1024
MAX_SARIF_RUNS = 20
MAX_SARIF_RESULTS = 25_000
MAX_COMMENT = 65_536
# A PR with more comments than this is not worth paging through to find ours.
MAX_COMMENTS_SCANNED = 1_000
T = TypeVar("T")


class ApiError(Exception):
    """A GitHub call failed after retries; `status` is the HTTP status when there was one."""

    def __init__(self, message: str, status: int | None = None, *, rate_limited: bool = False) -> None:
        super().__init__(scrub(message))
        self.status = status
        self.rate_limited = rate_limited

    @property
    def forbidden(self) -> bool:
        """Refused for lack of permission (GitHub also answers 403 to an exhausted rate limit)."""
        return self.status == 403 and not self.rate_limited


@dataclass(frozen=True)
class ApiOptions:
    retries: int = 3
    backoff: float = 1.0
    # Longest wait for a rate limit to reset before giving up on reporting (the verdict stands).
    max_rate_wait: float = 60.0
    # GitHub asks integrations to pause between writes to avoid secondary rate limits.
    write_interval: float = 1.0
    request_interval: float = 0.25
    timeout: int = 20


def scrub_body(value: Any) -> Any:
    """Every string in a request body, scrubbed of registered secrets."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, Mapping):
        return {key: scrub_body(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [scrub_body(item) for item in value]
    return value


def _message(error: Exception) -> tuple[str, int | None]:
    import requests
    from github import GithubException, RateLimitExceededException

    if isinstance(error, requests.exceptions.RetryError):
        answered = re.search(r"too many (\d{3}) error responses", str(error))
        if answered:
            return f"HTTP {answered.group(1)} on every try, retries exhausted", int(answered.group(1))

    if isinstance(error, RateLimitExceededException):
        return "GitHub's rate limit is exhausted and resets later than the gate waits", error.status
    if isinstance(error, GithubException):
        data = error.data
        detail = data.get("message") if isinstance(data, Mapping) else str(data)
        errors = data.get("errors") if isinstance(data, Mapping) else None
        if errors:
            detail = f"{detail}: {json.dumps(errors)[:500]}"
        return f"HTTP {error.status}: {detail}", error.status
    return f"{type(error).__name__}: {error}", None


class GitHubApi:
    def __init__(self, *, token: str, repository: str, api_url: str, options: ApiOptions = ApiOptions()) -> None:
        from github import Auth, Github, GithubRetry

        retry = GithubRetry(
            total=options.retries,
            # urllib3 leaves PATCH out of its retried methods; the check run is completed by one.
            allowed_methods=frozenset({"GET", "POST", "PATCH", "DELETE"}),
            backoff_factor=options.backoff,
            max_rate_limit_wait=options.max_rate_wait,
            secondary_rate_wait=min(60.0, options.max_rate_wait),
        )
        self._github = Github(
            auth=Auth.Token(token),
            base_url=api_url,
            timeout=options.timeout,
            user_agent=f"launch-gate/{__version__}",
            retry=retry,
            seconds_between_requests=options.request_interval or None,
            seconds_between_writes=options.write_interval or None,
            lazy=True,
            api_version=API_VERSION,
        )
        self._repo = self._github.get_repo(repository)

    def _call(self, what: str, action: Callable[[], T]) -> T:
        import requests
        from github import GithubException

        try:
            return action()
        except (GithubException, requests.RequestException) as error:
            from github import RateLimitExceededException

            message, status = _message(error)
            limited = isinstance(error, RateLimitExceededException)
            raise ApiError(f"{what} failed: {message}", status, rate_limited=limited) from error

    def create_check_run(
        self, *, name: str, head_sha: str, title: str, summary: str, details_url: str | None, started_at: datetime
    ) -> int:
        def create() -> int:
            from github.GithubObject import NotSet

            run = self._repo.create_check_run(
                name=scrub(name),
                head_sha=head_sha,
                status="in_progress",
                started_at=started_at,
                output=scrub_body({"title": title, "summary": summary}),
                details_url=details_url or NotSet,
            )
            return int(run.id)

        return self._call("creating the check run", create)

    def update_check_run(
        self,
        run_id: int,
        *,
        output: Mapping[str, Any],
        conclusion: str | None = None,
        completed_at: datetime | None = None,
    ) -> None:
        def update() -> None:
            # A lazy handle: the client was made with lazy=True, so this sends no GET.
            handle = self._repo.get_check_run(run_id)
            extra: dict[str, Any] = {}
            if conclusion is not None:
                extra["conclusion"] = conclusion
                extra["status"] = "completed"
            if completed_at is not None:
                extra["completed_at"] = completed_at
            handle.edit(output=scrub_body(dict(output)), **extra)

        self._call("updating the check run", update)

    def _comments(self, number: int) -> Iterator[Any]:
        issue = self._repo.get_issue(number)
        for index, comment in enumerate(issue.get_comments()):
            if index >= MAX_COMMENTS_SCANNED:
                return
            yield comment

    def upsert_comment(self, number: int, marker: str, body: str) -> str:
        """One comment per PR carrying `marker`: updated in place, extra copies deleted."""
        body = scrub(body)[:MAX_COMMENT]

        def upsert() -> str:
            ours = [c for c in self._comments(number) if marker in (c.body or "")]
            if not ours:
                self._repo.get_issue(number).create_comment(body)
                return "created"
            ours[0].edit(body)
            for extra in ours[1:]:
                extra.delete()
            return "updated"

        return self._call("writing the pull-request comment", upsert)

    def upload_sarif(
        self, *, sarif: str, commit_sha: str, ref: str, started_at: str | None, checkout_uri: str | None
    ) -> str:
        packed = gzip.compress(scrub(sarif).encode("utf-8"), mtime=0)
        if len(packed) > MAX_SARIF_GZIP:
            raise ApiError(
                f"the SARIF report is {len(packed)} bytes gzip-compressed, over code scanning's "
                f"{MAX_SARIF_GZIP}-byte limit; it was not uploaded"
            )
        body: dict[str, Any] = {
            "commit_sha": commit_sha,
            "ref": ref,
            "sarif": base64.b64encode(packed).decode("ascii"),
            "tool_name": "launch-gate",
        }
        if started_at:
            body["started_at"] = started_at
        if checkout_uri:
            body["checkout_uri"] = checkout_uri

        def upload() -> str:
            _headers, data = self._github.requester.requestJsonAndCheck(
                "POST", f"{self._repo.url}/code-scanning/sarifs", input=body
            )
            return str(data.get("id", "")) if isinstance(data, Mapping) else ""

        return self._call("uploading SARIF to code scanning", upload)


def fit_for_code_scanning(log: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Keep a SARIF log within what code scanning accepts; it rejects a file over any maximum.

    Results are already ordered most severe first, so the ones cut are the least severe; the
    SARIF report on disk keeps them all.
    """
    notes = []
    runs = log.get("runs", [])
    if len(runs) > MAX_SARIF_RUNS:
        raise ApiError(f"the SARIF log has {len(runs)} runs; code scanning takes at most {MAX_SARIF_RUNS} per file")
    for run in runs:
        results = run.get("results", [])
        if len(results) > MAX_SARIF_RESULTS:
            category = run.get("automationDetails", {}).get("id", "a run")
            notes.append(
                f"code scanning takes {MAX_SARIF_RESULTS} results per run; {len(results) - MAX_SARIF_RESULTS} "
                f"of {category} were left out of the upload (the SARIF report has them all)"
            )
            run["results"] = results[:MAX_SARIF_RESULTS]
    return log, notes


def batches(items: Sequence[T], size: int = ANNOTATIONS_PER_REQUEST) -> list[Sequence[T]]:
    return [items[start : start + size] for start in range(0, len(items), size)]


class IssueApi(GitHubApi):
    """The issue calls `gate watch` makes: an incident is an issue opened, commented on and closed."""

    def open_issue(self, title: str, body: str, labels: Sequence[str] = ()) -> int:
        def create() -> int:
            issue = self._repo.create_issue(title=scrub(title), body=scrub(body)[:MAX_COMMENT], labels=list(labels))
            return int(issue.number)

        return self._call("opening the incident issue", create)

    def find_open_issue(self, marker: str, bound: int = 100) -> int | None:
        """The newest open issue whose body carries `marker`, among the `bound` newest open ones."""

        def find() -> int | None:
            for index, issue in enumerate(self._repo.get_issues(state="open")):
                if index >= bound:
                    return None
                if marker in (issue.body or ""):
                    return int(issue.number)
            return None

        return self._call("looking for the incident issue", find)

    def comment_issue(self, number: int, comment: str) -> None:
        self._call(
            "commenting on the incident issue",
            lambda: self._repo.get_issue(number).create_comment(scrub(comment)[:MAX_COMMENT]),
        )

    def close_issue(self, number: int, comment: str) -> None:
        def close() -> None:
            issue = self._repo.get_issue(number)
            issue.create_comment(scrub(comment)[:MAX_COMMENT])
            issue.edit(state="closed", state_reason="completed")

        self._call("closing the incident issue", close)

    def deployments_since(self, since: datetime, environment: str, bound: int = 1_000) -> int:
        """Deployments to `environment` created since `since` (GitHub lists the newest first)."""

        def count() -> int:
            seen = 0
            for index, deployment in enumerate(self._repo.get_deployments(environment=environment)):
                if index >= bound or deployment.created_at < since:
                    break
                seen += 1
            return seen

        return self._call("listing deployments", count)
