"""A parsed configuration file (:class:`ConfigDoc`): its documents, key paths with lines, flat
pairs, directives or syntax tree, and the views every rule reads (settings, env vars, strings)."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prodshield.audit.documents.directives import Directive, dockerfile_assignments
from prodshield.audit.documents.pyast import python_environ

KeyPath = tuple[Any, ...]


@dataclass(frozen=True)
class Pair:
    path: KeyPath
    value: Any
    line: int

    @property
    def key(self) -> str:
        for part in reversed(self.path):
            if isinstance(part, str):
                return part
        return ""


@dataclass
class ConfigDoc:
    path: Path
    kind: str
    text: str
    data: list[Any] = field(default_factory=list)
    """Parsed documents (YAML may hold several)."""
    lines: dict[KeyPath, int] = field(default_factory=dict)
    """Line of each key path; every path starts with the document's index in ``data``."""
    pairs: list[Pair] = field(default_factory=list)
    directives: list[Directive] = field(default_factory=list)
    tree: ast.Module | None = None
    error: str | None = None
    _nodes: list[ast.AST] | None = None
    _env: list[tuple[str, str, int]] | None = None
    memo: dict[str, Any] = field(default_factory=dict)
    """Per-document results rules share (computed once, e.g. Python assignments and calls)."""

    def nodes(self) -> list[ast.AST]:
        """Every AST node of a Python document, walked once and shared by all rules."""
        if self._nodes is None:
            self._nodes = list(ast.walk(self.tree)) if self.tree is not None else []
        return self._nodes

    def line_of(self, path: KeyPath, default: int = 1) -> int:
        p = tuple(path)
        while p:
            if p in self.lines:
                return self.lines[p]
            p = p[:-1]
        return default

    def env_vars(self) -> list[tuple[str, str, int]]:
        """Environment variables this file sets (``.env``, compose/k8s/workflow env, ENV, os.environ)."""
        if self._env is None:
            self._env = list(self._env_vars())
        return self._env

    def _env_vars(self) -> Iterator[tuple[str, str, int]]:
        if self.kind == "dotenv":
            for p in self.pairs:
                yield p.key, str(p.value), p.line
        elif self.kind == "dockerfile":
            for d in self.directives:
                if d.name in ("ENV", "ARG"):
                    for name, value in dockerfile_assignments(d):
                        yield name, value, d.line
        elif self.kind == "python" and self.tree is not None:
            yield from python_environ(self.nodes())
        elif self.data:
            for p in self.pairs:
                yield from self._structured_env(p)

    def _structured_env(self, p: Pair) -> Iterator[tuple[str, str, int]]:
        """The variable one pair of a YAML/JSON/TOML document sets, if any: under an
        ``environment:``/``env:`` mapping or list (``NAME=value``), or a k8s ``env`` entry."""
        parents = [x.lower() for x in p.path[:-1] if isinstance(x, str)]
        if not parents or parents[-1] not in ("environment", "env"):
            # k8s env lists: [{name: X, value: Y}]
            if p.key == "value" and len(p.path) >= 3 and isinstance(p.path[-2], int):
                holder = p.path[:-2]
                if holder and holder[-1] == "env":
                    name = _get(self.data, (*p.path[:-1], "name"))
                    if isinstance(name, str):
                        yield name, _scalar_text(p.value), p.line
            return
        if isinstance(p.path[-1], int) and isinstance(p.value, str) and "=" in p.value:
            name, _, value = p.value.partition("=")
            yield name.strip(), value.strip(), p.line
        elif isinstance(p.path[-1], str):
            yield p.key, _scalar_text(p.value), p.line

    def settings(self) -> Iterator[tuple[str, Any, int]]:
        """(key, value, line) from pairs and env vars, each location once."""
        seen: set[tuple[str, int]] = set()
        for p in self.pairs:
            if p.key and (p.key, p.line) not in seen:
                seen.add((p.key, p.line))
                yield p.key, p.value, p.line
        for name, value, line in self.env_vars():
            if (name, line) not in seen:
                seen.add((name, line))
                yield name, value, line

    def strings(self) -> Iterator[tuple[str, int]]:
        """Every string value (for DSNs and URLs), with its line."""
        if self.tree is not None:
            for node in self.nodes():
                if isinstance(node, ast.Constant) and isinstance(node.value, str):
                    yield node.value, node.lineno
            return
        for p in self.pairs:
            if isinstance(p.value, str):
                yield p.value, p.line
        if self.kind == "dockerfile":
            for d in self.directives:
                for a in d.args:
                    yield a, d.line


def _scalar_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _get(data: list[Any], path: KeyPath) -> Any:
    cur: Any = data
    for part in path:
        try:
            cur = cur[part]
        except (KeyError, IndexError, TypeError):
            return None
    return cur


def norm_key(key: str) -> str:
    """``SSL_Verify`` / ``ssl-verify`` / ``sslVerify`` -> ``sslverify``."""
    return re.sub(r"[^a-z0-9]", "", str(key).lower())


def truthy(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value == 1
    return isinstance(value, str) and value.strip().strip("'\"").lower() in (
        "1",
        "true",
        "yes",
        "on",
    )


def falsy(value: Any) -> bool:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return value == 0
    return isinstance(value, str) and value.strip().strip("'\"").lower() in (
        "0",
        "false",
        "no",
        "off",
    )
