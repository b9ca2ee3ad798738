"""Evaluate parsed conditions against the facts a check observed.

Every outcome keeps the actual value, so a failure reads ``[STATUS] (503) == 200``.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from prodshield.conditions.parser import (
    Call,
    Condition,
    Literal,
    Operand,
    Placeholder,
    duration_unit,
    literal_number,
    operand_kind,
)
from prodshield.text import loads_json

_MISSING = object()


class Facts:
    """What a check observed, keyed by placeholder name (``STATUS``, ``BODY``...).

    ``BODY`` may be bytes or text; it is parsed as JSON only when a condition asks for a path.
    ``HEADER`` is a mapping with lower-cased names.
    """

    __slots__ = ("_json", "values")

    def __init__(self, values: Mapping[str, Any] | None = None) -> None:
        self.values: dict[str, Any] = dict(values or {})
        self._json: Any = _MISSING

    def __contains__(self, name: str) -> bool:
        return name in self.values

    def get(self, name: str) -> Any:
        return self.values.get(name, _MISSING)

    def body_json(self) -> Any:
        if self._json is _MISSING:
            raw = self.values.get("BODY")
            if isinstance(raw, bytes | bytearray):
                raw = raw.decode("utf-8", "replace")
            try:
                # A target's answer: nesting is bounded (too deep reads as "not JSON").
                self._json = loads_json(raw, 64) if isinstance(raw, str) else raw
            except ValueError:
                self._json = None
        return self._json


@dataclass(frozen=True, slots=True)
class ConditionOutcome:
    expr: str
    ok: bool
    actual: str | None

    def describe(self) -> str:
        """``[STATUS] (503) == 200``: the condition with the actual value after the placeholder."""
        return describe(self.expr, self.actual)

    def as_dict(self) -> dict[str, Any]:
        return {"expr": self.expr, "ok": self.ok, "actual": self.actual}


def describe(expr: str, actual: str | None) -> str:
    if actual is None:
        return expr
    from prodshield.conditions.parser import parse_condition

    try:
        cond = parse_condition(expr)
    except ValueError:
        return f"{expr} (actual {actual})"
    return f"{cond.left} ({_with_unit(cond, actual)}) {cond.op} {cond.right}"


def _with_unit(cond: Condition, actual: str) -> str:
    """A duration placeholder's actual value (stored in ms, bare) in the unit of the threshold it
    is compared with, or with ``ms`` after it: ``(2.007s) < 1s``, ``(370 ms) < 200``, never
    ``(2006.753) < 1s``. Other values are shown as observed."""
    if not (isinstance(cond.left, Placeholder) and operand_kind(cond.left) == "ms"):
        return actual
    ms = literal_number(actual, "number")
    if ms is None:
        return actual  # <missing>, or a certificate expiry already shown as 10d0h
    unit = duration_unit(cond.right.text) if isinstance(cond.right, Literal) else None
    if unit is None or unit[0] == "ms":
        return f"{actual} ms"
    return _text(ms / unit[1]) + unit[0]


def _resolve(o: Placeholder, facts: Facts) -> Any:
    if o.name == "BODY" and o.path:
        cur: Any = facts.body_json()
        if cur is None and facts.get("BODY") is not _MISSING:
            return _MISSING
    else:
        cur = facts.get(o.name)
        if cur is _MISSING:
            return _MISSING
        if o.name in ("BODY",) and isinstance(cur, bytes | bytearray):
            cur = cur.decode("utf-8", "replace")
    for part in o.path:
        if o.name == "HEADER" and isinstance(part, str) and isinstance(cur, Mapping):
            cur = cur.get(part.lower(), _MISSING)
        elif isinstance(part, int) and isinstance(cur, list):
            cur = cur[part] if 0 <= part < len(cur) else _MISSING
        elif isinstance(part, str) and isinstance(cur, Mapping):
            cur = cur.get(part, _MISSING)
        else:
            return _MISSING
        if cur is _MISSING:
            return _MISSING
    return cur


def _value(o: Operand, facts: Facts) -> Any:
    if isinstance(o, Placeholder):
        return _resolve(o, facts)
    if isinstance(o, Literal):
        return o.text
    if o.func == "len":
        v = _value(o.args[0], facts)
        if v is _MISSING or v is None:
            return _MISSING
        if isinstance(v, str | list | dict | bytes):
            return len(v)
        return len(_text(v))
    if o.func == "has":
        v = _value(o.args[0], facts)
        return v is not _MISSING and v is not None
    return o  # pat()/any() are matched, not valued


def _text(v: Any) -> str:
    if v is _MISSING:
        return "<missing>"
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, float):
        return f"{v:.3f}".rstrip("0").rstrip(".")
    if isinstance(v, dict | list):
        text = json.dumps(v, separators=(",", ":"), default=str)
    elif isinstance(v, bytes | bytearray):
        text = v.decode("utf-8", "replace")
    else:
        text = str(v)
    return text if len(text) <= 200 else text[:197] + "..."


def _show(o: Operand, v: Any) -> str:
    """The actual value as shown in a result: a target's answer, so redacted."""
    if isinstance(o, Placeholder) and o.name == "CERTIFICATE_EXPIRATION" and isinstance(v, float):
        return _human_ms(v)
    from prodshield.secrets.redaction import redact_text

    return redact_text(_text(v))


