"""Redacting samples before they are stored or printed: secrets never appear whole.

The detectors' name for the one redaction pass, `prodshield.secrets.redaction.redact_text`.
"""

from __future__ import annotations

from prodshield.secrets.redaction import redact_text


def redact_line(line: str) -> str:
    """``line`` with every secret masked (see `prodshield.secrets.redaction`)."""
    return redact_text(line)
