"""`gate init` on hostile projects: links, loops, huge files, too many files, names that speak
to the runner. It reads within its caps, follows no link, says what it skipped, and writes a
gate.yml that still loads."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gate.checks import config_schemas
from gate.config import load_config
from tests.faults.common import MEMORY_BUDGET
from tests.faults.peers import measured
from tests.faults.table import row
from tests.support.helpers import gate, write_files

OUTSIDE_SECRET = "ghp_" + "OutsideInitOutsideInitOutsideInit0042"


def _init(root: Path) -> tuple[str, float, int]:
    with measured() as box:
        outcome = gate("init", cwd=root)
    assert outcome.exit_code == 0, outcome.output
    assert "Traceback" not in outcome.output
    load_config(root / "gate.yml", check_schemas=config_schemas(), scan_root=root)
    return outcome.output, box[0].seconds, box[0].peak_bytes


@row("A symlink loop, and links out of the project", "init", "not followed: nothing outside the tree is read")
def test_links_and_loops_are_not_followed(tmp_path: Path) -> None:
    outside = write_files(
        tmp_path / "outside",
        {
            "app/api/stolen/route.ts": "export async function GET() {}\n",
            ".env.example": f"STOLEN_TOKEN={OUTSIDE_SECRET}\n",
            "public/CNAME": "stolen.example.com\n",
        },
    )
    root = write_files(tmp_path / "project", {"package.json": '{"dependencies": {"next": "14"}}'})
    (root / "loop").symlink_to(root, target_is_directory=True)
    (root / "app").symlink_to(outside / "app", target_is_directory=True)
    (root / ".env.example").symlink_to(outside / ".env.example")
    (root / "public").symlink_to(outside / "public", target_is_directory=True)
    output, seconds, _ = _init(root)
    written = (root / "gate.yml").read_text() + (root / "env.manifest.yml").read_text()
    assert "stolen" not in written and "STOLEN_TOKEN" not in written and OUTSIDE_SECRET not in output
    assert seconds < 20


@row("A 1 GB route file", "init", "not read: noted in gate.yml and the summary; bounded time and memory")
def test_a_huge_file_is_skipped_with_a_note(tmp_path: Path) -> None:
    root = write_files(tmp_path, {"package.json": '{"dependencies": {"next": "14"}}'})
    huge = root / "app" / "api" / "big" / "route.ts"
    huge.parent.mkdir(parents=True)
    with huge.open("wb") as handle:
        handle.truncate(1024**3)
    output, seconds, peak = _init(root)
    assert "file(s) over" in output and "file(s) over" in (root / "gate.yml").read_text()
    assert seconds < 20 and peak < MEMORY_BUDGET


@pytest.mark.slow
@row("100 000 files", "init", "reads the first 20 000 and says the rest were not read; bounded time")
def test_too_many_files_stop_the_walk_with_a_note(tmp_path: Path) -> None:
    root = write_files(tmp_path, {"package.json": '{"dependencies": {"next": "14"}}'})
    for folder in range(100):
        base = root / "src" / f"d{folder:03}"
        base.mkdir(parents=True)
        for index in range(1000):
            (base / f"f{index}.txt").touch()
    output, seconds, peak = _init(root)
    assert "more than 20000 files" in output
    assert seconds < 60 and peak < 4 * MEMORY_BUDGET


@row(
    "A route file named `::error::…` with a newline",
    "init",
    "data, not a command: no output line starts with `::`; gate.yml quotes it and still loads",
)
def test_names_that_speak_to_the_runner_stay_data(tmp_path: Path) -> None:
    name = "x::error file=x::pwned\n::warning::b"
    root = write_files(
        tmp_path,
        {
            "package.json": '{"dependencies": {"next": "14"}}',
            f"app/api/{name}/route.ts": "export async function GET() { return '::error::in code' }\n",
            ".env.example": "NAME_WITH_NOTHING=\n",
        },
    )
    output, _, _ = _init(root)
    assert not [line for line in output.splitlines() if line.lstrip().startswith(("::", "##["))]
    text = (root / "gate.yml").read_text()
    assert not [line for line in text.splitlines() if line.lstrip().startswith("::")]
    routes = load_config(root / "gate.yml", check_schemas=config_schemas(), scan_root=root).section("http")["routes"]
    assert routes[0]["path"] == f"/api/{name}"
    assert os.sep not in routes[0]["path"][5:]


@row("A YAML alias bomb as openapi.yaml", "init", "read at a fixed depth, never expanded: bounded time and memory")
def test_an_alias_bomb_in_an_openapi_document_stays_small(tmp_path: Path) -> None:
    levels = ["a0: &a0 {text/event-stream: {}}"]
    levels += [f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 10)}]" for n in range(1, 10)]
    document = "\n".join(["openapi: 3.0.0", "x-bomb:", *("  " + line for line in levels)])
    document += "\npaths:\n  /api/feed:\n    get:\n      responses:\n        '200': {content: *a0, x: *a9}\n"
    root = write_files(tmp_path, {"openapi.yaml": document})
    _, seconds, peak = _init(root)
    assert '{path: "/api/feed", method: GET, class: stream}' in (root / "gate.yml").read_text()
    assert seconds < 20 and peak < MEMORY_BUDGET
