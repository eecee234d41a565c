from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.support.contracts import Contracts, ensure


@pytest.fixture(autouse=True)
def _not_inside_github_actions(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests run the CLI as on a developer's machine. On a GitHub runner the job's own GITHUB_*
    variables would switch on GitHub reporting (and read the job's real event) in every CLI test;
    tests that want it set those variables themselves."""
    for name in list(os.environ):
        if name.startswith(("GITHUB_", "INPUT_")):
            monkeypatch.delenv(name)


@pytest.fixture(autouse=True)
def _git_config_of_the_run_stays_in_the_run() -> Iterator[None]:
    """`gate action` lists the workspace in safe.directory through GIT_CONFIG_* of its own
    process; run in-process by a test, that must not carry over to the next one."""
    before = {name: value for name, value in os.environ.items() if name.startswith("GIT_CONFIG_")}
    yield
    for name in [name for name in os.environ if name.startswith("GIT_CONFIG_")]:
        del os.environ[name]
    os.environ.update(before)


@pytest.fixture(scope="session")
def contracts() -> Contracts:
    """Published schemas and suites, from their publishers' packages (tests/contracts.py)."""
    return ensure()


from tests.support.fake_checks import fake_checks  # noqa: E402,F401 - a fixture shared by several test files


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark `loopback` and `slow` tests without editing each file (tests/support/markers.py says how)."""
    from tests.support import markers

    markers.apply(items, config.rootpath)
