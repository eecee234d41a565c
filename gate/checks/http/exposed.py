"""Files that must never be public, reported only when the response really is the file.

Many hosts answer every unknown path with 200 and the app's HTML (a soft 404). A path counts as
exposed only when its body carries the file's own signature, is not the site's answer to a path
that cannot exist, and (for non-HTML files) is not an HTML page.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import re
import secrets
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from gate.checks.http.preview import Preview
from gate.checks.http.rules import RULES
from gate.checks.http.surface import Surface
from gate.checks.http.transport import Page, RequestFailed, Session
from gate.model import Finding, Location, Severity
from gate.rules_data import rules_file

# Enough of any listed file to see its signature; a dump's first 64 KB already says what it is.
PROBE_BYTES = 64_000


@dataclass(frozen=True)
class ExposedFile:
    id: str
    path: str
    what: str
    severity: Severity
    match: re.Pattern[str] | None
    magic: bytes | None
    html_ok: bool

    def matches(self, page: Page) -> bool:
        if self.magic is not None and not page.body.startswith(self.magic):
            return False
        return self.match is None or self.match.search(page.text()) is not None


@functools.cache
def load_files() -> tuple[ExposedFile, ...]:
    data: dict[str, Any] = yaml.safe_load(rules_file("http", "exposed.yml").read_text())
    return tuple(
        ExposedFile(
            id=entry["id"],
            path=entry["path"],
            what=entry["what"],
            severity=Severity.parse(entry["severity"]),
            match=re.compile(entry["match"]) if "match" in entry else None,
            magic=bytes.fromhex(entry["magic"]) if "magic" in entry else None,
            html_ok=bool(entry.get("html_ok", False)),
        )
        for entry in data["files"]
    )


def _shape(page: Page, path: str) -> str:
    """The body with the requested path taken out, so a catch-all page that echoes it compares equal."""
    text = page.text()
    for form in {path, path.lstrip("/"), path.rsplit("/", 1)[-1]}:
        if form:
            text = text.replace(form, "")
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()


@dataclass(frozen=True)
class SoftNotFound:
    """How the site answers paths that cannot exist; a file's answer must differ from these."""

    pages: tuple[tuple[Page, str], ...]

    def resembles(self, page: Page, path: str) -> bool:
        shape = _shape(page, path)
        return any(_shape(base, base_path) == shape for base, base_path in self.pages)

    def carries(self, entry: ExposedFile) -> bool:
        """True when the catch-all answer itself has the file's signature (then nothing can be proven)."""
        return any(base.status == 200 and entry.matches(base) for base, _ in self.pages)


async def soft_not_found(session: Session, preview: Preview) -> SoftNotFound:
    token = secrets.token_hex(8)
    # A dotfile and a nested dotfile path too, since some hosts route those differently.
    paths = [f"/gate-probe-{token}", f"/.gate-probe-{token}", f"/.gate-probe-{token}/config"]
    pages: list[tuple[Page, str]] = []
    for path in paths:
        try:
            pages.append((await session.fetch(preview.url(path), max_body=PROBE_BYTES), path))
        except RequestFailed:
            continue
    return SoftNotFound(tuple(pages))


async def probe(
    session: Session, preview: Preview, files: Sequence[ExposedFile], baseline: SoftNotFound
) -> list[tuple[ExposedFile, Page]]:
    """The listed files the preview really serves."""

    async def one(entry: ExposedFile) -> tuple[ExposedFile, Page] | None:
        try:
            page = await session.fetch(preview.url(entry.path), max_body=PROBE_BYTES)
        except RequestFailed:
            # A WAF that resets the connection on such paths is not serving the file.
            return None
        if page.status not in (200, 206) or (page.is_html and not entry.html_ok):
            return None
        if not entry.matches(page) or baseline.carries(entry) or baseline.resembles(page, entry.path):
            return None
        return entry, page

    results = await asyncio.gather(*(one(entry) for entry in files))
    return [result for result in results if result is not None]


async def check_exposed(surface: Surface) -> AsyncIterator[Finding]:
    """Every listed file that the preview really serves; its error pages are kept for grading."""
    baseline = await soft_not_found(surface.session, surface.preview)
    # Error pages are where stack traces and leaking headers show.
    surface.graded.extend((page, None) for page, _ in baseline.pages)
    for entry, page in await probe(surface.session, surface.preview, load_files(), baseline):
        yield RULES.finding(
            "http.exposed.file",
            f"{entry.path} is publicly served and really is the file ({entry.what}; {len(page.body)}"
            f"{'+' if page.truncated else ''} bytes, content signature matched).",
            severity=entry.severity,
            location=Location(url=page.url),
            subject=entry.id,
            preview_host=surface.preview.base_host,
        )
