"""`gate init`: reads the project it stands in and writes gate.yml, its env manifest and workflows."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from gate.init.detect import ProjectFiles, detect_hosting, detect_stack
from gate.init.envdraft import draft_manifest
from gate.init.routes import detect_routes
from gate.init.write import Detected


def detect_project(root: Path, *, preview: str | None = None, say: Callable[[str], None] = lambda _: None) -> Detected:
    """Everything gate init knows about the project at root; with `preview`, refined by probing it."""
    say(f"reading {root}")
    files = ProjectFiles(root)
    notes: list[str] = []
    if files.truncated:
        notes.append(f"more than {len(files.files)} files: the rest were not read")
    stack, hosting = detect_stack(files), detect_hosting(files)
    say("finding routes")
    routes = detect_routes(files)
    say("drafting the env manifest")
    env = draft_manifest(files)
    if files.skipped_large:
        notes.append(f"{len(files.skipped_large)} file(s) over {files.max_bytes} bytes were not read")
    openapi_url = None
    if preview is not None:
        from gate.init.probe import probe

        say(f"probing {preview}")
        probed = probe(preview, routes)
        routes, openapi_url = probed.routes, probed.openapi_url
        notes += probed.notes
    return Detected(stack, hosting, routes, env, preview, openapi_url, notes)
