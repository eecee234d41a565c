"""Waiting, bounded, for a fresh preview to answer: one that never does is a blocking finding,
and a plain-HTTP preview URL is one too (nothing sent to it is encrypted)."""

from __future__ import annotations

from gate.checks.base import CheckContext
from gate.checks.http.rules import RULES
from gate.checks.http.surface import Surface
from gate.checks.http.transport import wait_ready
from gate.config.units import seconds
from gate.model import Finding, Location


async def wait_for_preview(ctx: CheckContext, surface: Surface) -> tuple[bool, list[Finding]]:
    """Whether the preview answered, and what is wrong with how it is reached."""
    preview = surface.preview
    wait = surface.config.get("wait", {})
    ctx.progress.update(f"waiting for {preview.base_url}")
    patience = seconds(wait.get("timeout", "60s"))
    ready = await wait_ready(
        surface.session.client,
        preview.base_url,
        limits=preview.limits,
        timeout=patience,
        interval=seconds(wait.get("interval", "2s")),
        on_wait=lambda waited: ctx.progress.update(
            f"seconds waited for {preview.base_url}", round(waited), round(patience)
        ),
    )
    if not ready.answered:
        unreachable = RULES.finding(
            "http.preview.unreachable",
            f"{preview.base_url} gave no usable answer in {ready.waited:.0f}s ({ready.attempts} attempts); "
            f"last: {ready.last_error}.",
            location=Location(url=preview.base_url),
            preview_host=preview.base_host,
        )
        return False, [unreachable]
    if not preview.base_url.startswith("https://"):
        plain = RULES.finding(
            "http.tls.no-https",
            f"The preview URL {preview.base_url} is plain HTTP; HSTS, Secure cookies and everything "
            "sent to it travel unencrypted. Check the https:// URL users will get.",
            location=Location(url=preview.base_url, name=preview.base_host),
            preview_host=preview.base_host,
        )
        return True, [plain]
    return True, []
