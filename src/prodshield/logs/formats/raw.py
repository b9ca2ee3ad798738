"""``raw``: every line is a message as it is; indented lines and ``Caused by:`` lines (Java stack
traces) continue the record above."""

from __future__ import annotations

from typing import Any

from prodshield.logs.formats.base import BaseFormat, Record


class RawFormat(BaseFormat):
    type = "raw"
    example: dict[str, Any] = {"lines": ["just some text", "another line"]}
    description = "the whole line is the message"
    multiline = True

    def sniff(self, line: str) -> bool:
        return True

    def parse(self, line: str) -> Record | None:
        if (line[:1] in (" ", "\t") and line.strip()) or line.startswith("Caused by: "):
            return None
        return Record(message=line)


FORMAT = RawFormat()
