"""Template parameters: where the variables of a template are in a line's tokens (a *plan*), and
the functions that pull them out, compiled once per plan for the many lines of one template.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from operator import itemgetter
from typing import Any

from prodshield.logs.masking import WILDCARD

Plan = tuple[tuple[int, int, int, str | None], ...]
"""Where the parameters of a template are: (position, prefix length, suffix length, and for a token
with wildcards inside (``<*>:<*>``) that masked token, else None) per variable. Its pattern is
compiled only when parameters are pulled (:func:`token_pattern`): the follower never does."""


def params(plan: Plan, raw: list[str]) -> list[str]:
    """The values behind each ``<*>`` of a template (``plan``) in a line's tokens."""
    found_params: list[str] = []
    for pos, head, tail, masked in plan:
        value = raw[pos]
        if masked is None:
            found_params.append(value[head : len(value) - tail] if head or tail else value)
        else:
            found = token_pattern(masked).match(value)
            if found is None:
                found_params.append(value)
            else:
                found_params.extend(found.groups())
    return found_params


COMPILE_MIN = 64
"""Lines below which a plan's parameters are read by :func:`params` rather than by a compiled
function: compiling one (``exec``) costs about what reading 64 lines by the plan's loop costs
more than reading them compiled (``logs parse`` of Loghub-like files: 2 plans in 3 read fewer)."""


class Extractors:
    """The token patterns and compiled extractors of one miner (bounded caches)."""

    def __init__(self) -> None:
        self._extractors: dict[Plan, Callable[[str], list[str]]] = {}

    def extractor(self, plan: Plan, lines: int | None = None) -> Callable[[str], list[str]] | None:
        """A function giving a line's parameters under ``plan`` (None: it has none), for many
        lines of one template (``logs parse`` on files).

        Variables that are whole tokens are picked with one C call; others by the plan (a slice
        of the token, or its token pattern), compiled once per plan (:func:`compile_plan`) unless
        ``lines``, how many lines it will read when the caller knows, is below
        :data:`COMPILE_MIN`: those few are read by :func:`params`.
        """
        if not plan:
            return None
        if all(not head and not tail and masked is None for _, head, tail, masked in plan):
            if len(plan) == 1:
                pos = plan[0][0]
                return lambda message: [message.split()[pos]]
            pick = itemgetter(*[p[0] for p in plan])
            return lambda message: list(pick(message.split()))
        extract = self._extractors.get(plan)
        if extract is None and lines is not None and lines < COMPILE_MIN:
            return lambda message: params(plan, message.split())
        if extract is None:
            if len(self._extractors) >= 10_000:
                self._extractors.clear()
            extract = self._extractors[plan] = compile_plan(plan)
        return extract

    def token_pattern(self, masked: str) -> re.Pattern[str]:
        """The pattern whose groups are the variables of one token with wildcards (``<*>:<*>``)."""
        return token_pattern(masked)


_TOKEN_RE: dict[str, re.Pattern[str]] = {}


def token_pattern(masked: str) -> re.Pattern[str]:
    """The pattern whose groups are the variables of one token with wildcards (``<*>:<*>``),
    compiled once (bounded cache)."""
    pattern = _TOKEN_RE.get(masked)
    if pattern is None:
        parts = masked.split(WILDCARD)
        pattern = re.compile("(.*?)".join(re.escape(part) for part in parts) + r"\Z", re.S)
        if len(_TOKEN_RE) > 50_000:
            _TOKEN_RE.clear()
        _TOKEN_RE[masked] = pattern
    return pattern


def compile_plan(plan: Plan) -> Callable[[str], list[str]]:
    """:func:`params` for one ``plan`` as a function of the line: one expression
    per variable instead of a loop over the plan for every line (``logs parse`` on files). A
    token pattern (``(.*?):(.*?)\\Z`` from ``<*>:<*>``) becomes the string operations that
    give its groups: its lazy groups split the token at the first place each separator fits,
    after its fixed prefix and suffix. The generated source holds only integers and names; the
    texts are passed in by name."""
    names: dict[str, Any] = {}
    items: list[str] = []
    for k, (pos, head, tail, masked) in enumerate(plan):
        if masked is None:
            if tail:
                items.append(f"(v := r[{pos}])[{head}:len(v) - {tail}]")
            elif head:
                items.append(f"r[{pos}][{head}:]")
            else:
                items.append(f"r[{pos}]")
            continue
        items.append(_pattern_expression(k, pos, masked, names))
    source = f"def extract(message):\n    r = message.split()\n    return [{', '.join(items)}]\n"
    exec(source, names)  # integers and fixed names only
    extract: Callable[[str], list[str]] = names["extract"]
    return extract


def _pattern_expression(k: int, pos: int, masked: str, names: dict[str, Any]) -> str:
    """The expression giving the groups of ``masked``'s token pattern (:func:`token_pattern`)
    for token ``pos`` (the token itself when it does not match), as :func:`params` does with
    the pattern; the pattern is compiled only when no string operations do its work."""
    parts = masked.split(WILDCARD)
    if len(parts) < 2:
        names[f"match{k}"] = token_pattern(masked).match
        return f"*(m.groups() if (m := match{k}(v := r[{pos}])) is not None else (v,))"
    head, *separators, tail = parts
    names[f"head{k}"], names[f"tail{k}"] = head, tail
    # what the token must be for the pattern to match (its fixed prefix and suffix, which a
    # startswith/endswith alone says when only one of them is there), and its middle
    h, t = len(head), len(tail)
    if h and t:
        fits = f"len(v := r[{pos}]) >= {h + t} and v.startswith(head{k}) and v.endswith(tail{k})"
        inner = f"v[{h}:-{t}]"
    elif h:
        fits, inner = f"(v := r[{pos}]).startswith(head{k})", f"v[{h}:]"
    elif t:
        fits, inner = f"(v := r[{pos}]).endswith(tail{k})", f"v[:-{t}]"
    else:
        fits, inner = "", f"(v := r[{pos}])"
    if not separators:
        return f"({inner} if {fits} else v)" if fits else inner
    if len(set(separators)) == 1 and separators[0]:
        names[f"sep{k}"] = separators[0]
        n = len(separators)
        split = f"len(p := {inner}.split(sep{k}, {n})) == {n + 1}"
        return f"*(p if {fits} and {split} else (v,))" if fits else f"*(p if {split} else (v,))"
    names[f"match{k}"] = token_pattern(masked).match
    return f"*(m.groups() if (m := match{k}(v := r[{pos}])) is not None else (v,))"
