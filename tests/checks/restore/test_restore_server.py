"""Where a declared restore server may be: loopback or a CI service's one-label name, nowhere else."""

from __future__ import annotations

import pytest

from gate.checks.restore.check import _require_loopback
from gate.errors import InputError
from gate.redact import scrub


@pytest.mark.parametrize(
    "dsn",
    [
        "postgresql://u@127.0.0.1:5432/db",
        "postgres://u@[::1]:5432/db",
        "postgresql://u@localhost/db",
        "postgresql://u@postgres:5432/db",
    ],
)
def test_loopback_and_service_names_are_accepted(dsn: str) -> None:
    _require_loopback(dsn)


@pytest.mark.parametrize(
    "dsn",
    [
        "postgresql://u@db.example.com/db",
        "postgresql://u@10.0.0.5/db",
        "postgresql://u@8.8.8.8/db",
        "mysql://u@127.0.0.1/db",
        "not a url",
    ],
)
def test_anything_else_is_bad_input(dsn: str) -> None:
    with pytest.raises(InputError):
        _require_loopback(dsn)


def test_a_password_in_the_url_is_redacted_everywhere() -> None:
    _require_loopback("postgresql://u:Sup3rSecretPassw0rdXyz@127.0.0.1/db")
    assert "Sup3rSecretPassw0rdXyz" not in scrub("connecting with Sup3rSecretPassw0rdXyz")
