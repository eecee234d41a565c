"""No import circles among gate's modules: the flow reads one way (cli -> runner -> checks -> report).

The graph holds the imports a module runs when it is loaded (module level, not under
`if TYPE_CHECKING:`, not inside functions). Importing `gate.a.b` also runs the `__init__` of
`gate.a` first, so that package is an edge too, unless it is one the importer already sits in.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import gate

PACKAGE = Path(gate.__file__).resolve().parent


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _loaded_statements(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Statements run at import: the module's own, and those in its top-level if/try blocks."""
    for node in body:
        if isinstance(node, ast.If):
            if not _is_type_checking(node):
                yield from _loaded_statements(node.body)
            yield from _loaded_statements(node.orelse)
        elif isinstance(node, ast.Try):
            for block in (node.body, node.orelse, node.finalbody, *(h.body for h in node.handlers)):
                yield from _loaded_statements(block)
        else:
            yield node


def _imported_names(name: str, path: Path) -> Iterator[str]:
    is_package = path.name == "__init__.py"
    for node in _loaded_statements(ast.parse(path.read_text(encoding="utf-8")).body):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = name.split(".")
                anchor = anchor[: len(anchor) - node.level + (1 if is_package else 0)]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            else:
                base = node.module or ""
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        own_packages = {".".join(name.split(".")[:i]) for i in range(1, name.count(".") + 1)}
        for target in _imported_names(name, path):
            if target not in modules:
                continue
            parts = target.split(".")
            chain = {".".join(parts[:i]) for i in range(1, len(parts) + 1)}
            graph[name] |= {m for m in chain if m in modules and m not in own_packages and m != name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_gate_has_no_import_cycle() -> None:
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_cycle_finder_sees_a_cycle_through_a_package_init() -> None:
    graph = import_graph()
    assert "gate.report" in graph["gate.cli.common"], "the graph should hold module-level imports"
    # gate.cli -> gate.cli.common -> gate.report -> gate.cli: the circle closes through the package's __init__.
    graph["gate.report"] = graph["gate.report"] | {"gate.cli"}
    assert find_cycle(graph) is not None
