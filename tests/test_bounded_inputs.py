"""The bounded readers and decoders on their own: what the fault suite drives end to end."""

from __future__ import annotations

import gzip
import json
import logging
import os
import threading
import zlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar

import brotli
import pytest

from gate.bodies import BoundedBody, DecodingError, decode_all, encodings
from gate.checks import REGISTRY
from gate.checks.base import Check, CheckContext, Result
from gate.config.yamlpos import load_file, load_text
from gate.errors import InputError
from gate.github.commands import command_like, escape_report, for_runner, guarded
from gate.printable import printable
from gate.safeio import UnreadableFile, check_regular, read_regular
from tests.support.helpers import gate, write_files

TEXT = os.urandom(3000) + b"launch gate " * 20_000


def _raw_deflate(data: bytes) -> bytes:
    packer = zlib.compressobj(wbits=-15)
    return packer.compress(data) + packer.flush()


def _chunks(data: bytes, size: int = 997) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


@pytest.mark.parametrize(
    ("header", "wire"),
    [
        ("gzip", gzip.compress(TEXT)),
        ("x-gzip", gzip.compress(TEXT)),
        ("deflate", zlib.compress(TEXT)),
        ("deflate", _raw_deflate(TEXT)),
        ("br", brotli.compress(TEXT)),
        ("gzip, br", brotli.compress(gzip.compress(TEXT))),
        ("identity", TEXT),
        ("compress-unknown", TEXT),
        (None, TEXT),
    ],
)
def test_every_coding_round_trips_and_stops_at_the_cap(header: str | None, wire: bytes) -> None:
    assert decode_all(header, _chunks(wire), len(TEXT)) == (TEXT, False)
    body, over = decode_all(header, _chunks(wire), 10_000)
    assert over and body == TEXT[:10_000]


def test_layers_are_capped_and_named() -> None:
    assert encodings("GZIP, identity, br") == ["gzip", "br"]
    with pytest.raises(DecodingError, match="3 layers"):
        BoundedBody("gzip, gzip, br", 100)


@pytest.mark.parametrize("header", ["gzip", "deflate", "br"])
def test_corrupt_data_is_a_decoding_error(header: str) -> None:
    with pytest.raises(DecodingError, match="corrupt"):
        decode_all(header, [b"\x1f\x8b\x08\x00" + b"\xff" * 64 if header == "gzip" else b"\xff" * 64], 1000)


def test_gzip_members_are_joined_and_trailing_junk_is_dropped() -> None:
    assert decode_all("gzip", [gzip.compress(b"one "), gzip.compress(b"two")], 100) == (b"one two", False)
    assert decode_all("gzip", [gzip.compress(b"body") + b"junk"], 100) == (b"body", False)


def test_wire_bytes_far_past_the_cap_stop_the_read() -> None:
    body = BoundedBody("gzip", 100)
    body.feed(gzip.compress(b"x"))
    for _ in range(10):
        body.feed(b"\0" * 1000)  # after the end of the stream: decodes to nothing
    assert body.over and body.finish() == b"x"


def test_a_layered_bomb_decodes_no_more_than_the_cap() -> None:
    bomb = gzip.compress(gzip.compress(bytes(64 << 20)))
    body, over = decode_all("gzip, gzip", _chunks(bomb, 512), 1 << 20)
    assert over and len(body) == 1 << 20


def test_brotli_bomb_stops_at_the_cap() -> None:
    bomb = brotli.compress(bytes(64 << 20), quality=1)
    body, over = decode_all("br", _chunks(bomb, 4096), 1 << 16)
    assert over and len(body) == 1 << 16


def test_read_regular_refuses_what_is_not_a_regular_file(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(UnreadableFile, match="FIFO"):
        read_regular(fifo, 100)
    with pytest.raises(UnreadableFile, match="directory"):
        read_regular(tmp_path, 100)
    with pytest.raises(UnreadableFile, match="character device"):
        check_regular("/dev/null", 100)
    big = tmp_path / "big"
    big.write_bytes(b"x" * 101)
    with pytest.raises(UnreadableFile, match="limited to 100"):
        read_regular(big, 100)
    assert read_regular(big, 101) == b"x" * 101


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: &a [1, *a]\n", "a loop"),
        ("a: " + "[" * 150 + "]" * 150 + "\n", "nesting deeper than 100"),
        ("a: " + "{b: " * 150 + "1" + "}" * 150 + "\n", "nesting deeper than 100"),
        ("a: 2025-02-30\n", "not a real one"),
        ("a: " + "9" * 5000 + "\n", "cannot be read"),
        ("".join(f"k{i}: &k{i} [1]\n" for i in range(1001)) + "x: [" + ", ".join(["*k0"] * 1001) + "]\n", "aliases"),
    ],
)
def test_yaml_growth_is_refused_with_a_position(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message) as caught:
        load_text(text, Path("gate.yml"))
    assert caught.value.position is not None and caught.value.position.line is not None


