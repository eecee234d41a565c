"""What the surface probes of one run share: the preview and its session, the credentials the
flows signed in with, the responses to grade for headers and cookies, the observations to
aggregate into findings, and the hosts no further request may go to."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gate.checks.http.observations import Observation
from gate.checks.http.preview import Preview
from gate.checks.http.transport import Page, Session

# A response to grade, with the declared route it answered (None for pages and probes).
Graded = tuple[Page, str | None]


@dataclass
class Surface:
    config: Mapping[str, Any]
    preview: Preview
    session: Session
    # The signed-in account's headers (or the bearer token): what authenticated probes send.
    credentials: Mapping[str, str] = field(default_factory=dict)
    graded: list[Graded] = field(default_factory=list)
    observations: list[Observation] = field(default_factory=list)
    # Hosts whose identity is unproven or that do not speak HTTPS get no further request.
    unreachable: set[str] = field(default_factory=set)
