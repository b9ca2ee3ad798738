"""The overall status a status page states in its headline, from what is open right now.

One pure function joins the two things a reader sees on the page: the state of each service and
the list of ongoing incidents. A service with an open incident is never "up" (a check counting its
successes back, a flapping check and a certificate about to expire are all still incidents), so
the headline can never say "All systems operational" above an "Ongoing incidents" list. The
other way round, a service is "down" only once an incident is open on it: checks that fail fewer
than their ``failure_threshold`` times in a row (a blip, or an outage not yet confirmed) make it
"degraded", so one failed probe never puts "Partial outage" on a public page.

| level | when |
| --- | --- |
| ``major_outage`` | at least half of the services with a known state are down |
| ``partial_outage`` | some service is down |
| ``degraded`` | no service is down, but one is degraded or has an open incident |
| ``operational`` | every service is up (or in maintenance, which the detail says) and nothing is open |
| ``unknown`` | nothing has been checked yet |
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from pydantic import ConfigDict, with_config

Level = Literal["operational", "degraded", "partial_outage", "major_outage", "unknown"]

TITLES: dict[Level, str] = {
    "operational": "All systems operational",
    "degraded": "Degraded service",
    "partial_outage": "Partial outage",
    "major_outage": "Major outage",
    "unknown": "Status not known yet",
}


@dataclass(frozen=True, slots=True)
class ServiceState:
    """One service (a check's group in one environment) as the status page lists it."""

    name: str
    environment: str
    status: str  # up | down | degraded | unknown | waiting | maintenance
    open_incidents: int = 0


# ServicesView.headline (monitor/views.py) is this dataclass, its schema closed like a view's:
# the headline's fields are declared once.
@with_config(ConfigDict(extra="forbid"))
@dataclass(frozen=True, slots=True)
class Headline:
    """The status page's headline: the worst of the services' states and the open incidents."""

    level: Level
    title: str
    detail: str
    services: int
    down: int
    degraded: int
    open_incidents: int


def service_status(member_states: Sequence[str], open_incidents: int) -> str:
    """A service's state from its checks' states and how many incidents are open on them.

    Down when every known member is down and an incident is open on them, degraded when only
    some are down, when they fail but no incident is open yet (``failure_threshold`` not reached),
    or when an incident is open while the checks already pass again; up when all are up and
    nothing is open.
    """
    known = [s for s in member_states if s not in ("unknown", "waiting")]
    if not known:
        if open_incidents:
            return "degraded"
        # only heartbeats never pinged yet: neither up nor a problem
        return "waiting" if "waiting" in member_states else "unknown"
    if all(s == "down" for s in known):
        return "down" if open_incidents else "degraded"
    if any(s in ("down", "degraded") for s in known) or open_incidents:
        return "degraded"
    if all(s == "maintenance" for s in known):
        return "maintenance"
    return "up"


def headline(services: Iterable[ServiceState], open_incidents: int) -> Headline:
    """The page's headline: the worst of the service states and the open incidents."""
    rows = list(services)
    total = len(rows)
    down = sum(1 for s in rows if s.status == "down")
    degraded = sum(1 for s in rows if s.status == "degraded")
    known = sum(1 for s in rows if s.status not in ("unknown", "waiting"))
    level: Level
    if down and down * 2 >= known:
        level = "major_outage"
    elif down:
        level = "partial_outage"
    elif degraded or open_incidents:
        level = "degraded"
    elif known == 0:
        level = "unknown"
    else:
        level = "operational"
    parts: list[str] = []
    if down:
        parts.append(f"{down} of {total} service{'' if total == 1 else 's'} down")
    if degraded:
        parts.append(f"{degraded} degraded")
    if open_incidents:
        parts.append(f"{open_incidents} ongoing incident{'' if open_incidents == 1 else 's'}")
    maintenance = sum(1 for s in rows if s.status == "maintenance")
    if not parts:
        up = sum(1 for s in rows if s.status == "up")
        parts.append(f"{up} of {total} service{'' if total == 1 else 's'} up")
    if maintenance:
        parts.append(f"{maintenance} in maintenance")
    return Headline(
        level=level,
        title=TITLES[level],
        detail=" · ".join(parts),
        services=total,
        down=down,
        degraded=degraded,
        open_incidents=open_incidents,
    )
