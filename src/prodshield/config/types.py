"""Small value types shared by the configuration models: durations and sizes."""

from __future__ import annotations

import math
import re
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, PlainSerializer, WithJsonSchema

_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_PART_RE = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")


MAX_DURATION = 10 * 365 * 86400.0
"""The longest duration anything accepts (ten years: longer is a typo, and would overflow the
clocks and timers it feeds); fields with a tighter bound say so in their docstring."""


def parse_duration(value: Any) -> float:
    """Parse ``30s``, ``5m``, ``1h30m``, ``14d``, ``250ms`` or a bare number of seconds.

    Returns seconds as a float; raises ``ValueError`` with the message users see (also for a
    duration above :data:`MAX_DURATION`).
    """
    return _bounded(value, _seconds(value))


def _bounded(value: Any, seconds: float) -> float:
    if not seconds <= MAX_DURATION:  # also NaN and inf
        raise ValueError(
            f"{value!r} is too long a duration (at most {write_duration(MAX_DURATION)})"
        )
    return seconds


def _seconds(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a duration (use 30s, 5m, 1h)")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError(f"{value!r} is not a duration: it is negative")
        return float(value)
    if isinstance(value, str):
        m = _DURATION_RE.match(value)
        if m:
            return float(m.group(1)) * _UNITS[m.group(2) or "s"]
        text = value.strip()
        parts = _PART_RE.findall(text)
        if parts and "".join(n + u for n, u in parts) == text:
            return sum(float(n) * _UNITS[u] for n, u in parts)
    raise ValueError(f"{value!r} is not a duration (use 30s, 5m, 1h)")


def whole_seconds(seconds: float) -> int:
    """Seconds rounded to the nearest whole second, half up, never negative: the one rounding of
    every duration prodshield shows (CLI, reports, status page, dashboard), so an incident of
    23.83 s is 24s everywhere."""
    return max(0, math.floor(seconds + 0.5))


def write_duration(seconds: float) -> str:
    """Seconds as shield.yaml writes them, to be read back: ``90`` -> ``1m30s`` (``config show``,
    the config reference, a ``--baseline`` passed on, JSON fields and metric labels)."""
    return "".join(_duration_parts(seconds))


def format_duration(seconds: float) -> str:
    """Seconds as people read them in prodshield's output: ``90`` -> ``1m 30s``, ``250ms``, the
    form of :func:`format_elapsed` (every unit, not only the two largest)."""
    return " ".join(_duration_parts(seconds))


def _duration_parts(seconds: float) -> list[str]:
    if seconds < 1 and seconds != 0:
        return [f"{round(seconds * 1000)}ms"]
    total = whole_seconds(seconds)
    out = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if total >= size:
            out.append(f"{total // size}{unit}")
            total %= size
    return out or ["0s"]


def format_elapsed(seconds: float) -> str:
    """How long something has gone on, as people read it: ``45s``, ``5m 43s``, ``2h 3m``,
    ``1d 4h`` (its two largest units, rounded by :func:`whole_seconds`). The one form of an
    incident's duration on the status page, the dashboard and ``incident list``/``show``
    (``ongoing for 5m 43s`` while open, ``lasted 5m 43s`` once resolved)."""
    s = whole_seconds(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m {s % 60}s" if s % 60 else f"{s // 60}m"
    if s < 86400:
        return f"{s // 3600}h {s % 3600 // 60}m"
    return f"{s // 86400}d {s % 86400 // 3600}h"


_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(b|kb|kib|mb|mib|gb|gib|k|m|g)?\s*$", re.I)
_SIZE_UNITS = {
    "b": 1,
    "k": 1024,
    "kb": 1000,
    "kib": 1024,
    "m": 1024**2,
    "mb": 1000**2,
    "mib": 1024**2,
    "g": 1024**3,
    "gb": 1000**3,
    "gib": 1024**3,
}


def parse_size(value: Any) -> int:
    """Parse ``1MiB``, ``512k``, ``2000`` into bytes."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a size (use 512KiB, 1MiB)")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        m = _SIZE_RE.match(value)
        if m:
            return int(float(m.group(1)) * _SIZE_UNITS[(m.group(2) or "b").lower()])
    raise ValueError(f"{value!r} is not a size (use 512KiB, 1MiB)")


INTERPOLATED_PATTERN = r"\$\{[A-Za-z_][A-Za-z0-9_]*"
"""A value that is (or holds) ``${VAR}``: its type is only known once the environment is read."""

DURATION_PATTERN = (
    r"^\s*\d+(\.\d+)?\s*(ms|s|m|h|d|w)?\s*$|^\s*(\d+(\.\d+)?(ms|s|m|h|d|w))+\s*$|"
    + INTERPOLATED_PATTERN
)
SIZE_PATTERN = r"^\s*\d+(\.\d+)?\s*([bB]|[kKmMgG]([iI]?[bB])?)?\s*$|" + INTERPOLATED_PATTERN

DURATION_JSON_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {"type": "number", "minimum": 0},
        {"type": "string", "pattern": DURATION_PATTERN},
    ],
}
SIZE_JSON_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {"type": "integer", "minimum": 0},
        {"type": "string", "pattern": SIZE_PATTERN},
    ],
}

Duration = Annotated[
    float,
    BeforeValidator(parse_duration),
    PlainSerializer(write_duration),
    WithJsonSchema(DURATION_JSON_SCHEMA),
]
"""Seconds, written in config as ``30s``/``5m``/``1h``; at most ten years (:data:`MAX_DURATION`)."""


def at_most(limit: float) -> AfterValidator:
    """A field's tighter bound than :data:`MAX_DURATION`, said in the config's own units."""

    def check(seconds: float | None) -> float | None:
        if seconds is not None and seconds > limit:
            raise ValueError(
                f"{write_duration(seconds)} is too long (at most {write_duration(limit)})"
            )
        return seconds

    return AfterValidator(check)


Size = Annotated[int, BeforeValidator(parse_size), WithJsonSchema(SIZE_JSON_SCHEMA)]
"""Bytes, written in config as ``1MiB``."""
