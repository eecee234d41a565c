"""Where the gate runs: the GitHub Actions environment and the event that started the run.

Inside Actions the event payload says what to check: a pull request's base and head (the
secrets check scans the added lines), a deployment's preview URL (the http check tests it), a
pushed tag (a release: the secrets check reads the whole history). The payload is untrusted
input: its size is bounded, SHAs must be hex before they reach git, URLs must be https.
Outside Actions nothing here applies and flags and gate.yml decide.
"""

from __future__ import annotations

import fnmatch
import json
import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gate.config import Override
from gate.errors import InputError, Position
from gate.redact import register

# GitHub caps webhook payloads at 25 MB; anything larger is not an event GitHub wrote.
MAX_EVENT_BYTES = 25 * 1024 * 1024
DEFAULT_API_URL = "https://api.github.com"
_SHA = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")
_REPOSITORY = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
_SOURCE = "GITHUB_EVENT_PATH"


def _truthy(value: str | None, default: bool) -> bool:
    if value is None or value.strip() == "":
        return default
    lowered = value.strip().lower()
    if lowered in ("true", "yes", "1", "on"):
        return True
    if lowered in ("false", "no", "0", "off"):
        return False
    raise InputError(f"'{value}' is not true or false", hint="set the input to true or false")


def action_input(environ: Mapping[str, str], name: str) -> str | None:
    """An action input as the runner passes it: `INPUT_<NAME>`, upper-cased, hyphens kept."""
    value = environ.get(f"INPUT_{name.replace(' ', '_').upper()}")
    return value.strip() if value is not None and value.strip() else None


@dataclass(frozen=True)
class Settings:
    """What to publish; each is an action input, also settable in the environment for `--github`."""

    check_run: bool = True
    annotations: bool = True
    summary: bool = True
    comment: bool = False
    upload_sarif: bool = False
    check_name: str = "launch-gate"

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Settings:
        name = action_input(environ, "check-name") or cls.check_name
        return cls(
            check_run=_truthy(action_input(environ, "check-run"), cls.check_run),
            annotations=_truthy(action_input(environ, "annotations"), cls.annotations),
            summary=_truthy(action_input(environ, "summary"), cls.summary),
            comment=_truthy(action_input(environ, "comment"), cls.comment),
            upload_sarif=_truthy(action_input(environ, "upload-sarif"), cls.upload_sarif),
            check_name=name[:100],
        )


@dataclass(frozen=True)
class GitHubContext:
    in_actions: bool
    event_name: str | None = None
    repository: str | None = None
    # The commit reports attach to: for a pull request its head, not GitHub's test merge commit.
    head_sha: str | None = None
    # The commit and ref code scanning takes (GITHUB_SHA / GITHUB_REF, as codeql-action uploads).
    sha: str | None = None
    ref: str | None = None
    api_url: str = DEFAULT_API_URL
    server_url: str = "https://github.com"
    run_id: str | None = None
    workspace: Path | None = None
    step_summary: Path | None = None
    output_file: Path | None = None
    token: str | None = None
    pr_number: int | None = None
    base_sha: str | None = None
    pr_head_sha: str | None = None
    fork: bool = False
    deployment_state: str | None = None
    deployment_url: str | None = None
    deployment_environment: str | None = None
    tag: str | None = None
    settings: Settings = field(default_factory=Settings)

    @property
    def kind(self) -> str:
        if self.pr_number is not None:
            return "pull request"
        if self.deployment_state is not None:
            return "deployment"
        if self.tag is not None:
            return "release"
        return self.event_name or "local run"

    @property
    def run_url(self) -> str | None:
        if self.repository and self.run_id:
            return f"{self.server_url}/{self.repository}/actions/runs/{self.run_id}"
        return None

    def describe(self) -> str:
        if self.pr_number is not None:
            head = (self.pr_head_sha or "")[:10]
            base = (self.base_sha or "")[:10]
            return f"pull request #{self.pr_number} ({base}...{head}{', from a fork' if self.fork else ''})"
        if self.deployment_state is not None:
            where = self.deployment_url or "no URL"
            env = f" to {self.deployment_environment}" if self.deployment_environment else ""
            return f"deployment{env} ({self.deployment_state}): {where}"
        if self.tag is not None:
            return f"release tag {self.tag}"
        if self.event_name:
            return f"{self.event_name} of {self.ref or self.sha or 'unknown ref'}"
        return "local run"


