"""Small readers of pglast AST nodes the rules engine shares: names, options, and a walk without recursion."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any


def walk(root: Any) -> Iterator[Any]:
    """Every AST node under root, depth first, with an explicit stack."""
    from pglast import ast

    stack: list[Any] = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, tuple | list):
            stack.extend(node)
        elif isinstance(node, ast.Node):
            yield node
            values = (getattr(node, name, None) for name in node)
            stack.extend(value for value in values if isinstance(value, ast.Node | tuple | list))


def concurrently(node: Any) -> bool:
    return any(param.defname == "concurrently" for param in node.params or ())


def nonzero(node: Any) -> bool:
    """Whether SET lock_timeout gives a bound: 0 (and DEFAULT, which is 0 unless configured) waits forever."""
    from pglast import ast

    values = [arg.val for arg in node.args or () if isinstance(arg, ast.A_Const)]
    if not values:
        return False
    value = values[0]
    text = str(getattr(value, "sval", None) or getattr(value, "ival", 0))
    return text.strip() not in ("0", "")


def vacuum_full(node: Any) -> bool:
    return any(option.defname == "full" for option in node.options or ())


def type_name(type_name: Any) -> str:
    return str(type_name.names[-1].sval) if type_name is not None else "?"


def object_name(obj: Any) -> str:
    parts: Sequence[Any] = obj if isinstance(obj, tuple | list) else (obj,)
    return str(getattr(parts[-1], "sval", parts[-1]))


def is_not_null_of(expression: Any) -> str | None:
    """The column of a `column IS NOT NULL` check, else None."""
    from pglast import ast
    from pglast.enums import NullTestType

    if isinstance(expression, ast.NullTest) and expression.nulltesttype == NullTestType.IS_NOT_NULL:
        argument = expression.arg
        if isinstance(argument, ast.ColumnRef):
            last: Any = argument.fields[-1] if argument.fields else None
            return str(last.sval) if hasattr(last, "sval") else None
    return None


def relname(relation: Any) -> str:
    return str(relation.relname) if relation is not None else "?"
