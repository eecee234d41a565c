"""Incidents without flapping: open after N failures in a row, resolve after M successes in a row.

Each incident is told once per channel when it opens and once when it resolves; a delivery that
fails is retried on the next round, and a notice claimed in the store is never sent twice, even by
two watchers sharing one PostgreSQL history. While it stays open, a change in how the target fails
(another status, another error, another set of stream problems), seen N times in a row like an
opening, is told to the channels that follow incidents (the GitHub issue), at most
MAX_CHANGES times per incident.
"""

from __future__ import annotations

import datetime
import logging
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from gate.redact import scrub
from gate.watch.config import Settings, Target
from gate.watch.probes import ProbeResult
from gate.watch.store import Incident, Store

log = logging.getLogger(__name__)
#: Incidents resolved longer ago than this are not revisited for undelivered notices.
REDELIVERY_WINDOW_S = 7 * 86400.0
#: Changes told per incident: a target that fails a new way every few minutes must not flood its issue.
MAX_CHANGES = 10
# Measurements move every probe (latency, seconds, days left, bytes and events read); the way a
# target fails does not, so they are left out when comparing two failures.
_MEASURED = re.compile(r"\d+(?:\.\d+)?(?=\s?(?:ms|s|more days|chunk|event|bytes)\b)")


@dataclass(frozen=True)
class Alert:
    """What a channel says about one incident: opened or resolved, and everything needed to act."""

    event: str
    incident: int
    target: str
    kind: str
    url: str
    detail: str
    since: float
    last_good: float | None
    resolved_at: float | None
    owner: str
    check_first: str
    previous: str = ""
    change: int = 0

    @property
    def notice(self) -> str:
        """The key under which the store claims this notice: one per event, one per change."""
        return f"change:{self.change}" if self.event == "change" else self.event

    @property
    def downtime_s(self) -> float | None:
        return None if self.resolved_at is None else self.resolved_at - self.since

    @property
    def title(self) -> str:
        if self.event == "resolved":
            return f"Resolved: {self.target} is back after {duration(self.downtime_s or 0.0)}"
        if self.event == "change":
            return f"Still down, failing differently: {self.target} ({self.detail})"
        return f"Down: {self.target} ({self.detail})"

    def text(self) -> str:
        lines = [
            self.title,
            f"Target: {self.target} ({self.kind}{', ' + self.url if self.url else ''})",
            f"What failed: {self.detail}",
            *([f"Before that: {self.previous}"] if self.previous else []),
            f"Failing since: {stamp(self.since)}",
            f"Last good probe: {stamp(self.last_good) if self.last_good else 'none recorded'}",
            f"Owner: {self.owner or 'nobody named (set watch.owner in gate.yml)'}",
            f"Check first: {self.check_first}",
        ]
        if self.resolved_at is not None:
            lines.append(f"Resolved at: {stamp(self.resolved_at)}; downtime {duration(self.downtime_s or 0.0)}")
        return scrub("\n".join(lines))


def stamp(at: float) -> str:
    return datetime.datetime.fromtimestamp(at, datetime.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def duration(total_s: float) -> str:
    minutes, secs = divmod(round(total_s), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m {secs:02d}s" if minutes else f"{secs}s"


def failure_kind(detail: str) -> str:
    """What a failure is, without its measurements: two probes failing the same way compare equal."""
    return " ".join(_MEASURED.sub("#", detail).split())


def _note_change(store: Store, incident: Incident, streak: Sequence[ProbeResult]) -> bool:
    """Record a new way of failing once a whole streak shows it; True when recorded."""
    kind = failure_kind(streak[0].detail)
    if any(probe.ok or failure_kind(probe.detail) != kind for probe in streak):
        return False
    changes = store.changes(incident.id)
    latest = changes[-1][2] if changes else incident.detail
    if kind == failure_kind(latest) or len(changes) >= MAX_CHANGES:
        return False
    store.add_change(incident.id, len(changes) + 1, streak[-1].at, streak[0].detail)
    return True


def evaluate(store: Store, settings: Settings) -> list[Incident]:
    """Open, change and resolve incidents from each target's latest probes; returns the ones that moved."""
    changed: list[Incident] = []
    window = max(settings.open_after, settings.resolve_after)
    for target in settings.targets:
        recent = store.recent(target.name, window)
        current = store.open_incident(target.name)
        if current is None:
            streak = recent[: settings.open_after]
            if len(streak) == settings.open_after and not any(probe.ok for probe in streak):
                first = streak[-1]
                store.open(target.name, first.at, streak[0].detail, store.last_good(target.name, first.at))
                opened = store.open_incident(target.name)
                changed.extend([opened] if opened else [])
        else:
            streak = recent[: settings.resolve_after]
            if len(streak) == settings.resolve_after and all(probe.ok for probe in streak):
                store.resolve(current.id, streak[-1].at)
                changed.append(current)
                continue
            streak = recent[: settings.open_after]
            if len(streak) == settings.open_after and _note_change(store, current, streak):
                changed.append(current)
    return changed


def alerts_for(
    incident: Incident, targets: Mapping[str, Target], changes: Sequence[tuple[int, float, str]] = ()
) -> list[Alert]:
    """The incident's notices in the order they happened: opened, each change, resolved."""
    target = targets.get(incident.target)
    common = {
        "incident": incident.id,
        "target": incident.target,
        "kind": target.kind if target else "http",
        "url": (target.url or target.host) if target else "",
        "detail": incident.detail,
        "since": incident.opened_at,
        "last_good": incident.last_good,
        "owner": target.owner if target else "",
        "check_first": target.check_first if target else "the target's logs",
    }
    told = [Alert(event="open", resolved_at=None, **common)]  # type: ignore[arg-type]
    previous = incident.detail
    for number, _, detail in changes:
        fields = {**common, "detail": detail}
        told.append(Alert(event="change", resolved_at=None, previous=previous, change=number, **fields))  # type: ignore[arg-type]
        previous = detail
    if incident.resolved_at is not None:
        told.append(Alert(event="resolved", resolved_at=incident.resolved_at, **common))  # type: ignore[arg-type]
    return told


class Channel:
    """Somewhere alerts go. `send` returns a reference the resolution may need (an issue number)."""

    name = "channel"
    #: Whether the channel hears how an open incident changes; a pager or a chat hears open and resolved only.
    follows_changes = False

    async def send(self, alert: Alert, opened_ref: str | None) -> str:
        raise NotImplementedError


async def deliver(store: Store, settings: Settings, channels: Sequence[Channel], now: float | None = None) -> int:
    """Send every notice not yet delivered; returns how many were sent."""
    targets = {target.name: target for target in settings.targets}
    moment = time.time() if now is None else now
    sent = 0
    for incident in store.incidents_since(moment - REDELIVERY_WINDOW_S):
        told = alerts_for(incident, targets, store.changes(incident.id))
        for channel in channels:
            for alert in told:
                if alert.event == "change" and not channel.follows_changes:
                    continue
                if not store.claim(incident.id, channel.name, alert.notice):
                    continue
                try:
                    opened_ref = store.ref(incident.id, channel.name, "open")
                    ref = await channel.send(alert, opened_ref)
                except Exception as error:  # noqa: BLE001 - one channel's failure must not stop the others
                    store.release(incident.id, channel.name, alert.notice)
                    log.warning("alert to %s failed, retried next round: %s", channel.name, scrub(str(error)))
                    break
                store.set_ref(incident.id, channel.name, alert.notice, ref)
                sent += 1
    return sent
