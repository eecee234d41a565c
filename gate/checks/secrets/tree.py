"""Source: the working tree (tracked and untracked-not-ignored files) and build output folders
(scanned even if gitignored; a bundle's secret is traced through its source map)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from gate.checks.base import Progress
from gate.checks.secrets import files
from gate.checks.secrets.files import FileHit
from gate.checks.secrets.history import Introduced
from gate.checks.secrets.patches import Skipped
from gate.checks.secrets.session import ScanSession
from gate.model import Finding


def scan_tree(session: ScanSession, progress: Progress) -> tuple[list[FileHit], list[Skipped]]:
    """Every secret in the tree's and build folders' files, and what could not be read."""
    root = session.root
    paths: list[str] = []
    if session.sources.get("tree", True):
        progress.update("scanning the working tree")
        paths = [p for p in files.tree_files(root) if session.keep(p)]
    listed = set(paths)
    built, escaped = files.build_files(root, session.build_folders)
    paths += [p for p in built if p not in listed and session.keep(p)]
    tree_hits, skipped_files = files.scan_files(session.engine, root, paths, session.max_bytes)
    return tree_hits, [*escaped, *skipped_files]


def tree_findings(
    session: ScanSession, tree_hits: Sequence[FileHit], introduced: Mapping[str, Introduced]
) -> Iterator[Finding]:
    """A finding per secret in a file, unless the diff reported it (a bundle's secret traced to its
    source is reported anyway, unless the diff reported it in that same file); with the commit
    that introduced it, when history was scanned."""
    build = session.build_folders
    for file_hit in tree_hits:
        detector = session.engine.detectors[file_hit.hit.detector]
        print_id = session.print_of(file_hit.hit)
        if (print_id in session.reported and not file_hit.original) or (print_id, file_hit.path) in session.in_diff:
            continue
        shipped = _under(file_hit.path, build) or file_hit.original is not None
        details: dict[str, Any] = {"source": "build" if _under(file_hit.path, build) else "tree"}
        message = f"{detector.title} in {file_hit.path} at line {file_hit.hit.line}."
        if file_hit.original:
            source, line = file_hit.original
            details |= {"original_source": source, "original_line": line}
            message = (
                f"{detector.title} shipped in build output {file_hit.path}, from {source} line {line}; "
                "everyone who loads the app can read it."
            )
        origin = introduced.get(print_id)
        if origin:
            details |= {
                "introduced_in": origin.commit,
                "introduced_by": origin.author,
                "introduced_at": origin.date,
            }
            message += f" First committed in {origin.commit[:10]} by {origin.author} on {origin.date}."
        yield session.make(
            file_hit.hit,
            file_hit.path,
            message=message,
            details=details,
            source="shipped" if shipped else "committed",
        )


def _under(path: str, folders: Sequence[str]) -> bool:
    return any(path == f or path.startswith(f.rstrip("/") + "/") for f in folders)
