"""``prodshield incident``: incidents by hand (open, update, resolve, post-mortem link) for the
status page; acknowledgements and silences."""

from __future__ import annotations

import time
from typing import Annotated

import typer

from prodshield.cli.common import ConfigOption, console, load, print_json, store_for
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
from prodshield.text import for_terminal

app = typer.Typer(
    help="Incidents by hand: open, update, resolve, link a post-mortem (the status page shows "
    "them); acknowledge; silence a check's notifications for a while.",
    no_args_is_help=True,
)


@app.command("update")
def update(
    incident_id: Annotated[
        int, typer.Argument(help="The incident's id (`monitor status`, the dashboard).")
    ],
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
    incident_id: Annotated[int, typer.Argument(help="The incident's id.")],
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
    incident_id: Annotated[int, typer.Argument(help="The incident's id.")],
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
