"""The services' answers as findings: one per advisory, package version and file, each naming the
fixed version and the upgrade command of the package's manager; and the count of what was audited."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from gate.checks.deps.pinned import Pinned
from gate.checks.deps.rules import RULES
from gate.model import Finding, Location, Measurement, Severity

if TYPE_CHECKING:
    from gate.checks.deps.services import Answer, Hit


@dataclass
class Tally:
    """How many packages were audited and how many could not be, counted while they are judged."""

    audited: int = 0
    skipped: int = 0

    def measurement(self, pins: list[Pinned], files: list[Path]) -> Measurement:
        local = sum(p.local for p in pins)
        return Measurement(
            name="deps.audited",
            subject="dependencies",
            value=float(self.audited),
            unit="packages",
            check=RULES.check,
            note=(
                f"{self.audited} audited, {self.skipped} could not be audited, {local} local (the project's own "
                f"code) in {len(files)} file(s)"
                if files
                else "no manifest or lock file found: nothing to audit"
            ),
        )


def judge(
    pins: list[Pinned], answers: Mapping[tuple[str, str, str], Answer], unknown: Severity, tally: Tally
) -> Iterator[Finding]:
    """`unknown` is the severity of an advisory that rates none."""
    reported: set[tuple[str, str, str, str | None, str]] = set()
    for pinned in pins:
        if pinned.local:
            continue
        answer = answers.get((pinned.ecosystem, pinned.name, pinned.version or ""))
        reason = pinned.skip or (answer.skipped if answer else None)
        if reason is not None or answer is None:
            tally.skipped += 1
            if (pinned.path, pinned.ecosystem, pinned.name, pinned.version, "") not in reported:
                reported.add((pinned.path, pinned.ecosystem, pinned.name, pinned.version, ""))
                yield unaudited(pinned, reason or "no answer")
            continue
        tally.audited += 1
        for hit in answer.hits:
            # One finding per advisory, package version and file: a lock file may list the
            # same release twice (nested node_modules, a yarn patch over its base).
            once = (pinned.path, pinned.ecosystem, pinned.name, pinned.version, hit.id)
            if once not in reported:
                reported.add(once)
                yield vulnerable(pinned, hit, unknown)


def no_lock_file(root: Path, manifest: Path) -> Finding:
    return RULES.finding(
        "deps.no-lock-file",
        f"{manifest.relative_to(root).as_posix()} has no package-lock.json, pnpm-lock.yaml or yarn.lock "
        "beside it or above it, so its dependencies could not be audited.",
        location=Location(path=manifest.relative_to(root).as_posix()),
    )


def upgrade_command(pinned: Pinned, fix: str) -> str:
    name = pinned.name
    commands = {
        "pip": f'pip install "{name}=={fix}"  (and pin {name}=={fix} in {pinned.path})',
        "uv": f'uv lock --upgrade-package "{name}=={fix}"',
        "poetry": f"poetry update {name}  (raise its constraint in pyproject.toml if it stops below {fix})",
        "pipenv": f'pipenv install "{name}>={fix}"',
        "pylock": f're-lock pylock.toml with "{name}>={fix}"',
        "npm": f"npm install {name}@{fix}",
        "pnpm": f"pnpm update --recursive {name}@{fix}",
        "yarn": f"yarn upgrade {name}@{fix}",
        "yarn-berry": f"yarn up {name}@{fix}",
    }
    return commands[pinned.manager]


def _location(pinned: Pinned, ids: str = "") -> Location:
    label = f"{pinned.name} {pinned.version or ''} {ids}".replace("  ", " ").strip()
    return Location(path=pinned.path, line=pinned.line, name=label)


def unaudited(pinned: Pinned, reason: str) -> Finding:
    shown = f"{pinned.name} {pinned.version}" if pinned.version else pinned.name
    return RULES.finding(
        "deps.unaudited",
        f"{shown} ({pinned.ecosystem}) could not be audited: {reason}.",
        location=_location(pinned),
        subject=f"{pinned.ecosystem}:{pinned.name}",
    )


def vulnerable(pinned: Pinned, hit: Hit, unknown: Severity) -> Finding:
    ids = " ".join((hit.id, *hit.aliases))
    aliases = f" ({', '.join(hit.aliases)})" if hit.aliases else ""
    if hit.rating is not None:
        severity, rated = hit.rating.severity, f"severity {hit.rating.severity} ({hit.rating.source})"
    else:
        severity, rated = unknown, f"severity {unknown} (the advisory rates none; checks.deps.unknown_severity)"
    summary = hit.summary.rstrip(".")
    rated = rated[0].upper() + rated[1:]
    head = f"{pinned.name} {pinned.version} is affected by {hit.id}{aliases}: {summary}. {rated}."
    details = {
        "package": pinned.name,
        "version": pinned.version,
        "ecosystem": pinned.ecosystem,
        "advisory": hit.id,
        "aliases": " ".join(hit.aliases),
        "fixed_in": hit.fixes[0] if hit.fixes else "",
    }
    if hit.fixes:
        rule, message = "deps.vulnerable", f"{head} Fixed in {hit.fixes[0]}."
        fix = f"Upgrade {pinned.name} to {hit.fixes[0]} or later: {upgrade_command(pinned, hit.fixes[0])}"
    else:
        rule, message, fix = "deps.vulnerable-no-fix", f"{head} No fixed version is published.", None
    return RULES.finding(
        rule,
        message,
        severity=severity,
        subject=f"{pinned.ecosystem}:{pinned.name}:{pinned.version}:{hit.id}",
        location=_location(pinned, ids),
        details=details,
        **({"fix": fix} if fix else {}),
    )
