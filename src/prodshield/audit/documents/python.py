"""The Python parser: module-level assignments as key paths (``X = ...``, ``app.config["X"]``)."""

from __future__ import annotations

import ast

from prodshield.audit.documents.document import ConfigDoc, KeyPath, Pair
from prodshield.audit.documents.pyast import assigned_name


def parse_python(doc: ConfigDoc) -> None:
    doc.tree = ast.parse(doc.text, filename=str(doc.path))
    for node in ast.walk(doc.tree):
        targets: list[ast.expr] = []
        value: ast.expr | None = None
        if isinstance(node, ast.Assign):
            targets, value = list(node.targets), node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        for t in targets:
            name = assigned_name(t)
            if name and value is not None:
                _flatten_ast(doc, value, (0, name))


def _flatten_ast(doc: ConfigDoc, node: ast.expr, path: KeyPath) -> None:
    doc.lines.setdefault(path, node.lineno)
    if isinstance(node, ast.Dict):
        for k, v in zip(node.keys, node.values, strict=True):
            if isinstance(k, ast.Constant) and isinstance(k.value, str):
                doc.lines[(*path, k.value)] = k.lineno
                _flatten_ast(doc, v, (*path, k.value))
    elif isinstance(node, ast.List | ast.Tuple | ast.Set):
        for i, v in enumerate(node.elts):
            _flatten_ast(doc, v, (*path, i))
    elif isinstance(node, ast.Constant):
        doc.pairs.append(Pair(path, node.value, node.lineno))
