"""Reading the run's GitHub context from real-shaped event payloads, and what it changes."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import pytest

from gate.checks import REGISTRY
from gate.errors import InputError
from gate.github.context import plan_for, read_context
from tests.support.contracts import Contracts
from tests.support.github_events import Webhooks
from tests.support.github_probe import HttpProbe, SecretsProbe

BASE = "1" * 40
HEAD = "2" * 40
MERGE = "3" * 40


@pytest.fixture()
def hooks(contracts: Contracts) -> Webhooks:
    return Webhooks(contracts.github_rest)


@pytest.fixture()
def probes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(REGISTRY, "secrets", SecretsProbe)
    monkeypatch.setitem(REGISTRY, "http", HttpProbe)


def _environ(tmp_path: Path, event_name: str, payload: object, **extra: str) -> dict[str, str]:
    path = tmp_path / "event.json"
    path.write_text(json.dumps(payload))
    return {
        "GITHUB_ACTIONS": "true",
        "GITHUB_EVENT_NAME": event_name,
        "GITHUB_EVENT_PATH": str(path),
        "GITHUB_REPOSITORY": "octo-org/app",
        "GITHUB_SHA": MERGE,
        **extra,
    }


def _pull_request(hooks: Webhooks, head_repo: str = "octo-org/app") -> dict[str, object]:
    return hooks.event(
        "pull-request-synchronize",
        {
            "number": 42,
            "before": "4" * 40,
            "after": HEAD,
            "repository": {"full_name": "octo-org/app"},
            "pull_request": {
                "number": 42,
                "merge_commit_sha": MERGE,
                "base": {"sha": BASE, "ref": "main"},
                "head": {"sha": HEAD, "ref": "feature", "repo": {"full_name": head_repo}},
            },
        },
    )


def test_outside_actions_nothing_is_read(tmp_path: Path) -> None:
    assert read_context({"GITHUB_EVENT_PATH": str(tmp_path / "missing.json")}) is None


def test_pull_request_gives_the_secrets_check_its_diff_range(tmp_path: Path, hooks: Webhooks, probes: None) -> None:
    context = read_context(_environ(tmp_path, "pull_request", _pull_request(hooks), GITHUB_REF="refs/pull/42/merge"))
    assert context is not None
    assert (context.pr_number, context.base_sha, context.pr_head_sha) == (42, BASE, HEAD)
    # Reports go on the PR head, not on GitHub's test merge commit; SARIF keeps the merge ref.
    assert context.head_sha == HEAD and context.sha == MERGE and not context.fork
    plan = plan_for(context)
    assert [(o.check, o.key, o.value) for o in plan.overrides] == [("secrets", "sources.diff", f"{BASE}...{HEAD}")]


def test_a_fork_pull_request_is_recognised(tmp_path: Path, hooks: Webhooks) -> None:
    context = read_context(_environ(tmp_path, "pull_request", _pull_request(hooks, head_repo="stranger/app")))
    assert context is not None and context.fork
    assert "from a fork" in context.describe()


def test_a_check_that_takes_no_diff_leaves_gate_yml_in_charge(
    tmp_path: Path, hooks: Webhooks, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delitem(REGISTRY, "secrets", raising=False)
    context = read_context(_environ(tmp_path, "pull_request", _pull_request(hooks)))
    assert context is not None
    plan = plan_for(context)
    assert plan.overrides == ()
    assert "does not take 'diff'" in plan.notes[0]


def test_successful_deployment_points_the_http_check_at_the_preview(
    tmp_path: Path, hooks: Webhooks, probes: None
) -> None:
    payload = hooks.event(
        "deployment-status-created",
        {
            "deployment_status": {
                "state": "success",
                "environment_url": "https://app-git-feature.example.dev",
                "target_url": "https://vercel.example.com/logs/1",
                "environment": "Preview",
            },
            "deployment": {"sha": HEAD, "ref": "feature", "environment": "Preview"},
        },
    )
    context = read_context(_environ(tmp_path, "deployment_status", payload))
    assert context is not None
    assert context.head_sha == HEAD and context.deployment_url == "https://app-git-feature.example.dev"
    plan = plan_for(context)
    assert [(o.check, o.key, o.value) for o in plan.overrides] == [
        ("http", "url", "https://app-git-feature.example.dev")
    ]
    assert not plan.skip


def test_target_url_is_the_fallback_when_there_is_no_environment_url(tmp_path: Path, hooks: Webhooks) -> None:
    payload = hooks.event(
        "deployment-status-created",
        {
            "deployment_status": {"state": "success", "target_url": "https://preview.example.dev/"},
            "deployment": {"sha": HEAD},
        },
    )
    payload["deployment_status"].pop("environment_url", None)
    context = read_context(_environ(tmp_path, "deployment_status", payload))
    assert context is not None and context.deployment_url == "https://preview.example.dev/"


@pytest.mark.parametrize("state", ["failure", "error", "pending"])
def test_a_deployment_that_did_not_succeed_skips_the_http_check_with_a_note(
    tmp_path: Path, hooks: Webhooks, probes: None, state: str
) -> None:
    payload = hooks.event(
        "deployment-status-created", {"deployment_status": {"state": state}, "deployment": {"sha": HEAD}}
    )
    context = read_context(_environ(tmp_path, "deployment_status", payload))
    assert context is not None
    plan = plan_for(context)
    assert plan.skip == {"http"} and plan.overrides == ()
    assert f"deployment state is '{state}'" in plan.notes[0]


def test_a_plain_http_preview_url_is_refused(tmp_path: Path, hooks: Webhooks) -> None:
    payload = hooks.event(
        "deployment-status-created",
        {
            "deployment_status": {"state": "success", "environment_url": "http://preview.example.dev"},
            "deployment": {"sha": HEAD},
        },
    )
    with pytest.raises(InputError, match="not an https URL"):
        read_context(_environ(tmp_path, "deployment_status", payload))


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://app-git-x.vercel.app", True),
        ("https://APP.vercel.app/", True),
        ("https://attacker.example", False),
        ("https://vercel.app.attacker.example", False),
    ],
)
def test_preview_hosts_keep_the_http_check_on_the_expected_hosts(
    tmp_path: Path, hooks: Webhooks, url: str, allowed: bool
) -> None:
    payload = hooks.event(
        "deployment-status-created",
        {"deployment_status": {"state": "success", "environment_url": url}, "deployment": {"sha": HEAD}},
    )
    environ = _environ(
        tmp_path, "deployment_status", payload, **{"INPUT_PREVIEW-HOSTS": "*.vercel.app, preview.example.dev"}
    )
    if allowed:
        context = read_context(environ)
        assert context is not None and context.deployment_url == url
    else:
        with pytest.raises(InputError, match="not among the allowed preview hosts"):
            read_context(environ)


def test_a_tag_push_is_a_release_that_scans_history(tmp_path: Path, probes: None) -> None:
    payload = {
        "ref": "refs/tags/v1.4.0",
        "before": "0" * 40,
        "after": HEAD,
        "created": True,
        "deleted": False,
        "forced": False,
        "base_ref": "refs/heads/main",
        "repository": {"full_name": "octo-org/app"},
    }
    context = read_context(_environ(tmp_path, "push", payload, GITHUB_REF="refs/tags/v1.4.0", GITHUB_SHA=HEAD))
    assert context is not None and context.tag == "v1.4.0" and context.kind == "release"
    plan = plan_for(context)
    assert [(o.check, o.key, o.value) for o in plan.overrides] == [("secrets", "sources.history", True)]


@pytest.mark.parametrize(
    ("sha", "reason"),
    [("--output=/tmp/x", "option-like"), ("abc", "short"), ("G" * 40, "not hex")],
)
def test_a_sha_that_is_not_hex_never_reaches_git(tmp_path: Path, hooks: Webhooks, sha: str, reason: str) -> None:
    payload = _pull_request(hooks)
    payload["pull_request"]["head"]["sha"] = sha  # type: ignore[index]
    with pytest.raises(InputError, match="not a commit SHA"):
        read_context(_environ(tmp_path, "pull_request", payload))


def test_a_broken_event_file_is_bad_input_naming_it(tmp_path: Path) -> None:
    environ = _environ(tmp_path, "pull_request", {})
    Path(environ["GITHUB_EVENT_PATH"]).write_text("{not json")
    with pytest.raises(InputError) as caught:
        read_context(environ)
    assert "event.json" in caught.value.render() and "not JSON" in caught.value.render()


def test_the_token_input_is_registered_for_scrubbing(tmp_path: Path) -> None:
    from gate.redact import scrub

    token = "ghs_InputTokenInputTokenInputToken0001"
    context = read_context({"GITHUB_ACTIONS": "true", "INPUT_GITHUB-TOKEN": token})
    assert context is not None and context.token == token
    assert token not in scrub(f"Authorization: token {token}")


class FlatSecrets(SecretsProbe):
    config_schema: ClassVar[Mapping[str, Any]] = {"properties": {"diff": {"type": "string"}}}


def test_a_check_with_a_flat_diff_key_gets_it_there(
    tmp_path: Path, hooks: Webhooks, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(REGISTRY, "secrets", FlatSecrets)
    context = read_context(_environ(tmp_path, "pull_request", _pull_request(hooks)))
    assert context is not None
    assert [(o.key, o.value) for o in plan_for(context).overrides] == [("diff", f"{BASE}...{HEAD}")]
