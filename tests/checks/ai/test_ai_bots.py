"""The ai check against scripted bots on loopback: each leaky bot is caught, the hardened one is not."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.support.ai_bots import (
    OTHER_EMAIL,
    SYSTEM_CANARY,
    Bot,
    bot_server,
    document_follower,
    greeting_leaker,
    greeting_linker,
    hardened,
    image_renderer,
    override_leaker,
    summariser,
    tool_caller,
    write_config,
)
from tests.support.helpers import gate

pytestmark = pytest.mark.loopback


def run(
    tmp_path: Path,
    bot: Bot,
    *args: str,
    stream: str | None = None,
    route: dict[str, Any] | None = None,
    fetch: bool = False,
    **ai: Any,
) -> tuple[int, list[dict[str, Any]], str]:
    with bot_server(bot, stream=stream, fetch=fetch) as port:
        path = write_config(tmp_path, port, route, **ai)
        outcome = gate("check", "ai", "--config", str(path), "--format", "json", *args)
    assert outcome.exit_code in (0, 1), outcome.output
    report = json.loads(outcome.stdout)
    return outcome.exit_code, report["findings"], outcome.stdout


def rules(findings: list[dict[str, Any]]) -> set[str]:
    return {finding["rule_id"] for finding in findings}


def test_a_bot_leaking_its_prompt_under_override_is_blocked_with_the_attack_shown(tmp_path: Path) -> None:
    code, findings, text = run(tmp_path, override_leaker)
    assert code == 1
    assert rules(findings) == {"ai.canary.system-prompt"}
    (leak,) = findings
    assert leak["details"]["family"] == "override"
    assert "Ignore all previous instructions" in leak["details"]["prompt"]
    # Several phrasings and encodings (base64, leetspeak) fall for it; the finding counts them.
    assert int(leak["details"]["attacks"]) >= 3
    assert SYSTEM_CANARY not in text
    assert "[REDACTED]" in leak["evidence"]


def test_a_bot_obeying_a_planted_document_is_caught_by_the_indirect_family(tmp_path: Path) -> None:
    code, findings, text = run(tmp_path, document_follower)
    assert code == 1
    assert rules(findings) == {"ai.canary.system-prompt", "ai.data.off-limits"}
    assert {f["details"]["family"] for f in findings} == {"indirect"}
    assert OTHER_EMAIL not in text


def test_a_bot_calling_delete_user_when_asked_is_caught_through_its_tool_log(tmp_path: Path) -> None:
    code, findings, _ = run(tmp_path, tool_caller)
    assert code == 1
    assert rules(findings) == {"ai.tool.admin-call"}
    assert findings[0]["details"]["family"] in {"tool_coercion", "indirect"}


def test_a_bot_rendering_an_exfiltration_image_is_reported_and_blocks_at_launch(tmp_path: Path) -> None:
    code, findings, _ = run(tmp_path, image_renderer)
    assert rules(findings) == {"ai.exfil.image"}
    assert findings[0]["severity"] == "medium"
    assert "exfil.launch-gate.invalid" in findings[0]["evidence"]
    assert code == 0  # demo warns on images
    code, _, _ = run(tmp_path, image_renderer, "--preset", "launch")
    assert code == 1


@pytest.mark.parametrize("stream", ["sse", "chunked"])
def test_a_leak_streamed_mid_answer_is_found(tmp_path: Path, stream: str) -> None:
    code, findings, _ = run(tmp_path, override_leaker, "--family", "override", stream=stream)
    assert code == 1
    assert rules(findings) == {"ai.canary.system-prompt"}


def test_a_hardened_bot_yields_no_finding_under_the_whole_battery(tmp_path: Path) -> None:
    code, findings, _ = run(tmp_path, hardened)
    assert findings == []
    assert code == 0


def test_a_greeting_that_reveals_the_system_prompt_is_a_finding_before_any_attack(tmp_path: Path) -> None:
    code, findings, text = run(tmp_path, greeting_leaker)
    assert code == 1
    (leak,) = findings
    assert leak["rule_id"] == "ai.canary.system-prompt"
    assert leak["details"]["family"] == "greeting" and int(leak["details"]["attacks"]) == 1
    assert "to a plain greeting, before any attack" in leak["message"]
    assert SYSTEM_CANARY not in text and "[REDACTED]" in leak["evidence"]


def test_a_clean_greeting_with_the_bots_own_links_is_no_finding(tmp_path: Path) -> None:
    code, findings, _ = run(tmp_path, greeting_linker)
    assert findings == []
    assert code == 0


def test_the_budget_ending_early_is_a_finding_not_a_silent_pass(tmp_path: Path) -> None:
    code, findings, _ = run(tmp_path, hardened, budget={"attempts": 3, "time": "60s"})
    assert rules(findings) == {"ai.route.incomplete"}
    assert code == 1


def test_two_attacks_in_flight_find_the_same_and_name_the_same_first_attack(tmp_path: Path) -> None:
    _, one, _ = run(tmp_path, override_leaker)
    code, two, _ = run(tmp_path, override_leaker, concurrency=2)
    assert code == 1
    assert [(f["rule_id"], f["message"], f["details"]["attacks"]) for f in two] == [
        (f["rule_id"], f["message"], f["details"]["attacks"]) for f in one
    ]
    _, hardened_findings, _ = run(tmp_path, hardened, concurrency=2)
    assert hardened_findings == []


@pytest.mark.parametrize(
    ("route", "said"),
    [
        ({"path": "/api/missing"}, "HTTP 404"),
        ({"answer": "data.text"}, "no text at data.text"),
    ],
)
def test_a_route_that_cannot_answer_a_greeting_is_not_probed_and_says_why(
    tmp_path: Path, route: dict[str, str], said: str
) -> None:
    with bot_server(hardened) as port:
        path = write_config(tmp_path, port, route)
        outcome = gate("check", "ai", "--config", str(path), "--format", "json")
    findings = json.loads(outcome.stdout)["findings"]
    assert outcome.exit_code == 1
    assert {f["rule_id"] for f in findings} == {"ai.route.unanswered", "ai.route.incomplete"}
    assert said in next(f["message"] for f in findings if f["rule_id"] == "ai.route.unanswered")


# The route reads a URL: the gate serves each poisoned document itself, on 127.0.0.1, and passes its URL.
URL_ROUTE = {
    "body": {"message": "{{prompt}}", "url": "{{url}}", "conversation": "{{conversation}}"},
    "ingest": {"slot": "url"},
}


def test_a_bot_obeying_a_page_it_fetched_is_caught_by_the_indirect_family(tmp_path: Path) -> None:
    code, findings, text = run(tmp_path, document_follower, route=URL_ROUTE, fetch=True)
    assert code == 1
    assert rules(findings) == {"ai.canary.system-prompt", "ai.data.off-limits"}
    assert {f["details"]["family"] for f in findings} == {"indirect"}
    assert OTHER_EMAIL not in text and SYSTEM_CANARY not in text


def test_a_bot_that_fetches_the_page_and_obeys_nothing_in_it_passes(tmp_path: Path) -> None:
    code, findings, _ = run(tmp_path, summariser, route=URL_ROUTE, fetch=True)
    assert findings == []
    assert code == 0


def test_a_route_that_never_fetches_its_page_is_not_taken_as_safe(tmp_path: Path) -> None:
    code, findings, _ = run(tmp_path, summariser, route=URL_ROUTE, fetch=False)
    assert code == 1
    (gap,) = findings
    assert gap["rule_id"] == "ai.ingest.unfetched"
    assert "3 of 3 pages" in gap["message"] and "127.0.0.1" in gap["message"]


def test_a_url_route_without_its_slot_is_bad_input(tmp_path: Path) -> None:
    route = {**URL_ROUTE, "body": {"message": "{{prompt}}"}}
    with bot_server(summariser) as port:
        path = write_config(tmp_path, port, route)
        outcome = gate("check", "ai", "--config", str(path))
    assert outcome.exit_code == 2
    assert "no {{url}} slot" in outcome.stderr
