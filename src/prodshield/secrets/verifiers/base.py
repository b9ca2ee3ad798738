"""The protocol every live-secret verifier implements, and the verdict it returns.

A verifier knows one provider's read-only identity call: `probe` builds the request (method, a
fixed path under the provider's base URL, headers carrying the secret) and `judge` reads the
answer. Verifiers do no I/O: `prodshield.secrets.verification` sends the probes (bounded time and
concurrency, no redirects, never to another host) and hands back the answers. A verdict holds the
status and a short reason, never the secret, and never says ``inactive`` unless the provider said
so: an unreachable, rate-limited or failing provider gives ``unverified``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from prodshield.secrets.finding import STATUSES, Status, Verdict

_REASON_MAX = 160


@dataclass(frozen=True, slots=True)
class Probe:
    """One read-only request: ``path`` is appended to the provider's base URL."""

    method: str
    path: str
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""


@dataclass(frozen=True, slots=True)
class Answer:
    """The provider's answer: status, headers (lowercase names) and the first bytes of the body."""

    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> dict[str, Any] | None:
        """The body as a JSON object, or None (not JSON, not an object: hostile text)."""
        try:
            data = json.loads(self.body.decode("utf-8", "replace"))
        except ValueError:
            return None
        return data if isinstance(data, dict) else None


@runtime_checkable
class Verifier(Protocol):
    """A provider whose API has a read-only "who am I" call that a secret authenticates."""

    type: str
    """The provider's name: the key of ``audit.secrets.verify.base_urls`` and the verdict's
    ``provider``."""
    rules: tuple[str, ...]
    """Ids of the secret rules whose values this provider verifies."""
    base_url: str
    """Where the provider's API is (overridable in shield.yaml for self-hosted instances)."""
    call: str
    """The identity call, for the docs (``GET /user``)."""
    example: dict[str, Any]
    """``audit.secrets.verify`` settings naming this provider (its base URL), as in shield.yaml."""

    def probe(self, secret: str) -> Probe: ...

    def judge(self, answer: Answer) -> Verdict: ...


def live(provider: str, reason: str) -> Verdict:
    return Verdict("live", provider, _short(reason))


def inactive(provider: str, reason: str) -> Verdict:
    return Verdict("inactive", provider, _short(reason))


def unverified(provider: str, reason: str) -> Verdict:
    return Verdict("unverified", provider, _short(reason))


def _short(text: str) -> str:
    # Provider text is outside text: one line, bounded, secret shapes masked.
    from prodshield.secrets.redaction import redact_text

    flat = " ".join(str(text).split())
    flat = flat if len(flat) <= _REASON_MAX else flat[: _REASON_MAX - 1] + "…"
    return redact_text(flat)


__all__ = ["STATUSES", "Answer", "Probe", "Status", "Verdict", "Verifier"]


def field_text(data: Mapping[str, Any] | None, *keys: str) -> str:
    """A short string field of a provider's JSON answer ('' when absent or not a string)."""
    value: Any = data
    for key in keys:
        if not isinstance(value, Mapping):
            return ""
        value = value.get(key)
    return value[:64] if isinstance(value, str) else ""


def transient(provider: str, answer: Answer) -> Verdict | None:
    """The answers that say nothing about the secret: rate limits, server errors, redirects."""
    if answer.status == 429:
        return unverified(provider, f"rate limited (HTTP 429{_retry(answer)})")
    if answer.status >= 500:
        return unverified(provider, f"provider error (HTTP {answer.status})")
    if 300 <= answer.status < 400:
        return unverified(provider, f"redirected (HTTP {answer.status}), not followed")
    return None


def _retry(answer: Answer) -> str:
    after = answer.headers.get("retry-after", "")
    return f", retry after {after[:10]} s" if after.isdigit() else ""


def unexpected(provider: str, answer: Answer) -> Verdict:
    return unverified(provider, f"unexpected answer (HTTP {answer.status})")
