"""The `loopback` and `slow` markers, applied at collection so test files need no edits.

- `loopback`: the test's module imports a helper that starts a server on 127.0.0.1 or ::1 (the
  fixtures' web, DNS, OSV, GitHub and load servers, the fault peers, the demo, PostgreSQL), or
  it runs `gate demo` (listed below).
  A test may also carry the marker itself.
- `slow`: measured over ~5 s on the shared 2-core box (`pytest --durations=0`); listed below by
  node id prefix, and a test may carry the marker itself. Re-measure when the suite changes.

`scripts/test-fast` runs what is neither; `scripts/test` (the README's command) runs everything.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import pytest

LOOPBACK_HELPERS = frozenset(
    {
        "tests.support.deps_support",
        "tests.support.dns_zones",
        "tests.support.flows_app",
        "tests.support.github_server",
        "tests.support.http_sites",
        "tests.support.load_app",
        "tests.support.load_server",
        "tests.support.nsd_server",
        "tests.faults.peers",
        "gate.demo",
        "gate.postgres",
        "trustme",
    }
)
# Tests that run `gate demo`, which serves its sample app and DNS zone on loopback.
LOOPBACK = (
    "tests/test_cli.py::test_demo_",
    "tests/checks/secrets/test_secrets_demo.py::test_demo_",
    "tests/checks/http/test_http_demo.py::test_demo_",
    "tests/checks/dns/test_dns_demo.py::",
)
SLOW = (
    "tests/faults/test_canary.py::test_no_canary_in_any_byte_the_gate_writes",
    "tests/test_contracts.py::test_the_multitool",
    "tests/test_cli.py::test_demo_",
    "tests/checks/secrets/test_secrets_demo.py::test_demo_",
    "tests/checks/http/test_http_demo.py::test_demo_",
    "tests/faults/test_report_faults.py::test_thousands_of_findings_fit_the_job_summary_and_the_annotation_limits",
    "tests/faults/test_dns_faults.py::test_slow_policy_host",
    "tests/faults/test_secrets_values_hostile.py::test_an_endless_key_body_is_read_within_bounds",
    "tests/test_cli_conventions.py::test_a_real_terminal_gets_colour_unless_no_color_or_term_dumb",
)


@functools.cache
def _imports_a_server(path: Path) -> bool:
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError):
        return False
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        else:
            continue
        if any(name == helper or name.startswith(f"{helper}.") for name in names for helper in LOOPBACK_HELPERS):
            return True
    return False


def apply(items: list[pytest.Item], root: Path) -> None:
    for item in items:
        path = Path(item.path)
        nodeid = f"{path.relative_to(root).as_posix()}::{item.nodeid.split('::', 1)[-1]}"
        if item.get_closest_marker("loopback") is None and (_imports_a_server(path) or nodeid.startswith(LOOPBACK)):
            item.add_marker(pytest.mark.loopback)
        if item.get_closest_marker("slow") is None and nodeid.startswith(SLOW):
            item.add_marker(pytest.mark.slow)
