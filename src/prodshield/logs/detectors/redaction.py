"""Redacting samples before they are stored or printed: secrets never appear whole."""

from __future__ import annotations

import re

_FALLBACK = [
    re.compile(
        r"(?i)((?:password|passwd|pwd|secret|token|api[_-]?key|authorization)\s*[=:]\s*)(\S+)"
    ),
    re.compile(r"(?i)(bearer\s+)([A-Za-z0-9._~+/=-]{8,})"),
    re.compile(r"(://[^:/@\s]+:)([^@\s]+)(@)"),
]


_TOKEN_END = re.compile(r"[\s\"'`,;)}\]>@]")


def redact_line(line: str) -> str:
    """Replace every secret the shared engine finds in ``line`` by its redacted form."""
    from prodshield.secrets import scan_line

    out = line
    for match in sorted(scan_line(line), key=lambda f: -(f.column or 0)):
        start = max(0, (match.column or 1) - 1)
        end_match = _TOKEN_END.search(out, start)
        end = end_match.start() if end_match else len(out)
        if end > start:
            out = out[:start] + match.redacted + out[end:]
    for pattern in _FALLBACK:
        out = pattern.sub(
            lambda m: m.group(1) + "***" + (m.group(3) if m.lastindex and m.lastindex >= 3 else ""),
            out,
        )
    return out
