"""The throw-away PostgreSQL server every PostgreSQL-facing part and test starts."""

from __future__ import annotations

import subprocess

import pytest

from gate.errors import CheckFailure
from gate.postgres import _command, find_binary, throwaway_server


def _psql(dsn: str, sql: str) -> str:
    done = subprocess.run(
        [str(find_binary("psql")), dsn, "-XAtc", sql], capture_output=True, text=True, timeout=30, check=True
    )
    return done.stdout.strip()


def test_a_server_starts_answers_on_loopback_and_leaves_nothing_behind() -> None:
    with throwaway_server() as server:
        assert server.host == "127.0.0.1"
        assert _psql(server.dsn, "select 40 + 2") == "42"
        assert _psql(server.dsn, "show listen_addresses") == "127.0.0.1"
        base = server.data_dir.parent
        assert base.exists()
    assert not base.exists()


def test_a_missing_binary_is_a_check_failure_naming_what_to_install() -> None:
    with pytest.raises(CheckFailure, match="apt-get install postgresql"):
        find_binary("pg_no_such_tool")


def test_a_tool_that_fails_or_hangs_fails_closed_in_its_own_words() -> None:
    with pytest.raises(CheckFailure, match=r"sh failed \(exit 1\): initdb: error: boom"):
        _command(["sh", "-c", "echo 'initdb: error: boom' >&2; exit 1"], None, 5)
    with pytest.raises(CheckFailure, match="did not finish within"):
        _command(["sleep", "5"], None, 0.2)
