"""What a journal keeps of an activity's output: at most about :data:`KEPT_BYTES` (64 KiB).

A probe that fetched a 5 MB body would otherwise keep it whole in journal.json, in the store row
and in the API. Each string longer than the limit keeps its first :data:`KEPT_BYTES` bytes and ends
with a note saying how big it was; an output still over the limit after that (a large parsed JSON
body, a long list) keeps the start of its JSON text instead. The entry then carries
``output_truncated`` (``size``: the output's JSON size in bytes, ``kept``: the bytes kept). The
steady-state tolerance and ``export_as`` still see the whole output: only the record is cut.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from prodshield.chaos.experiments.journal import json_default

KEPT_BYTES = 64 * 1024


def json_size(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False, default=json_default).encode("utf-8"))


def _cut_text(text: str, limit: int) -> str:
    raw = text.encode("utf-8")
    if len(raw) <= limit:
        return text
    kept = raw[:limit].decode("utf-8", "ignore")
    return f"{kept}… [cut by prodshield: {len(raw):,} bytes, the first {limit:,} kept]"


def _cut_strings(value: Any, limit: int) -> Any:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if isinstance(value, str):
        return _cut_text(value, limit)
    if isinstance(value, Mapping):
        return {key: _cut_strings(item, limit) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_cut_strings(item, limit) for item in value]
    return value


def _as_text(value: Any, limit: int) -> str:
    return _cut_text(json.dumps(value, ensure_ascii=False, default=json_default), limit)


def kept_output(value: Any, limit: int = KEPT_BYTES) -> tuple[Any, dict[str, int] | None]:
    """The output to record and, when it was cut, ``{"size": bytes, "kept": bytes}``."""
    size = json_size(value)
    if size <= limit:
        return value, None
    kept = _cut_strings(value, limit)
    # Headroom for a status and headers beside a body cut to the limit.
    if json_size(kept) > limit * 2 and isinstance(kept, Mapping):
        kept = {
            key: _as_text(item, limit // 2) if json_size(item) > limit // 2 else item
            for key, item in kept.items()
        }
    if json_size(kept) > limit * 2:
        kept = _as_text(value, limit)
    return kept, {"size": size, "kept": json_size(kept)}
