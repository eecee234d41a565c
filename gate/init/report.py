"""What `gate init` tells the user: what it found, with how sure it is, and what it writes."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from gate.init import detect_project
from gate.init.workflow import workflows_for
from gate.init.write import Detected, Planned, clean, plan, require_preset, write_plan


def summary(found: Detected) -> list[str]:
    stack, hosting = found.stack, found.hosting
    lines = []
    for label, guesses in (
        ("framework", stack.frameworks),
        ("backend", stack.backends),
        ("package manager", stack.package_managers),
        ("build output", stack.build_folders),
    ):
        for guess in guesses:
            lines.append(f"  {label}: {clean(guess.value)}  ({clean(guess.source)}, {guess.confidence})")
    if hosting.platform is not None:
        platform = hosting.platform
        lines.append(f"  host: {clean(platform.value)}  ({clean(platform.source)}, {platform.confidence})")
    for domain in hosting.domains:
        lines.append(f"  domain: {clean(domain.value)}  ({clean(domain.source)}, {domain.confidence})")
    for route in found.routes:
        status = f", preview answered {route.answered}" if route.answered else ""
        lines.append(
            f"  route: {clean(route.method)} {clean(route.path)} -> {route.route_class}"
            f"{' (admin)' if route.admin else ''} (guess{status})"
            f"  {clean(route.source)}:{route.line}"
        )
    secret = sum(v.secret for v in found.env.variables.values())
    lines.append(f"  env: {len(found.env.variables)} variables ({secret} secret) for env.manifest.yml")
    if found.openapi_url:
        lines.append(f"  openapi: {clean(found.openapi_url)}")
    lines += [f"  note: {clean(note, 160)}" for note in found.notes]
    return lines


def init_project(
    root: Path,
    target: Path,
    *,
    preset: str,
    preview: str | None,
    force: bool,
    dry_run: bool,
    echo: Callable[[str], None],
    quiet: bool = False,
) -> list[Planned]:
    def progress(text: str) -> None:
        if not quiet:
            sys.stderr.write(f"gate init: {clean(text)}\n")

    require_preset(preset)
    found = detect_project(root, preview=preview, say=progress)
    planned = plan(
        root,
        target,
        found,
        preset,
        workflows_for(str(found.hosting.platform.value) if found.hosting.platform else None),
    )
    echo("Found (from the files alone" + (", then the preview" if preview else "") + "):")
    for line in summary(found):
        echo(line)
    kept: list[Planned] = []
    if dry_run:
        for item in planned:
            echo(f"\n--- {item.path} ({item.why})")
            echo(item.text.rstrip("\n"))
    else:
        kept = write_plan(planned, force=force)
    for item in planned:
        shown = item.path.relative_to(root) if item.path.is_relative_to(root) else item.path
        if item in kept:
            echo(f"kept {shown}  (it exists; --force replaces it)")
        else:
            echo(f"{'would write' if dry_run else 'wrote'} {shown}  ({item.why})")
    if not dry_run:
        echo("next: review the guesses (each line says where it came from), then run `gate run`")
    return planned
