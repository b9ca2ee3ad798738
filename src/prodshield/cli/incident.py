"""``prodshield incident``: the incidents (list, show), incidents by hand (open, update, resolve,
post-mortem link) for the status page; acknowledgements and silences."""

from __future__ import annotations

import time
from typing import Annotated

import typer

from prodshield.cli.common import (
    ConfigOption,
    Grid,
    console,
    load,
    print_json,
    store_for,
    untrusted,
)
from prodshield.config.types import format_elapsed
from prodshield.errors import NotFound, UsageError
from prodshield.monitor import silences
from prodshield.monitor.incidents import (
    MANUAL_SEVERITIES,
    acknowledge,
    current_state,
    open_manual,
    post_update,
    resolve_by_hand,
    set_postmortem,
)
from prodshield.monitor.views import IncidentView
from prodshield.tables import NBSP
from prodshield.text import for_terminal

app = typer.Typer(
    help="Incidents: list and show them; open, update, resolve, link a post-mortem (the status "
    "page shows them) by hand; acknowledge; silence a check's notifications for a while.",
    no_args_is_help=True,
)

_STATUSES = ("open", "resolved", "all")


def _when(ts: float | None) -> str:
    return "-" if ts is None else time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ts))


@app.command("list")
def list_incidents(
    status: Annotated[
        str, typer.Option("--status", help="open, resolved or all.", show_default=True)
    ] = "open",
    check: Annotated[str | None, typer.Option("--check", help="Only this check's.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000, help="At most this many.")] = 50,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON (as GET /api/v1/incidents).")
    ] = False,
    config: ConfigOption = None,
) -> None:
    """The incidents, newest first (open ones by default), with the ids that `incident ack`,
    `update` and `resolve` take."""
    from prodshield.monitor.read import ReadModel

    if status not in _STATUSES:
        raise UsageError(f"--status must be one of {', '.join(_STATUSES)}, not {status!r}")
    loaded = load(config)
    with store_for(loaded) as store:
        rows = ReadModel(store, loaded.config).incidents(
            status=None if status == "all" else status, check=check, limit=limit
        )
    if as_json:
        print_json({"incidents": [r.model_dump(mode="json") for r in rows]})
        return
    if not rows:
        console().print(f"no {'' if status == 'all' else status + ' '}incidents", markup=False)
        return
    table = Grid(
        "id", "check", "env", "kind", "severity", "opened (UTC)", "duration", "state",
        keys=("id", "check", "env", "kind"), right=("id", "duration"), optional=("opened (UTC)",),
    )  # fmt: skip
    for r in rows:
        state: str = r.status
        if r.status == "open" and r.acknowledged_at is not None:
            state = f"open, acked by {r.acknowledged_by or '?'}"
        table.add_row(
            f"#{r.id}",
            untrusted(r.check),
            untrusted(r.environment or "-"),
            r.kind,
            r.severity,
            _when(r.opened_at),
            _duration(r),
            untrusted(state),
        )
    table.print()


@app.command("show")
def show(
    incident_id: Annotated[int, typer.Argument(help="The incident's id (`incident list`).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (as the API does).")] = False,
    config: ConfigOption = None,
) -> None:
    """One incident whole: its state, errors, notes, status updates and evidence."""
    from prodshield.monitor.read import ReadModel

    loaded = load(config)
    with store_for(loaded) as store:
        row = ReadModel(store, loaded.config).incident(incident_id)
    if row is None:
        raise NotFound(f"no incident {incident_id}")
    if as_json:
        print_json(row.model_dump(mode="json"))
        return
    out = console()
    for line in _detail_lines(row):
        out.print(for_terminal(line), markup=False)


def _lasted(seconds: float) -> str:
    return format_elapsed(seconds)


def _duration(row: IncidentView) -> str:
    """``ongoing for 12m 36s`` while open (as the dashboard and status page say), ``24s`` once
    resolved."""
    said = _lasted(row.duration_s).replace(" ", NBSP)  # `3m 44s` is never wrapped apart
    return f"ongoing for {said}" if row.resolved_at is None else said


