"""The parts of an invalid shield.yaml that validate on their own, so the load-time checks
(``Validator``) still judge them in the same run: "one line per mistake", not a second round of
mistakes once the first is fixed.

A section is kept when it validates alone; ``checks``, ``environments`` and ``logs.sources`` item
by item. A check with a bad field of its own (``interval: 5x``) is kept without that field when
it then validates, so its other fields (its conditions, its ``{var}``s) are still judged; a bad
item of a list (one condition of ``conditions``) is left out alone, so the list's other items
are too; a field whose absence would change what the checks conclude (``environments``,
``type``) is never dropped. The validators' paths into the partial config are mapped back to the file's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from prodshield.config.schema import ShieldConfig
from prodshield.config.yamlpos import Path

_KEEP = frozenset({"type", "name", "environments"})
"""Check keys never dropped: without them a check is another check."""


@dataclass
class Partial:
    """A valid config made of the parts that validated, and how its paths map to the file's."""

    config: ShieldConfig
    lists: dict[tuple[Any, ...], list[int]] = field(default_factory=dict)
    """Per list (``("checks",)``, ``("logs", "sources")``, ``("checks", 0, "conditions")``): the
    file's index of each kept item."""

    def to_file(self, path: Path) -> Path:
        """``path`` into the partial config as the path into the file (a list inside a kept
        item, such as a check's thinned ``conditions``, first, then the item's own list)."""
        for prefix, indexes in sorted(self.lists.items(), key=lambda kv: -len(kv[0])):
            n = len(prefix)
            at = path[n] if path[:n] == prefix and len(path) > n else None
            if isinstance(at, int) and 0 <= at < len(indexes):
                path = (*prefix, indexes[at], *path[n + 1 :])
        return path


def _valid(data: dict[str, Any]) -> ShieldConfig | None:
    try:
        return ShieldConfig.model_validate(data)
    except (ValidationError, RecursionError, ValueError, TypeError):
        return None


def _errors(data: dict[str, Any]) -> list[Any] | None:
    """The schema's errors on ``data`` (empty when it validates), or None if it cannot tell."""
    try:
        ShieldConfig.model_validate(data)
    except ValidationError as exc:
        return list(exc.errors())
    except (RecursionError, ValueError, TypeError):
        return None
    return []


def _salvage_check(
    check: Any, strip: Callable[[tuple[Any, ...], Any], Path]
) -> tuple[Any, dict[str, list[int]]] | None:
    """``check`` if it validates, else without what of its own failed: the items of a list
    (a bad condition among ``conditions``, so the others are still judged), else whole fields;
    None when that does not make it valid. With it, per list field thinned, the file's index of
    each item kept."""
    if not isinstance(check, dict):
        return None
    kept: dict[str, list[int]] = {}
    for _ in range(4):
        errors = _errors({"checks": [check]})
        if errors is None:
            return None
        if not errors:
            return check, kept
        drop: set[str] = set()
        items: dict[str, set[int]] = {}
        for err in errors:
            path = strip(tuple(err["loc"]), {"checks": [check]})
            key = path[2] if len(path) > 2 else None
            if not isinstance(key, str) or key in _KEEP or key not in check:
                return None
            at = path[3] if len(path) > 3 else None
            if isinstance(at, int) and isinstance(check[key], list) and 0 <= at < len(check[key]):
                items.setdefault(key, set()).add(at)
            else:
                drop.add(key)
        check = {k: v for k, v in check.items() if k not in drop}
        for key, bad in items.items():
            if key in drop:
                continue
            was = kept.get(key, list(range(len(check[key]))))
            kept[key] = [n for i, n in enumerate(was) if i not in bad]
            check[key] = [v for i, v in enumerate(check[key]) if i not in bad]
        for key in drop:
            kept.pop(key, None)
    return None


def salvage(data: dict[str, Any], strip: Callable[[tuple[Any, ...], Any], Path]) -> Partial:
    """The parts of ``data`` (a mapping that failed the schema) that validate.

    ``strip`` turns a pydantic error location into a path into the data (the loader's)."""
    kept: dict[str, Any] = {}
    lists: dict[tuple[Any, ...], list[int]] = {}
    for key, value in data.items():
        if not isinstance(key, str):
            continue
        if key == "checks" and isinstance(value, list):
            indexes: list[int] = []
            items: list[Any] = []
            for i, check in enumerate(value):
                good = _salvage_check(check, strip)
                if good is not None:
                    for name, kept_items in good[1].items():
                        lists[(key, len(items), name)] = kept_items
                    indexes.append(i)
                    items.append(good[0])
            kept[key] = items
            lists[(key,)] = indexes
        elif key == "environments" and isinstance(value, dict):
            kept[key] = {
                name: env for name, env in value.items() if _valid({key: {name: env}}) is not None
            }
        elif _valid({key: value}) is not None:
            kept[key] = value
        elif key == "logs" and isinstance(value, dict) and isinstance(value.get("sources"), list):
            indexes, items = [], []
            for i, source in enumerate(value["sources"]):
                if _valid({"logs": {"sources": [source]}}) is not None:
                    indexes.append(i)
                    items.append(source)
            kept[key] = {"sources": items}
            lists[("logs", "sources")] = indexes
    config = _valid(kept)
    if config is None:
        # parts valid alone that are not together (none today): judge nothing rather than guess
        return Partial(ShieldConfig())
    return Partial(config, lists)
