"""Compression bombs from real loopback peers: every HTTP reader decodes under its cap.

Each run is a real `gate` process, so its own peak RSS is the measure: the bombs decode to
200 MB - 1 GB, the budget is a fraction of that, and before the bounded decoder the layered
ones reached gigabytes (then MemoryError) against a 64 KB body cap.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.faults.common import PROCESS_MEMORY_BUDGET, closed_run, fails_closed, gate_process
from tests.faults.peers import Bounds, TcpPeer, answer, compression_bomb, tls_server
from tests.faults.table import row
from tests.support.helpers import Outcome, write_files

NPM_LOCK = json.dumps(
    {
        "name": "app",
        "lockfileVersion": 3,
        "packages": {"": {"name": "app"}, "node_modules/left-pad": {"version": "1.3.0"}},
    }
)
LOCKS = {"npm": {"package-lock.json": NPM_LOCK}, "python": {"requirements.txt": "click==8.1.7\n"}}
PAGE_HEADERS = {
    "Strict-Transport-Security": "max-age=63072000; includeSubDomains; preload",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "private, no-cache",
}


def _preview_run(tmp_path: Path, codings: str, megabytes: int) -> tuple[Outcome, Bounds]:
    context, ca = tls_server(tmp_path)
    bomb = compression_bomb(codings, megabytes)
    with TcpPeer(answer(200, bomb, {**PAGE_HEADERS, "Content-Encoding": codings}), tls=context) as peer:
        section = {
            "enabled": True,
            "url": peer.url + "/",
            "ca_bundle": str(ca),
            "wait": {"timeout": "2s", "interval": "200ms"},
            "limits": {"timeout": "5s", "max_body": 65536},
            "crawl": {"max_pages": 1},
        }
        checks = {"env": {"enabled": False}, "deps": {"enabled": False}, "secrets": {"enabled": False}, "http": section}
        (tmp_path / "gate.yml").write_text(yaml.safe_dump({"version": 1, "checks": checks}))
        return gate_process(tmp_path, "check", "http", "--format", "json", timeout=120)


@row(
    "The preview answers a compression bomb: one gzip layer (200 MB), or layered "
    "`gzip, gzip` / `deflate, gzip` / `gzip, br` (~1 KB on the wire, 1 GB decoded), or `br`",
    "http",
    "each layer decodes at most the body cap (`limits.max_body`) plus one byte; the page counts as "
    "truncated; the process stays far below the decoded size",
)
@pytest.mark.parametrize(
    ("codings", "megabytes"),
    [("gzip", 200), ("gzip, gzip", 1024), ("deflate, gzip", 1024), ("br", 1024), ("gzip, br", 1024)],
)
def test_preview_compression_bomb_is_decoded_within_the_cap(tmp_path: Path, codings: str, megabytes: int) -> None:
    outcome, bounds = _preview_run(tmp_path, codings, megabytes)
    assert outcome.exit_code in (0, 1), outcome.output
    assert "MemoryError" not in outcome.output and "Traceback" not in outcome.output
    report = json.loads(outcome.stdout)
    assert next(c for c in report["checks"] if c["name"] == "http")["status"] != "error", report["checks"]
    assert bounds.seconds < 60 and bounds.peak_bytes < PROCESS_MEMORY_BUDGET, bounds


@row(
    "The preview stacks three encodings (`gzip, gzip, gzip`)",
    "http",
    "exit 1: the page is not decoded (at most two layers); the preview counts as unreachable, naming why",
)
def test_three_encoding_layers_are_refused(tmp_path: Path) -> None:
    outcome, bounds = _preview_run(tmp_path, "gzip, gzip, gzip", 1024)
    fails_closed(
        outcome,
        bounds,
        ["at most 2 are decoded"],
        codes=(1,),
        seconds=60,
        memory=PROCESS_MEMORY_BUDGET,
    )


@row(
    "The vulnerability service answers a layered compression bomb (`gzip, gzip`, 1 GB decoded)",
    "deps",
    "exit 3: names the service and its 32 MB answer cap; decoding stops there",
)
@pytest.mark.parametrize("ecosystem", ["npm", "python"])
def test_vulnerability_service_bomb_fails_closed_within_the_cap(tmp_path: Path, ecosystem: str) -> None:
    bomb = compression_bomb("gzip, gzip", 1024)
    with TcpPeer(answer(200, bomb, {"Content-Encoding": "gzip, gzip"})) as peer:
        write_files(
            tmp_path,
            {
                **LOCKS[ecosystem],
                "gate.yml": "version: 1\nchecks:\n  env:\n    enabled: false\n  secrets:\n    enabled: false\n"
                f"  deps:\n    service: osv\n    osv_url: {peer.url}/v1/query\n    request_timeout: 10s\n",
            },
        )
        closed_run(tmp_path, ["check", "deps"], ["more than 33554432 bytes"], codes=(3,), seconds=90, timeout=120)
