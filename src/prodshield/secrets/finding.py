"""What a scan reports: `SecretFinding`, and the helpers that keep a secret out of every output."""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

from prodshield.severity import RANK

Severity = Literal["critical", "high", "medium", "low"]
# The scale of prodshield.severity without "info" (a secret is never merely informative).
SEVERITIES: tuple[Severity, ...] = ("low", "medium", "high", "critical")
SEVERITY_RANK: dict[str, int] = {name: RANK[name] for name in SEVERITIES}


def redact(value: str) -> str:
    """A few leading characters and a short hash: enough to recognise a value, never to use it.

    At most a quarter of the value (and never more than four characters) is shown, so short
    passwords show little or nothing.
    """
    shown = min(4, len(value) // 4)
    digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"{value[:shown]}…[{digest}]"


def shown_path(path: str | None) -> str | None:
    """A finding's path as reports show it: ``config.py``, not ``./config.py`` (``audit
    secrets .`` joins the root as given), as ``audit``, ``--git`` and SARIF name it. Only shown:
    the fingerprint keeps the path as scanned, so baselines and ``audit`` still match."""
    while path and path.startswith("./") and len(path) > 2:
        path = path[2:]
    return path


def fingerprint(rule: str, value: str, path: str | None) -> str:
    """A stable identity for a finding (rule + value + path) that does not reveal the value."""
    material = "\0".join((rule, value, path or "")).encode("utf-8", "surrogatepass")
    return hashlib.sha256(material).hexdigest()[:32]


Status = Literal["live", "inactive", "unverified"]
STATUSES: tuple[Status, ...] = ("live", "inactive", "unverified")


@dataclass(frozen=True, slots=True)
class Verdict:
    """What a provider said of one secret (`prodshield.secrets.verifiers`): ``live`` (it
    works), ``inactive`` (the provider refused it: invalid, revoked, expired) or ``unverified``
    (no answer either way: unreachable, rate limited, failing), and why. Never the secret."""

    status: Status
    provider: str
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "provider": self.provider, "reason": self.reason}


_RUN_KEY = os.urandom(32)
"""The key of `secret_id`: made when the process starts, never written anywhere."""


def secret_id(value: str) -> str:
    """The identity of a secret value alone (HMAC-SHA-256 under a key this process made and never
    writes): the same secret in a commit, a process environment and a log has the same id in one
    run, and nobody holding a report can test a guess against it."""
    return hmac.new(_RUN_KEY, value.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()[
        :32
    ]


@dataclass(frozen=True, slots=True)
class Place:
    """One place a secret was found: ``kind`` is ``file``, ``git`` (a commit), ``process`` (a
    running process's environment) or ``log`` (a production log)."""

    kind: str
    path: str | None = None
    line: int | None = None
    commit: str | None = None
    pid: int | None = None
    variable: str | None = None

    def describe(self) -> str:
        """``app.py:3 @1a2b3c4d5e``, ``pid 4242 env GITHUB_TOKEN``, ``/var/log/app.log:17``."""
        if self.kind == "process":
            return f"pid {self.pid} env {self.variable}"
        where = f"{shown_path(self.path) or '?'}:{self.line or 0}"
        return f"{where} @{self.commit[:10]}" if self.commit else where

    def to_dict(self) -> dict[str, Any]:
        data = {k: v for k, v in asdict(self).items() if v is not None}
        if "path" in data:
            data["path"] = shown_path(data["path"])
        return data


@dataclass(frozen=True, slots=True)
class SecretFinding:
    """One leaked credential. `redacted` and `snippet` never hold the whole value."""

    rule: str
    kind: str
    severity: Severity
    path: str | None
    line: int
    column: int
    redacted: str
    fingerprint: str
    confidence: float
    snippet: str = ""
    commit: str | None = None
    author: str | None = None
    secret_id: str = field(default="", compare=False, repr=False)
    """`secret_id` of the value: joins the places of one secret within a run; not reported."""
    verification: Verdict | None = None
    """What the provider said of the value (``--verify``); None when not asked."""
    places: tuple[Place, ...] = ()
    """Every place the same value was found, when several kinds of place were scanned."""

    def to_dict(self) -> dict[str, Any]:
        """The stable JSON form (documented in docs/secrets.md): ``verification`` and ``places``
        only when they were asked for."""
        data: dict[str, Any] = {
            k: getattr(self, k)
            for k in self.__dataclass_fields__
            if k not in ("secret_id", "verification", "places")
        }
        data["path"] = shown_path(self.path)
        if self.verification is not None:
            data["verification"] = self.verification.to_dict()
        if self.places:
            data["places"] = [p.to_dict() for p in self.places]
        return data

    @property
    def live(self) -> bool:
        """The provider confirmed the value works (a live secret always fails the gate)."""
        return self.verification is not None and self.verification.status == "live"

    def with_location(self, **changes: Any) -> SecretFinding:
        return replace(self, **changes)
