"""Which migration file (and line) each part of a command's SQL comes from, so findings sit there.

Alembic's offline SQL marks each revision with `-- Running upgrade A -> B`: B's file is found in
the version folders alembic.ini names, and its `def upgrade` is the line. Django's sqlmigrate runs
once per file and heads each operation's SQL with a `--` / `-- description` / `--` block, one per
entry of the migration's `operations` list, in order: the block's entry is the line. The markers
are found with PostgreSQL's own tokenizer (a comment inside a string literal is no marker), the
Python files are read (bounded, no symlink, nothing outside the tree) and parsed, never imported.
When a marker cannot be matched for certain, its SQL stays on the file without a line, or on
gate.yml's section.
"""

from __future__ import annotations

import ast
import configparser
import itertools
import os
from collections.abc import Iterator, Sequence
from pathlib import Path, PurePosixPath

from gate.checks.migrations import sources
from gate.checks.migrations.parse import Section
from gate.config.paths import inside
from gate.errors import InputError
from gate.safeio import UnreadableFile, read_regular

_RUNNING = ("-- Running upgrade ", "-- Running downgrade ")


def alembic_sections(root: Path, argv: Sequence[str], sql: str, max_bytes: int) -> list[Section]:
    markers = [(start, text) for start, text in _comments(sql) if text.startswith(_RUNNING)]
    if not markers:
        return []
    revisions = _alembic_revisions(root, argv, max_bytes)
    sections = []
    for start, text in markers:
        upgrade = text.startswith(_RUNNING[0])
        source, _, target = text.removeprefix(_RUNNING[0 if upgrade else 1]).partition("->")
        # An upgrade runs the target's upgrade(), a downgrade the source's downgrade().
        revision = (target if upgrade else source).strip()
        found = revisions.get(revision)
        if found is not None:
            path, lines = found
            sections.append(Section(start, path, lines.get("upgrade" if upgrade else "downgrade")))
        else:
            sections.append(Section(start, "", None))
    return sections


def django_sections(root: Path, target: str, sql: str, max_bytes: int) -> list[Section]:
    comments, heads, index = list(_comments(sql)), [], 0
    while index + 2 < len(comments):
        block = comments[index : index + 3]
        if [text == "--" for _, text in block] == [True, False, True] and _adjacent(sql, block):
            heads.append(block[0][0])
            index += 3  # a "-- (no-op)" right after a block is no head of the next one
        else:
            index += 1
    tree = _python(root, target, max_bytes)
    operations = _operation_lines(tree) if tree is not None else None
    if not heads or operations is None or len(operations) != len(heads):
        return []
    return [Section(start, target, line) for start, line in zip(heads, operations, strict=True)]


def _comments(sql: str) -> Iterator[tuple[int, str]]:
    """The SQL's comments; none when it does not even tokenize (the parser then says why, exit 2)."""
    from pglast.parser import ParseError, scan

    try:
        tokens = scan(sql)
    except ParseError:
        return
    for token in tokens:
        if token.name == "SQL_COMMENT":
            yield token.start, sql[token.start : token.end + 1].rstrip()


def _adjacent(sql: str, comments: Sequence[tuple[int, str]]) -> bool:
    """Three comments on consecutive lines, nothing but blanks between them."""
    return all(
        sql[start + len(text) : following].strip() == "" and sql.count("\n", start, following) == 1
        for (start, text), (following, _) in itertools.pairwise(comments)
    )


def _alembic_revisions(root: Path, argv: Sequence[str], max_bytes: int) -> dict[str, tuple[str, dict[str, int]]]:
    """revision id -> (its file, the line of its upgrade() and downgrade()), from the ini's version folders."""
    found: dict[str, tuple[str, dict[str, int]]] = {}
    for folder in _version_folders(root, argv, max_bytes):
        try:
            files = sources.matched_files(root, [f"{folder}/**/*.py"], "alembic version_locations", skip_links=True)
        except InputError:
            continue
        for relative in files:
            tree = _python(root, relative, max_bytes)
            revision = _assigned(tree, "revision") if tree is not None else None
            if tree is not None and revision is not None:
                lines = {node.name: node.lineno for node in tree.body if isinstance(node, ast.FunctionDef)}
                found.setdefault(revision, (relative, lines))
    return found


def _version_folders(root: Path, argv: Sequence[str], max_bytes: int) -> list[str]:
    """The repository-relative folders Alembic reads revisions from; none when they cannot be told."""
    ini = _config_argument(argv) or "alembic.ini"
    if not inside(root, ini) or os.path.isabs(ini):
        return []
    try:
        parser = configparser.ConfigParser(interpolation=None)
        parser.read_string(read_regular(root / ini, max_bytes).decode("utf-8", "replace"))
        options = parser["alembic"] if parser.has_section("alembic") else None
    except (UnreadableFile, OSError, configparser.Error):
        return []
    if options is None or "script_location" not in options:
        return []
    here = PurePosixPath(ini).parent.as_posix()
    declared = options.get("version_locations")
    locations = declared.replace(",", " ").replace(":", " ").split() if declared else []
    locations = locations or [options["script_location"].strip() + "/versions"]
    folders = []
    for location in locations:
        relative = os.path.normpath(location.replace("%(here)s", here)).replace(os.sep, "/")
        if not os.path.isabs(relative) and not relative.startswith("..") and inside(root, relative):
            folders.append(relative)
    return folders


def _config_argument(argv: Sequence[str]) -> str | None:
    for index, part in enumerate(argv):
        if part in ("-c", "--config") and index + 1 < len(argv):
            return argv[index + 1]
        if part.startswith("--config="):
            return part.split("=", 1)[1]
    return None


def _python(root: Path, relative: str, max_bytes: int) -> ast.Module | None:
    try:
        return ast.parse(read_regular(root / relative, max_bytes))
    except (UnreadableFile, OSError, SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def _assigned(tree: ast.Module, name: str) -> str | None:
    """The string a module-level `name = "..."` (or `name: str = "..."`) assigns."""
    for node in tree.body:
        targets = (
            node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
        )
        value = getattr(node, "value", None)
        if any(isinstance(t, ast.Name) and t.id == name for t in targets) and isinstance(value, ast.Constant):
            return str(value.value) if isinstance(value.value, str) else None
    return None


def _operation_lines(tree: ast.Module) -> list[int] | None:
    """The line of each entry of `class Migration`'s `operations = [...]`; None unless it is a plain list."""
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == "Migration":
            for statement in node.body:
                if (
                    isinstance(statement, ast.Assign)
                    and any(isinstance(t, ast.Name) and t.id == "operations" for t in statement.targets)
                    and isinstance(statement.value, ast.List | ast.Tuple)
                ):
                    entries = statement.value.elts
                    return None if any(isinstance(e, ast.Starred) for e in entries) else [e.lineno for e in entries]
    return None
