"""The handover page as data: titled sections of rows, rendered to Markdown and HTML alike."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Section:
    title: str
    columns: tuple[str, ...]
    rows: list[tuple[str, ...]] = field(default_factory=list)
    # Said when the section has no rows, so an empty table never reads as "all fine".
    empty: str = "Nothing declared."
    note: str | None = None
    steps: list[tuple[str, list[str]]] = field(default_factory=list)


@dataclass(frozen=True)
class Document:
    title: str
    facts: list[tuple[str, str]]
    sections: list[Section]