def _load_event(path_text: str) -> dict[str, Any]:
    path = Path(path_text)
    try:
        size = path.stat().st_size
        if size > MAX_EVENT_BYTES:
            raise InputError(
                f"the event payload is {size} bytes, over the {MAX_EVENT_BYTES} GitHub ever sends",
                Position(path),
            )
        with path.open("rb") as handle:
            raw = handle.read(MAX_EVENT_BYTES + 1)
    except OSError as error:
        raise InputError(
            f"cannot read the event payload: {error.strerror}",
            Position(path),
            hint="GITHUB_EVENT_PATH must name the JSON file the runner wrote",
        ) from error
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        line = getattr(error, "lineno", None)
        raise InputError(f"the event payload is not JSON: {error}", Position(path, line)) from error
    if not isinstance(data, dict):
        raise InputError("the event payload is not a JSON object", Position(path, 1))
    return data


def _get(data: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _sha(value: Any, what: str) -> str:
    if not isinstance(value, str) or not _SHA.match(value):
        raise InputError(
            f"the event's {what} is not a commit SHA (40 or 64 lowercase hex digits): {str(value)[:80]!r}",
            Position(_SOURCE),
        )
    return value


def _preview_url(value: Any, allowed_hosts: tuple[str, ...]) -> str:
    """The deployment's URL, if it is https and (when the workflow lists hosts) on an allowed host.

    Anyone who may create deployment statuses (often a third-party integration) chooses this
    URL, and the gate sends requests to it from the runner; the allow-list keeps it on the
    hosts the workflow expects.
    """
    text = value if isinstance(value, str) else ""
    parsed = urllib.parse.urlsplit(text)
    host = (parsed.hostname or "").lower()
    if parsed.scheme != "https" or not host:
        raise InputError(
            f"the deployment's environment_url is not an https URL: {text[:200]!r}",
            Position(_SOURCE),
            hint="the gate only tests a preview over https; fix the deployment's environment_url",
        )
    if allowed_hosts and not any(fnmatch.fnmatchcase(host, pattern.lower()) for pattern in allowed_hosts):
        raise InputError(
            f"the deployment's URL points at {host}, which is not among the allowed preview hosts "
            f"({', '.join(allowed_hosts)})",
            Position("input 'preview-hosts'"),
            hint="add the host (a glob such as *.vercel.app) to the preview-hosts input if it is yours",
        )
    return text


def pull_request_shas(environ: Mapping[str, str]) -> tuple[str, str] | None:
    """(base, head) of the pull request this run is for, or None outside a pull_request event.

    Read straight from the event even under `--no-github`; its SHAs are checked like every other
    value of the payload, so nothing but two commit ids reaches git.
    """
    if environ.get("GITHUB_EVENT_NAME") not in ("pull_request", "pull_request_target"):
        return None
    event_path = environ.get(_SOURCE)
    if not event_path:
        raise InputError(
            "GITHUB_EVENT_NAME says pull_request but GITHUB_EVENT_PATH is not set",
            hint="run inside GitHub Actions, or give the range explicitly with --diff BASE...HEAD",
        )
    pull = _get(_load_event(event_path), "pull_request")
    base = _sha(_get(pull, "base", "sha"), "pull_request.base.sha")
    return base, _sha(_get(pull, "head", "sha"), "pull_request.head.sha")


def pull_request_range(environ: Mapping[str, str]) -> str | None:
    """BASE...HEAD of the pull request this run is for, or None outside a pull_request event."""
    shas = pull_request_shas(environ)
    return f"{shas[0]}...{shas[1]}" if shas else None


def trusts_head_policy(environ: Mapping[str, str]) -> bool:
    """The action input `trust-head-policy`: let a pull request's own gate.yml judge it."""
    return _truthy(action_input(environ, "trust-head-policy"), False)


def read_context(environ: Mapping[str, str], *, force: bool = False) -> GitHubContext | None:
    """The run's GitHub context, or None outside Actions unless `force` (`gate run --github`)."""
    in_actions = environ.get("GITHUB_ACTIONS") == "true"
    if not in_actions and not force:
        return None
    token = action_input(environ, "github-token") or environ.get("GITHUB_TOKEN") or None
    if token:
        register(token)
    repository = environ.get("GITHUB_REPOSITORY") or None
    if repository is not None and not _REPOSITORY.match(repository):
        raise InputError(f"GITHUB_REPOSITORY is not OWNER/NAME: {repository[:100]!r}")
    sha = environ.get("GITHUB_SHA") or None
    fields: dict[str, Any] = {
        "in_actions": in_actions,
        "event_name": environ.get("GITHUB_EVENT_NAME") or None,
        "repository": repository,
        "sha": _sha(sha, "GITHUB_SHA") if sha else None,
        "ref": environ.get("GITHUB_REF") or None,
        "api_url": (environ.get("GITHUB_API_URL") or DEFAULT_API_URL).rstrip("/"),
        "server_url": (environ.get("GITHUB_SERVER_URL") or "https://github.com").rstrip("/"),
        "run_id": environ.get("GITHUB_RUN_ID") or None,
        "workspace": Path(environ["GITHUB_WORKSPACE"]) if environ.get("GITHUB_WORKSPACE") else None,
        "step_summary": Path(environ["GITHUB_STEP_SUMMARY"]) if environ.get("GITHUB_STEP_SUMMARY") else None,
        "output_file": Path(environ["GITHUB_OUTPUT"]) if environ.get("GITHUB_OUTPUT") else None,
        "token": token,
        "settings": Settings.from_environ(environ),
    }
    fields["head_sha"] = fields["sha"]
    event_path = environ.get("GITHUB_EVENT_PATH")
    event = _load_event(event_path) if event_path else {}
    event_name = fields["event_name"]
    if event_name in ("pull_request", "pull_request_target") and isinstance(event.get("pull_request"), dict):
        pull = event["pull_request"]
        number = event.get("number", pull.get("number"))
        if not isinstance(number, int) or number < 1:
            raise InputError(f"the pull request event has no valid number: {str(number)[:40]!r}", Position(_SOURCE))
        fields["pr_number"] = number
        fields["base_sha"] = _sha(_get(pull, "base", "sha"), "pull_request.base.sha")
        fields["pr_head_sha"] = _sha(_get(pull, "head", "sha"), "pull_request.head.sha")
        fields["head_sha"] = fields["pr_head_sha"]
        head_repo = _get(pull, "head", "repo", "full_name")
        fields["fork"] = head_repo is not None and head_repo != _get(event, "repository", "full_name")
    elif event_name == "deployment_status":
        state = _get(event, "deployment_status", "state")
        fields["deployment_state"] = str(state) if state else "unknown"
        environment = _get(event, "deployment_status", "environment") or _get(event, "deployment", "environment")
        fields["deployment_environment"] = str(environment) if environment else None
        deployed = _get(event, "deployment", "sha")
        if deployed:
            fields["head_sha"] = _sha(deployed, "deployment.sha")
        if state == "success":
            url = _get(event, "deployment_status", "environment_url") or _get(event, "deployment_status", "target_url")
            if url:
                allowed = tuple(
                    part.strip() for part in (action_input(environ, "preview-hosts") or "").split(",") if part.strip()
                )
                fields["deployment_url"] = _preview_url(url, allowed)
    elif event_name == "push" and (fields["ref"] or "").startswith("refs/tags/"):
        fields["tag"] = fields["ref"].removeprefix("refs/tags/")
    return GitHubContext(**fields)


@dataclass(frozen=True)
class Plan:
    """What the event changes about the run: config overrides, checks to skip, and why."""

    overrides: tuple[Override, ...] = ()
    skip: frozenset[str] = frozenset()
    notes: tuple[str, ...] = ()


def _accepted_key(check: str, keys: tuple[str, ...]) -> str | None:
    """The first dotted key the registered check's schema declares (checks name them differently)."""
    from gate.checks import REGISTRY

    registered = REGISTRY.get(check)
    if registered is None:
        return None
    for key in keys:
        schema: Mapping[str, Any] = registered.config_schema
        for part in key.split("."):
            schema = schema.get("properties", {}).get(part) if isinstance(schema, Mapping) else None
            if schema is None:
                break
        else:
            return key
    return None


def plan_for(context: GitHubContext) -> Plan:
    overrides: list[Override] = []
    skip: set[str] = set()
    notes: list[str] = []

    def override(check: str, keys: tuple[str, ...], value: Any, what: str) -> None:
        key = _accepted_key(check, keys)
        if key is not None:
            overrides.append(Override(check, key, value, _SOURCE))
            notes.append(f"{what}: checks.{check}.{key} = {value}")
        else:
            notes.append(f"{what}, but the {check} check does not take '{keys[-1]}' here; it runs as gate.yml says")

    if context.pr_number is not None and context.base_sha and context.pr_head_sha:
        override(
            "secrets",
            ("sources.diff", "diff"),
            f"{context.base_sha}...{context.pr_head_sha}",
            f"pull request #{context.pr_number}: scanning the lines it adds",
        )
    if context.deployment_state is not None:
        if context.deployment_state != "success":
            skip.add("http")
            notes.append(
                f"deployment state is '{context.deployment_state}', not success: the http check is skipped "
                "(there is no working preview to test)"
            )
        elif context.deployment_url:
            override("http", ("url",), context.deployment_url, "testing the deployed preview")
        else:
            notes.append(
                "the deployment reported success without an environment_url; the http check uses gate.yml's url"
            )
    if context.tag is not None:
        override(
            "secrets", ("sources.history", "history"), True, f"release tag {context.tag}: scanning the whole history"
        )
    return Plan(overrides=tuple(overrides), skip=frozenset(skip), notes=tuple(notes))
