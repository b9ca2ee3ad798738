"""YAML loading that remembers where every key and value came from.

The loader composes PyYAML nodes and builds plain Python data while recording, for every path
(``("checks", 2, "interval")``), the line and column of the key and of the value, so validation
errors can point at ``shield.yaml:14:5``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import yaml

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class Pos:
    line: int  # 1-based
    column: int  # 1-based


@dataclass
class Positions:
    """Where each path's key (for mappings) and value sit in the file."""

    keys: dict[Path, Pos] = field(default_factory=dict)
    values: dict[Path, Pos] = field(default_factory=dict)

    def locate(self, path: Path, *, prefer_key: bool = True) -> Pos:
        """Best position for ``path``: the key itself, else the nearest known ancestor."""
        p = tuple(path)
        while True:
            if prefer_key and p in self.keys:
                return self.keys[p]
            if p in self.values:
                return self.values[p]
            if p in self.keys:
                return self.keys[p]
            if not p:
                return Pos(1, 1)
            p = p[:-1]


class YamlSyntaxError(Exception):
    def __init__(self, pos: Pos, message: str) -> None:
        super().__init__(message)
        self.pos = pos
        self.message = message


MAX_DEPTH = 64
"""Nesting deeper than this is refused (no real configuration comes close)."""
MAX_ALIAS_NODES = 100_000
"""Aliases may add at most this many nodes to what the file spells out: a 363-byte alias bomb
("a billion laughs") would otherwise expand to gigabytes."""


def check_budget(root: yaml.Node) -> None:
    """Refuse a composed YAML document whose aliases expand too far or that nests too deeply,
    before anything is built from it; raise :class:`YamlSyntaxError` at the offending node.

    Sizes are computed once per distinct node (aliases share nodes), so this is linear in the
    file, however far its aliases would expand.
    """
    size: dict[int, int] = {}
    active: set[int] = set()

    def walk(node: yaml.Node, depth: int) -> int:
        key = id(node)
        if key in size:
            return size[key]
        if depth > MAX_DEPTH:
            raise YamlSyntaxError(
                _pos(node), f"invalid YAML: nested deeper than {MAX_DEPTH} levels"
            )
        if key in active:
            raise YamlSyntaxError(_pos(node), "invalid YAML: a recursive alias")
        active.add(key)
        total = 1
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                total += walk(k, depth + 1) + walk(v, depth + 1)
        elif isinstance(node, yaml.SequenceNode):
            for item in node.value:
                total += walk(item, depth + 1)
        active.discard(key)
        size[key] = total
        if total - len(size) > MAX_ALIAS_NODES:
            raise YamlSyntaxError(
                _pos(node),
                f"invalid YAML: aliases expand to more than {MAX_ALIAS_NODES:,} nodes "
                "(refused: an alias bomb?)",
            )
        return total

    walk(root, 0)


def _pos(node: yaml.Node) -> Pos:
    return Pos(node.start_mark.line + 1, node.start_mark.column + 1)


ScalarHook = Callable[[str, Path, Pos], str]


class _Builder:
    def __init__(self, scalar_hook: ScalarHook | None) -> None:
        self.positions = Positions()
        self.problems: list[tuple[Pos, Path, str]] = []
        self.hook = scalar_hook
        self._ctor = yaml.SafeLoader("")  # used only for scalar resolution

    def build(self, node: yaml.Node, path: Path) -> Any:
        self.positions.values.setdefault(path, _pos(node))
        if isinstance(node, yaml.MappingNode):
            out: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    merged = self.build(value_node, path)
                    items = merged if isinstance(merged, list) else [merged]
                    for m in items:
                        if isinstance(m, dict):
                            for k, v in m.items():
                                out.setdefault(k, v)
                    continue
                key = self._scalar(key_node) if isinstance(key_node, yaml.ScalarNode) else None
                if not isinstance(key, str | int | float | bool) or key is None:
                    self.problems.append(
                        (_pos(key_node), path, "mapping keys must be plain scalars")
                    )
                    continue
                if isinstance(key, bool | float):
                    key = key_node.value
                child = (*path, key)
                if key in out:
                    self.problems.append((_pos(key_node), child, f"duplicate key {key!r}"))
                self.positions.keys[child] = _pos(key_node)
                out[key] = self.build(value_node, child)
            return out
        if isinstance(node, yaml.SequenceNode):
            items = []
            for i, item in enumerate(node.value):
                child = (*path, i)
                self.positions.keys[child] = _pos(item)
                items.append(self.build(item, child))
            return items
        value = self._scalar(node)
        if isinstance(value, str) and self.hook is not None and node.tag == "tag:yaml.org,2002:str":
            value = self.hook(value, path, _pos(node))
        return value

    def _scalar(self, node: yaml.Node) -> Any:
        return self._ctor.construct_object(node, deep=True)


def load_yaml(
    text: str, *, scalar_hook: ScalarHook | None = None
) -> tuple[Any, Positions, list[tuple[Pos, Path, str]]]:
    """Parse ``text``; return (data, positions, structural problems).

    Raises :class:`YamlSyntaxError` for text that is not YAML.
    """
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        pos = Pos(mark.line + 1, mark.column + 1) if mark else Pos(1, 1)
        problem = exc.problem or exc.context or "invalid YAML"
        if exc.context and exc.problem:
            problem = f"{exc.problem} ({exc.context})"
        raise YamlSyntaxError(pos, f"invalid YAML: {problem}") from None
    except yaml.reader.ReaderError as exc:  # a control character: locate it, keep one line
        at = int(exc.position)
        line_start = text.rfind("\n", 0, at) + 1
        pos = Pos(text.count("\n", 0, at) + 1, at - line_start + 1)
        raise YamlSyntaxError(pos, f"invalid YAML: {str(exc).splitlines()[0]}") from None
    except yaml.YAMLError as exc:  # pragma: no cover - unmarked errors are rare
        raise YamlSyntaxError(Pos(1, 1), f"invalid YAML: {str(exc).splitlines()[0]}") from None
    except RecursionError:
        raise YamlSyntaxError(Pos(1, 1), "invalid YAML: nested too deeply") from None
    if node is None:
        return {}, Positions(), []
    try:
        check_budget(node)
    except RecursionError:
        raise YamlSyntaxError(_pos(node), "invalid YAML: nested too deeply") from None
    builder = _Builder(scalar_hook)
    try:
        data = builder.build(node, ())
    except yaml.constructor.ConstructorError as exc:
        mark = exc.problem_mark
        pos = Pos(mark.line + 1, mark.column + 1) if mark else Pos(1, 1)
        raise YamlSyntaxError(pos, f"invalid YAML: {exc.problem}") from None
    except RecursionError:
        pos = Pos(node.start_mark.line + 1, node.start_mark.column + 1)
        raise YamlSyntaxError(pos, "invalid YAML: nested too deeply or a recursive alias") from None
    return data, builder.positions, builder.problems


def format_path(path: Path) -> str:
    """``("checks", 2, "interval")`` -> ``checks[2].interval``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_\-]*", str(part)):
            out += f".{part}" if out else str(part)
        else:
            out += f"[{str(part)!r}]"
    return out or "(top level)"