def _detail_lines(row: IncidentView) -> list[str]:
    """``incident show``'s lines (outside text in them: printed through ``for_terminal``)."""
    where = f" [{row.environment}]" if row.environment else ""
    lines = [
        f"incident #{row.id}: {row.check}{where} {row.kind} ({row.severity}), {row.status}",
        f"opened   {_when(row.opened_at)} UTC",
    ]
    if row.title:
        lines.insert(1, f"title    {row.title}")
    if row.resolved_at is not None:
        by = f" by {row.resolved_by}" if row.resolved_by else ""
        lines.append(f"resolved {_when(row.resolved_at)} UTC{by}")
    if row.resolved_at is None:
        lines.append(f"ongoing for {_lasted(row.duration_s)}")
    else:
        lines.append(f"lasted   {_lasted(row.duration_s)}")
    refs = row.refs or {}
    if row.suppressed_by:
        parent = refs.get("parent_incident")
        of = f"{row.suppressed_by}'s incident #{parent}" if parent else str(row.suppressed_by)
        lines.append(f"suppressed by {of} (depends_on): notified to no one")
    elif refs.get("was_suppressed_by"):
        lines.append(f"suppressed by {refs['was_suppressed_by']} until that recovered, then paged")
    if row.acknowledged_at is not None:
        lines.append(f"acked    {_when(row.acknowledged_at)} UTC by {row.acknowledged_by or '?'}")
    if row.error_kinds:
        lines.append(f"errors   {', '.join(row.error_kinds)}")
    if row.failing_conditions:
        lines.append(f"failing  {'; '.join(row.failing_conditions)}")
    if row.postmortem:
        lines.append(f"post-mortem {row.postmortem}")
    lines += [f"note     {_when(n.ts)} {n.by or '?'}: {n.text or ''}" for n in row.notes]
    lines += [
        f"update   {_when(u.get('ts'))} {u.get('by') or '?'}: {u.get('text') or ''}"
        for u in row.updates or []
    ]
    lines += [f"evidence {_when(e.at)} {e.kind}: {e.summary}" for e in row.evidence or []]
    return lines


@app.command("update")
def update(
    incident_id: Annotated[int, typer.Argument(help="The incident's id (`incident list`).")],
    text: Annotated[str, typer.Argument(help="The update, shown on the public status page.")],
    by: Annotated[str, typer.Option("--by", help="Who writes it.")] = "operator",
    config: ConfigOption = None,
) -> None:
    """Post a status update on an incident: the status page and its feed show it, and the
    incident's notifiers get it (a comment on its GitHub issue)."""
    if not text.strip():
        raise UsageError("the update needs text")
    loaded = load(config)
    with store_for(loaded) as store:
        post_update(store, loaded.config, incident_id, text, by)
    console().print(f"update posted on incident #{incident_id}", markup=False)


@app.command("open")
def open_(
    title: Annotated[str, typer.Argument(help='What users see, e.g. "Payments are delayed".')],
    service: Annotated[
        str, typer.Option("--service", "-s", help="The affected service (shown on the page).")
    ],
    environment: Annotated[str, typer.Option("--env", "-e", help="Its environment.")] = "",
    severity: Annotated[
        str, typer.Option("--severity", help=f"One of {', '.join(MANUAL_SEVERITIES)}.")
    ] = "high",
    text: Annotated[
        str | None, typer.Option("--text", help="A first status update (public).")
    ] = None,
    by: Annotated[str, typer.Option("--by", help="Who opens it.")] = "operator",
    config: ConfigOption = None,
) -> None:
    """Open an incident by hand, for what no check sees: the status page and its feed show it,
    the notifiers and subscribers are told. Prints its id."""
    loaded = load(config)
    with store_for(loaded) as store:
        incident_id = open_manual(
            store,
            loaded.config,
            title,
            service=service,
            environment=environment,
            severity=severity,
            text=text,
            by=by,
        )
    console().print(f"incident #{incident_id} opened", markup=False)


@app.command("resolve")
def resolve(
    incident_id: Annotated[int, typer.Argument(help="The incident's id (`incident list`).")],
    text: Annotated[
        str | None, typer.Argument(help="A last status update (public), e.g. what was fixed.")
    ] = None,
    by: Annotated[str, typer.Option("--by", help="Who resolves it.")] = "operator",
    config: ConfigOption = None,
) -> None:
    """Resolve an incident by hand (a manual one, or a check's before it recovers)."""
    loaded = load(config)
    with store_for(loaded) as store:
        if current_state(store, incident_id) is None:
            raise NotFound(f"no incident {incident_id}")
        if text and text.strip():
            post_update(store, loaded.config, incident_id, text, by)
        outcome = resolve_by_hand(store, loaded.config, incident_id, by)
    console().print(for_terminal(outcome.describe(by)), markup=False)


