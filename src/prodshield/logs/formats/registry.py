"""The registry of log formats and auto-detection from a source's first lines."""

from __future__ import annotations

import re
from collections.abc import Sequence

from prodshield.errors import Invalid
from prodshield.logs.formats import REGISTRY
from prodshield.logs.formats.base import LogFormat

FORMATS: dict[str, LogFormat] = REGISTRY
"""The registry (``prodshield.logs.formats.REGISTRY``), in detection order."""


def get_format(name: str) -> LogFormat:
    """The format registered as ``name``; an ``Invalid`` error names the known ones."""
    try:
        return FORMATS[name]
    except KeyError:
        known = ", ".join(sorted(FORMATS))
        raise Invalid(f"unknown log format {name!r} (known: auto, {known})") from None


_EXCEPTION = re.compile(r"([\w$]+\.)*\w*(Error|Exception|Warning|Interrupt|Exit)\b")


def _continuation_like(line: str) -> bool:
    """Lines that usually continue a record: indented, traceback headers, exception lines."""
    return (
        line[:1].isspace()
        or line.startswith(("Traceback (most recent call last)", "Caused by: ", "During handling"))
        or _EXCEPTION.match(line) is not None
    )


def detect_format(lines: Sequence[str], min_share: float = 0.6) -> LogFormat:
    """The format recognising the largest share of ``lines`` (at least ``min_share``), else raw.

    Multi-line formats are judged on the lines that start a record, so a traceback does not hide
    the Python log lines around it.
    """
    sample = [line for line in lines if line.strip()][:200]
    if not sample:
        return FORMATS["raw"]
    best: LogFormat = FORMATS["raw"]
    best_share = 0.0
    for fmt in FORMATS.values():
        if fmt.type == "raw":
            continue
        hits = sum(1 for line in sample if fmt.sniff(line))
        if fmt.multiline:
            starts = [line for line in sample if not _continuation_like(line)]
            share = hits / max(1, len(starts)) if hits else 0.0
            if fmt.type == "mysql-slow":
                share = 1.0 if hits and sample[0].startswith("#") else 0.0
        else:
            share = hits / len(sample)
        if share > best_share + 1e-9:
            best, best_share = fmt, share
    return best if best_share >= min_share else FORMATS["raw"]
