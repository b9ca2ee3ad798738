"""Grouping: checks of one environment failing together send one notification.

With ``defaults.group_window``, an incident's ``incident.opened`` notification waits in the outbox
for the window (like Alertmanager's ``group_wait``). An incident of the same environment opening
meanwhile does not get a notification of its own: it joins the waiting one, whose title, body and
``checks`` field then list every check. The group's notification keeps the first incident's
subject (its GitHub issue, PagerDuty ``dedup_key``, Slack thread); the other incidents record
``refs.grouped_with`` (the first one's id) and later events of each (recovery, reminders) are
their own.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from prodshield.severity import RANK
from prodshield.store import tables as t
from prodshield.text import code_span

OPENED = "incident.opened"
MAX_LISTED = 50


def waiting(conn: Connection, notifier: str, environment: str, now: float) -> Any:
    """The grouped ``incident.opened`` row of ``environment`` still waiting for ``notifier``."""
    o = t.outbox
    rows = conn.execute(
        select(o.c.id, o.c.payload)
        .where(
            o.c.notifier == notifier,
            o.c.event_type == OPENED,
            o.c.status == "pending",
            o.c.attempts == 0,
            o.c.lease_owner.is_(None),
            o.c.next_attempt_at > now,
        )
        .order_by(o.c.id)
    ).all()
    for row in rows:
        group = (row.payload or {}).get("group")
        if isinstance(group, dict) and group.get("environment") == environment:
            return row
    return None


def member(incident: Any, error: str | None) -> dict[str, Any]:
    return {
        "id": int(incident.id),
        "check": incident.check_name,
        "title": incident.title or incident.check_name,
        "kind": incident.kind,
        "error": (error or "")[:300],
    }


def start(payload: dict[str, Any], environment: str, first: dict[str, Any]) -> dict[str, Any]:
    """The payload of a group's first notification: itself, ready to be joined."""
    return {
        **payload,
        "group": {
            "environment": environment,
            "members": [first],
            "first_title": payload.get("title"),
            "first_body": payload.get("body"),
        },
    }


def join(payload: dict[str, Any], joiner: dict[str, Any], severity: str) -> dict[str, Any]:
    """The waiting payload with one more incident listed."""
    group = dict(payload["group"])
    members = [*group["members"], joiner][:MAX_LISTED]
    group["members"] = members
    env = group["environment"]
    checks = [m["check"] for m in members]
    where = f"[{env}] " if env else ""
    title = f"{where}{len(members)} checks failing together: {', '.join(checks)}"
    lines = [
        f"{len(members)} checks{f' of **{env}**' if env else ''} failed together "
        "(one notification for the group):",
        "",
    ]
    for m in members:
        error = f": {code_span(m['error'])}" if m["error"] else ""
        lines.append(f"- **{m['check']}** ({m['kind']}){error}")
    lines += [
        "",
        "---",
        "",
        f"First: {group.get('first_title')}",
        "",
        group.get("first_body") or "",
    ]
    fields = {**(payload.get("fields") or {}), "checks": ", ".join(checks)}
    worst = max(str(payload.get("severity") or "info"), severity, key=lambda s: RANK.get(s, 0))
    return {
        **payload,
        "title": title[:300],
        "body": "\n".join(lines),
        "fields": fields,
        "severity": worst,
        "group": group,
    }