@app.command("postmortem")
def postmortem(
    incident_id: Annotated[int, typer.Argument(help="The resolved incident's id.")],
    url: Annotated[str, typer.Argument(help="The post-mortem's http(s) URL.")],
    by: Annotated[str, typer.Option("--by", help="Who links it.")] = "operator",
    config: ConfigOption = None,
) -> None:
    """Link a resolved incident to its post-mortem: shown on the status page and in its feed."""
    loaded = load(config)
    with store_for(loaded) as store:
        set_postmortem(store, loaded.config, incident_id, url, by)
    console().print(f"post-mortem linked on incident #{incident_id}", markup=False)


@app.command("ack")
def ack(
    incident_id: Annotated[int, typer.Argument(help="The incident's id (`incident list`).")],
    by: Annotated[str, typer.Option("--by", help="Who acknowledges it.")] = "operator",
    note: Annotated[str | None, typer.Option("--note", help="A note kept with it.")] = None,
    config: ConfigOption = None,
) -> None:
    """Acknowledge an incident: its escalation stops and its notifiers are told (a resolved
    incident is not acknowledged; a note given with it is still kept)."""
    loaded = load(config)
    with store_for(loaded) as store:
        outcome = acknowledge(store, loaded.config, incident_id, by, note)
    console().print(for_terminal(outcome.describe(by)), markup=False)


@app.command("silence")
def silence(
    check: Annotated[
        str,
        typer.Argument(
            help="The check to silence (`all`: every check; `service:NAME`: a service's SLO).",
            show_default=False,
        ),
    ],
    duration: Annotated[str, typer.Option("--for", help="How long: 30m, 2h, 1d.")],
    reason: Annotated[str, typer.Option("--reason", help="Why (recorded on its incidents).")],
    environment: Annotated[
        str | None, typer.Option("--env", help="Only this environment (default: all).")
    ] = None,
    by: Annotated[str, typer.Option("--by", help="Who silences it.")] = "operator",
    as_json: Annotated[bool, typer.Option("--json", help="Print the silence as JSON.")] = False,
    config: ConfigOption = None,
) -> None:
    """Hold a check's notifications until the silence ends; its incidents record who, why and
    until when, and what is still failing when it ends is announced then."""
    from prodshield.config.types import format_duration, parse_duration

    try:
        seconds = parse_duration(duration)
    except ValueError as exc:
        raise UsageError(f"--for: {exc}") from None
    loaded = load(config)
    with store_for(loaded) as store:
        row = silences.create(
            store,
            loaded.config,
            check=None if check == "all" else check,
            environment=environment,
            seconds=seconds,
            reason=reason,
            by=by,
        )
    if as_json:
        print_json(row)
        return
    until = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(row["until"]))
    console().print(
        f"silence #{row['id']}: {check} silenced for {format_duration(seconds)} (until {until})",
        markup=False,
    )


@app.command("silences")
def list_silences(
    include_past: Annotated[bool, typer.Option("--all", help="Ended silences too.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    config: ConfigOption = None,
) -> None:
    """The active silences (with --all, the ended ones too)."""
    loaded = load(config)
    with store_for(loaded) as store:
        rows = silences.listing(store, include_past=include_past)
    if as_json:
        print_json({"silences": rows})
        return
    out = console()
    if not rows:
        out.print("no silences", markup=False)
    for r in rows:
        until = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(r["until"]))
        where = f"{r['check'] or 'every check'}" + (
            f" [{r['environment']}]" if r["environment"] else ""
        )
        state = "active until" if r["active"] else "ended"
        line = f"#{r['id']} {where} {state} {until} by {r['by']}: {r['reason']}"
        out.print(for_terminal(line), markup=False)


@app.command("unsilence")
def unsilence(
    silence_id: Annotated[int, typer.Argument(help="The silence's id (`incident silences`).")],
    by: Annotated[str, typer.Option("--by", help="Who lifts it.")] = "operator",
    config: ConfigOption = None,
) -> None:
    """End a silence now: notifications resume."""
    loaded = load(config)
    with store_for(loaded) as store:
        row = silences.end(store, silence_id, by)
    if not row["ended_now"]:
        console().print(f"silence #{silence_id} already ended", markup=False)
        return
    console().print(f"silence #{silence_id} ended", markup=False)
