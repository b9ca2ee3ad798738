"""Deploy markers: which version went out to which environment and service, and when.

``prodshield deploy mark --version V`` (or the post-deploy workflow) records one; the dashboard
draws them on response-time charts, the API lists them, and an incident's evidence names the
latest deploy of its service. A small module of its own (it imports only ``store``): the monitor,
the logs and the web all read markers, and capabilities do not import each other.

An empty ``environment`` or ``service`` means "all of them": a marker without ``--env`` applies to
every environment of the service, one without ``--service`` to every service.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

from pydantic import Field
from sqlalchemy import desc, or_, select

from prodshield.errors import Invalid
from prodshield.store import Store
from prodshield.store import tables as t
from prodshield.views import View

MAX_VERSION = 255
MAX_NOTE = 2000


@dataclass(frozen=True, slots=True)
class Deploy:
    id: int
    version: str
    environment: str
    service: str
    deployed_at: float
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def view(self) -> DeployView:
        return DeployView(**asdict(self))

    def applies_to(self, service: str, environment: str) -> bool:
        """True when this marker covers ``service`` in ``environment`` (empty = all)."""
        return (not self.service or self.service == service) and (
            not self.environment or self.environment == environment
        )


class DeployView(View):
    """A deploy marker as the API sends it."""

    id: int
    version: str
    environment: str = Field(description="empty: every environment")
    service: str = Field(description="empty: every service")
    deployed_at: float = Field(description="epoch seconds")
    note: str | None


class DeploysView(View):
    deploys: list[DeployView]


def _clean(text: str, what: str, limit: int) -> str:
    text = text.strip()
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in text):
        raise Invalid(f"{what} must not contain control characters")
    if len(text) > limit:
        raise Invalid(f"{what} is longer than {limit} characters")
    return text


def mark(
    store: Store,
    version: str,
    *,
    environment: str = "",
    service: str = "",
    at: float | None = None,
    note: str | None = None,
) -> Deploy:
    """Record that ``version`` was deployed (now, or at ``at``); returns the stored marker."""
    version = _clean(version, "the version", MAX_VERSION)
    if not version:
        raise Invalid("the version must not be empty")
    environment = _clean(environment, "the environment", 128)
    service = _clean(service, "the service", 255)
    when = time.time() if at is None else float(at)
    if note is not None:
        note = note.strip()[:MAX_NOTE] or None
    with store.begin() as conn:
        row_id = conn.execute(
            t.deploys.insert().values(
                version=version,
                environment=environment,
                service=service,
                deployed_at=when,
                note=note,
            )
        ).inserted_primary_key
    assert row_id is not None
    return Deploy(int(row_id[0]), version, environment, service, when, note)


def _row(row: Any) -> Deploy:
    return Deploy(
        int(row.id), row.version, row.environment, row.service, float(row.deployed_at), row.note
    )


def deploys(
    store: Store,
    *,
    environment: str | None = None,
    service: str | None = None,
    since: float | None = None,
    until: float | None = None,
    limit: int = 100,
) -> list[Deploy]:
    """Markers, newest first; ``environment`` / ``service`` keep those that apply to them
    (markers for all environments or all services included)."""
    d = t.deploys
    query = select(d).order_by(desc(d.c.deployed_at), desc(d.c.id)).limit(max(1, limit))
    if environment is not None:
        query = query.where(or_(d.c.environment == environment, d.c.environment == ""))
    if service is not None:
        query = query.where(or_(d.c.service == service, d.c.service == ""))
    if since is not None:
        query = query.where(d.c.deployed_at >= since)
    if until is not None:
        query = query.where(d.c.deployed_at <= until)
    with store.connect() as conn:
        return [_row(r) for r in conn.execute(query)]


def latest(
    store: Store, *, service: str, environment: str, before: float | None = None
) -> Deploy | None:
    """The newest marker that applies to ``service`` in ``environment`` (at or before ``before``)."""
    found = deploys(store, environment=environment, service=service, until=before, limit=1)
    return found[0] if found else None


def get(store: Store, deploy_id: int) -> Deploy | None:
    """The marker with this id, if any."""
    with store.connect() as conn:
        row = conn.execute(select(t.deploys).where(t.deploys.c.id == deploy_id)).first()
    return None if row is None else _row(row)
