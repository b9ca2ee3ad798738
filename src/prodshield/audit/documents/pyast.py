"""Reading Python config files' syntax trees: assigned names, dotted names, ``os.environ``."""

from __future__ import annotations

import ast
from collections.abc import Iterator


def assigned_name(target: ast.expr) -> str | None:
    """``X = ...`` -> X; ``app.config["X"] = ...`` -> X; ``app.x = ...`` -> x."""
    if isinstance(target, ast.Name):
        return target.id
    if isinstance(target, ast.Subscript) and isinstance(target.slice, ast.Constant):
        key = target.slice.value
        return key if isinstance(key, str) else None
    if isinstance(target, ast.Attribute):
        return target.attr
    return None


def dotted(node: ast.AST) -> str:
    """``a.b.c`` for a Name/Attribute chain, else ''."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    if isinstance(node, ast.Call):
        inner = dotted(node.func)
        return ".".join([inner + "()", *reversed(parts)]) if inner else ""
    return ""


def python_environ(nodes: list[ast.AST]) -> Iterator[tuple[str, str, int]]:
    """``os.environ["X"] = "v"`` and ``os.environ.setdefault("X", "v")``."""
    for node in nodes:
        if isinstance(node, ast.Assign):
            for t in node.targets:
                if (
                    isinstance(t, ast.Subscript)
                    and dotted(t.value).endswith("environ")
                    and isinstance(t.slice, ast.Constant)
                    and isinstance(node.value, ast.Constant)
                ):
                    yield str(t.slice.value), str(node.value.value), node.lineno
        elif isinstance(node, ast.Call) and dotted(node.func).endswith("environ.setdefault"):
            args = node.args
            if len(args) == 2 and all(isinstance(a, ast.Constant) for a in args):
                yield (
                    str(args[0].value),  # type: ignore[attr-defined]
                    str(args[1].value),  # type: ignore[attr-defined]
                    node.lineno,
                )