def test_aliases_deeper_than_the_limit_are_refused() -> None:
    lines = ["l0: &l0 [1]"] + [f"l{i}: &l{i} [*l{i - 1}]" for i in range(1, 120)]
    with pytest.raises(InputError, match="deeper than 100"):
        load_text("\n".join(lines) + "\n", Path("gate.yml"))


def test_a_modest_alias_reuse_is_still_fine() -> None:
    doc = load_text("base: &b {enabled: true}\nchecks:\n  env: *b\n  deps: *b\n", Path("gate.yml"))
    assert doc.data["checks"] == {"env": {"enabled": True}, "deps": {"enabled": True}}


def test_config_that_is_a_fifo_is_an_input_error(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "gate.yml")
    with pytest.raises(InputError, match="FIFO"):
        load_file(tmp_path / "gate.yml")


def test_printable_escapes_every_line_break() -> None:
    # A tab stays: it cannot start a line.
    assert printable("a\nb\rc\td\x1b\u2028") == "a\\x0ab\\x0dc\td\\x1b\\x2028"


def test_command_like_text_is_guarded_only_in_actions() -> None:
    assert command_like("x ##[add-mask]y") and command_like("a\n  ::error::b") and not command_like("a::b")
    text = "y ##[stop-commands]tok\n"
    assert for_runner(text, {"GITHUB_ACTIONS": "false"}) == text
    wrapped = for_runner(text, {"GITHUB_ACTIONS": "true"})
    token = wrapped.splitlines()[0].removeprefix("::stop-commands::")
    assert len(token) == 32 and wrapped.endswith(f"::{token}::\n") and text in wrapped
    assert guarded("plain") == "plain"


def test_reports_on_stdout_are_escaped_losslessly() -> None:
    document = {"path": "x ##[add-mask]y", "message": "::error::z"}
    text = json.dumps(document, indent=2)
    assert "##[" not in escape_report(text, "sarif") and json.loads(escape_report(text, "json")) == document
    assert escape_report("<a>##[x]::y</a>", "junit") == "<a>#&#35;[x]:&#58;y</a>"
    assert escape_report("::x", "console") == "::x"


class _SlowPrepare(Check):
    name = "slowprepare"
    summary = "Prepares until released."
    config_schema: ClassVar[Mapping[str, Any]] = {"additionalProperties": True}
    release = threading.Event()

    def prepare(self, ctx: CheckContext) -> None:
        self.release.wait(30)

    def run(self, ctx: CheckContext) -> Iterator[Result]:
        yield from ()


def test_prepare_past_the_run_deadline_fails_closed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(REGISTRY, _SlowPrepare.name, _SlowPrepare)
    off = "  env:\n    enabled: false\n  deps:\n    enabled: false\n  secrets:\n    enabled: false\n"
    write_files(tmp_path, {"gate.yml": f"version: 1\nrun:\n  timeout: 300ms\nchecks:\n{off}"})
    try:
        outcome = gate("check", "slowprepare", cwd=tmp_path)
    finally:
        _SlowPrepare.release.set()
    assert outcome.exit_code == 3, outcome.output
    assert "preparing the checks did not finish within the run's 0.3s deadline" in outcome.stderr


def test_log_lines_are_guarded_inside_actions(monkeypatch: pytest.MonkeyPatch) -> None:
    from gate.cli import _RunnerSafeFormatter

    record = logging.LogRecord("gate.http", logging.INFO, __file__, 1, "GET %s", ("https://x/ ##[add-mask]y",), None)
    formatter = _RunnerSafeFormatter("%(levelname)s %(name)s: %(message)s")
    monkeypatch.setenv("GITHUB_ACTIONS", "false")
    assert formatter.format(record) == "INFO gate.http: GET https://x/ ##[add-mask]y"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    lines = formatter.format(record).splitlines()
    assert lines[0].startswith("::stop-commands::") and lines[-1] == f"::{lines[0].split('::')[2]}::"


def test_source_files_that_cannot_be_read_are_listed_not_opened(tmp_path: Path) -> None:
    from gate.checks.env.tunables import load_rules
    from gate.checks.env.usage import MAX_SOURCE_BYTES, CodePatterns, scan_tree

    write_files(tmp_path, {"app/main.py": "import os\nos.environ['READ_ME']\n"})
    (tmp_path / "app" / "huge.py").write_bytes(b"#" * (MAX_SOURCE_BYTES + 1))
    os.mkfifo(tmp_path / "app" / "pipe.py")
    unreadable: list[tuple[str, str]] = []
    usages = list(scan_tree(tmp_path, ["."], CodePatterns.from_rules(load_rules()), unreadable))
    assert [u.name for u in usages] == ["READ_ME"]
    # The oversized file is skipped on purpose (bundles, generated code); the FIFO is listed.
    assert [path for path, _ in unreadable] == ["app/pipe.py"] and "FIFO" in unreadable[0][1]