def _human_ms(ms: float) -> str:
    """A certificate's time left as every duration is shown (``10d 4h``, ``5m 43s``), signed
    when it expired."""
    from prodshield.config.types import format_elapsed

    return ("-" if ms <= -1000 else "") + format_elapsed(abs(ms) / 1000)


def _as_number(v: Any, kind: str) -> float | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, int | float):
        return float(v)
    if isinstance(v, str):
        return literal_number(v, kind if kind == "ms" else "number")
    return None


def _equal(a: Any, b: Any, kind: str) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return _text(a).lower() == _text(b).lower()
    na, nb = _as_number(a, kind), _as_number(b, kind)
    if na is not None and nb is not None:
        return na == nb
    return _text(a) == _text(b)


def evaluate(cond: Condition, facts: Facts) -> ConditionOutcome:
    """Evaluate one condition; a value the check did not observe fails with ``<missing>``."""
    left, right = cond.left, cond.right
    # Put the observed side on the left for display and unit decisions.
    lv, rv = _value(left, facts), _value(right, facts)
    observed, observed_v = (left, lv) if not isinstance(left, Literal) else (right, rv)
    kind = operand_kind(observed)
    actual = _show(observed, observed_v)
    if lv is _MISSING or rv is _MISSING:
        return ConditionOutcome(cond.text, False, actual)
    op = cond.op
    if isinstance(right, Call) and right.func in ("pat", "any"):
        if right.func == "pat":
            pattern = right.args[0].text if isinstance(right.args[0], Literal) else ""
            hit = fnmatch.fnmatchcase(_text(lv) if not isinstance(lv, str) else lv, pattern)
        else:
            hit = any(_equal(lv, _value(a, facts), kind) for a in right.args)
        ok = hit if op == "==" else not hit
        return ConditionOutcome(cond.text, ok, actual)
    if op in ("==", "!="):
        eq = _equal(lv, rv, kind)
        return ConditionOutcome(cond.text, eq if op == "==" else not eq, actual)
    na, nb = _as_number(lv, kind), _as_number(rv, kind)
    if na is None or nb is None:
        # Ordering compares numbers; text is compared as text.
        sa, sb = _text(lv), _text(rv)
        ok = {"<": sa < sb, "<=": sa <= sb, ">": sa > sb, ">=": sa >= sb}[op]
        return ConditionOutcome(cond.text, ok, actual)
    ok = {"<": na < nb, "<=": na <= nb, ">": na > nb, ">=": na >= nb}[op]
    return ConditionOutcome(cond.text, ok, actual)


def evaluate_all(conditions: list[Condition], facts: Facts) -> list[ConditionOutcome]:
    return [evaluate(c, facts) for c in conditions]


def resolve(placeholder: Placeholder, facts: Facts) -> Any:
    """The value ``placeholder`` reads in ``facts``, or None when the check did not observe it."""
    value = _resolve(placeholder, facts)
    return None if value is _MISSING else value
