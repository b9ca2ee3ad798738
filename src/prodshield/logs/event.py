"""The structured event every log format produces and the miner annotates."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(slots=True)
class LogEvent:
    """One log record (a multi-line record such as a traceback is one event).

    ``fields`` holds format-specific values under common names: ``status``, ``method``, ``path``,
    ``duration_ms``, ``client_ip``, ``user``, ``query``, ``bytes``, ``pid``, ``host``, ``app``...
    ``template_id``, ``template`` and ``params`` are filled by the template miner.
    """

    source: str
    line: int
    timestamp: datetime | None
    level: str | None
    message: str
    fields: dict[str, Any] = field(default_factory=dict)
    raw: str = ""
    template_id: str | None = None
    template: str | None = None
    params: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form used by ``prodshield logs parse --output jsonl``."""
        return {
            "source": self.source,
            "line": self.line,
            "timestamp": self.timestamp.isoformat() if self.timestamp else None,
            "level": self.level,
            "message": self.message,
            "template_id": self.template_id,
            "template": self.template,
            "params": self.params,
            "fields": self.fields,
        }
