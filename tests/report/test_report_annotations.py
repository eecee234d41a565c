"""Workflow-command annotations: escaping by the runner's rules, per-step limits, no forged commands."""

from __future__ import annotations

import re
from pathlib import Path

from gate.github import commands
from gate.model import Finding, JudgedFinding, Location, Severity
from gate.redact import register
from gate.report import workflow_annotations as annotations


def _unescape_data(text: str) -> str:
    # The runner's order: the specific sequences first, `%25` last.
    return text.replace("%0D", "\r").replace("%0A", "\n").replace("%25", "%")


def _unescape_property(text: str) -> str:
    return _unescape_data(text.replace("%3A", ":").replace("%2C", ","))


def _parse(line: str) -> tuple[str, dict[str, str], str]:
    """Parse a command the way actions/runner's ActionCommand.TryParseV2 does."""
    assert line.startswith("::")
    end = line.index("::", 2)
    head, message = line[2:end], line[end + 2 :]
    name, _, props = head.partition(" ")
    properties = {}
    for pair in props.split(","):
        if pair:
            key, _, value = pair.partition("=")
            properties[key] = _unescape_property(value)
    return name, properties, _unescape_data(message)


def _finding(rule: str, severity: Severity, blocking: bool, **location: object) -> JudgedFinding:
    finding = Finding(
        rule_id=rule,
        check="probe",
        severity=severity,
        title=f"Title {rule}",
        message=f"message {rule}",
        fix="fix it",
        location=Location(**location),  # type: ignore[arg-type]
    )
    return JudgedFinding(finding=finding, blocking=blocking)


def test_percent_newlines_colons_and_commas_survive_the_runners_parser() -> None:
    message = "100% sure: a,b\r\nline two %0A stays literal %25"
    title = "Title: with, commas and 50%"
    path = "src/we,ird:name.py"
    line = commands.workflow_command("error", {"file": path, "line": 3, "title": title}, message)
    assert "\n" not in line and "\r" not in line
    name, properties, parsed = _parse(line)
    assert name == "error"
    assert properties == {"file": path, "line": "3", "title": title}
    assert parsed == message


def test_a_message_cannot_end_the_property_list_or_start_a_new_command() -> None:
    hostile = "x\n::add-mask::oops\n::error file=evil.py::injected"
    line = commands.workflow_command("warning", {"title": "t::u"}, hostile)
    assert line.count("\n") == 0
    name, properties, parsed = _parse(line)
    assert (name, properties["title"], parsed) == ("warning", "t::u", hostile)


def test_registered_secret_is_scrubbed_from_annotations() -> None:
    canary = "CANARY-ann-4f1b7d0e9c2a"
    register(canary)
    line = commands.workflow_command("error", {"title": f"leak {canary}"}, f"value={canary}")
    assert canary not in line
    assert "[REDACTED]" in _parse(line)[2]


def test_most_severe_first_ten_per_level_and_one_line_counts_the_rest(tmp_path: Path) -> None:
    judged = (
        [_finding(f"r.notice{i}", Severity.LOW, False, path="a.py", line=i + 1) for i in range(12)]
        + [_finding(f"r.warn{i}", Severity.MEDIUM, False, path="b.py", line=i + 1) for i in range(3)]
        + [
            _finding(f"r.err{i}", Severity.CRITICAL if i == 14 else Severity.HIGH, True, path="c.py", line=i + 1)
            for i in range(15)
        ]
    )
    lines = annotations.annotation_lines(judged, tmp_path, None, "the job summary")
    parsed = [_parse(line) for line in lines]
    levels = [name for name, _, _ in parsed]
    assert levels == ["error"] * 10 + ["warning"] * 3 + ["notice"] * 10
    # The critical one comes first although it was last in the input.
    assert parsed[0][1]["title"].endswith("[r.err14]")
    closing = parsed[-1]
    assert closing[0] == "notice"
    assert "8 more finding(s) (5 errors, 3 notices)" in closing[2]
    assert "the job summary" in closing[2]


def test_no_closing_line_when_everything_fits(tmp_path: Path) -> None:
    judged = [_finding("r.a", Severity.HIGH, True, path="a.py", line=1)]
    lines = annotations.annotation_lines(judged, tmp_path, None, "x")
    assert len(lines) == 1


def test_columns_and_bad_ranges_follow_the_runners_rules(tmp_path: Path) -> None:
    one_line = annotations.Annotation("error", "m", "t", path="a.py", line=4, end_line=4, column=7).command()
    assert _parse(one_line)[1] == {"file": "a.py", "line": "4", "endLine": "4", "col": "7", "title": "t"}
    span = annotations.Annotation("error", "m", "t", path="a.py", line=4, end_line=9, column=7).command()
    assert "col" not in _parse(span)[1]
    backwards = annotations.Annotation("error", "m", "t", path="a.py", line=9, end_line=4, column=7).command()
    assert set(_parse(backwards)[1]) == {"file", "title"}


def test_paths_are_made_relative_to_the_workspace(tmp_path: Path) -> None:
    root = tmp_path / "services" / "api"
    root.mkdir(parents=True)
    judged = _finding("r.a", Severity.HIGH, True, path="app/main.py", line=2)
    note = annotations.annotation_for(judged, root, tmp_path)
    assert note.path == "services/api/app/main.py"
    outside = annotations.annotation_for(judged, root, tmp_path / "elsewhere")
    assert outside.path is None and outside.line is None
    assert "Where: app/main.py:2" in outside.message


def test_long_messages_are_cut_before_escaping() -> None:
    line = annotations.Annotation("notice", "%" * 5000, "t").command()
    message = _parse(line)[2]
    assert len(message) == annotations.MAX_MESSAGE
    assert re.fullmatch(r"%+…", message)


def test_guard_pauses_command_processing_around_untrusted_text() -> None:
    text = "report line\n::error::forged\n"
    guarded = commands.guarded(text)
    first, *_, last = guarded.splitlines()
    token = first.removeprefix("::stop-commands::")
    assert len(token) >= 32 and token not in text
    assert last == f"::{token}::"
    assert commands.guarded("no commands here\n") == "no commands here\n"


def test_multiline_outputs_use_a_delimiter_absent_from_the_value() -> None:
    text = commands.output_lines({"verdict": "fail", "notes": "a\nGATE_EOF_x\nb"})
    lines = text.splitlines()
    assert lines[0] == "verdict=fail"
    head = lines[1]
    assert head.startswith("notes<<GATE_EOF_")
    delimiter = head.split("<<", 1)[1]
    assert lines[2:5] == ["a", "GATE_EOF_x", "b"] and lines[5] == delimiter
    assert delimiter not in "a\nGATE_EOF_x\nb"


def test_notices_already_printed_count_against_the_step_limit(tmp_path: Path) -> None:
    judged = [_finding(f"r.n{i}", Severity.LOW, False, path="a.py", line=i + 1) for i in range(12)]
    lines = annotations.annotation_lines(judged, tmp_path, None, "the job summary", notices_used=2)
    assert len(lines) == 8  # 7 findings and the closing line: 2 + 8 = the runner's 10
    assert "5 more finding(s) (5 notices)" in _parse(lines[-1])[2]
