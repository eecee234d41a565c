"""GitHub integration: read where the gate runs, report where people look.

`open_session` is the one entry point the CLI uses: inside GitHub Actions (or with `--github`)
it reads the event, plans what the event changes about the run, and returns a `Session` that
opens a check run before the checks and publishes the verdict after them.
"""

from __future__ import annotations

from collections.abc import Mapping

from gate.github.context import GitHubContext, Plan, plan_for, read_context
from gate.github.publish import Session, Writer

__all__ = ["GitHubContext", "Plan", "Session", "open_session"]


def open_session(environ: Mapping[str, str], *, force: bool | None, out: Writer, err: Writer) -> Session | None:
    """None outside Actions unless forced; `force=False` (`--no-github`) turns it off inside too."""
    if force is False:
        return None
    context = read_context(environ, force=bool(force))
    if context is None:
        return None
    return Session(context=context, plan=plan_for(context), out=out, err=err)
