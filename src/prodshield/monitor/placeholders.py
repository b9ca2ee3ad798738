"""What a check's conditions may read, per check type, and where a sequence step may use
``{captures.NAME}``: declared apart from the check implementations, so validating shield.yaml
(``config check``, every command's start) loads no network or database library.

Each member of ``monitor/checks`` takes its ``placeholders`` from ``PLACEHOLDERS[type]``.
"""

from __future__ import annotations

import re

from prodshield.config.checks import SequenceStep

CERT_FACTS = frozenset(
    {
        "CERTIFICATE_EXPIRATION",
        "CERTIFICATE_ISSUER",
        "CERTIFICATE_SUBJECT",
        "CERTIFICATE_HOSTNAME_MATCH",
        "TLS_VERSION",
    }
)
"""The facts of a peer certificate (``type: tls``, and ``type: http`` over https)."""

_HTTP = frozenset({"STATUS", "RESPONSE_TIME", "BODY", "HEADER", "IP", "CONNECTED"}) | CERT_FACTS

PLACEHOLDERS: dict[str, frozenset[str]] = {
    "http": _HTTP,
    "tcp": frozenset({"CONNECTED", "RESPONSE_TIME", "IP", "BODY"}),
    "tls": CERT_FACTS | {"CONNECTED", "RESPONSE_TIME", "IP", "CERTIFICATE_CHAIN_VALID"},
    "dns": frozenset({"DNS_RCODE", "BODY", "ANSWERS", "RESPONSE_TIME", "CONNECTED", "IP"}),
    "postgres": frozenset({"CONNECTED", "RESPONSE_TIME", "RESULT"}),
    "redis": frozenset({"CONNECTED", "RESPONSE_TIME", "RESULT", "ROLE"}),
    "heartbeat": frozenset({"CONNECTED"}),
    "sequence": _HTTP,  # each step is one http request
}
"""Check type -> the placeholders its conditions may use."""

CAPTURE_RE = re.compile(r"\{captures\.([A-Za-z_][A-Za-z0-9_]*)\}")


def step_texts(step: SequenceStep) -> list[tuple[tuple[str, ...], str]]:
    """Where a step may use ``{captures.NAME}``: (location under the step, text)."""
    out: list[tuple[tuple[str, ...], str]] = [(("url",), step.url)]
    out += [(("headers", k), v) for k, v in step.headers.items()]
    if step.body is not None:
        out.append((("body",), step.body))
    return out
