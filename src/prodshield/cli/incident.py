"""``prodshield incident``: incidents by hand (open, update, resolve, post-mortem link) for the
status page."""

from __future__ import annotations

from typing import Annotated

import typer

from prodshield.cli.common import ConfigOption, console, load, store_for
from prodshield.errors import UsageError
from prodshield.monitor.incidents import (
    MANUAL_SEVERITIES,
    open_manual,
    post_update,
    resolve_by_hand,
    set_postmortem,
)

app = typer.Typer(
    help="Incidents by hand: open, update, resolve, link a post-mortem (the status page shows them).",
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
    store = store_for(loaded)
    try:
        done = post_update(store, loaded.config, incident_id, text, by)
    finally:
        store.close()
    if not done:
        raise UsageError(f"no incident {incident_id}")
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
    store = store_for(loaded)
    try:
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
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    finally:
        store.close()
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
    store = store_for(loaded)
    try:
        if text and text.strip() and not post_update(store, loaded.config, incident_id, text, by):
            raise UsageError(f"no incident {incident_id}")
        done = resolve_by_hand(store, loaded.config, incident_id, by)
    finally:
        store.close()
    if not done:
        raise UsageError(f"no incident {incident_id}")
    console().print(f"incident #{incident_id} resolved", markup=False)


@app.command("postmortem")
def postmortem(
    incident_id: Annotated[int, typer.Argument(help="The resolved incident's id.")],
    url: Annotated[str, typer.Argument(help="The post-mortem's http(s) URL.")],
    by: Annotated[str, typer.Option("--by", help="Who links it.")] = "operator",
    config: ConfigOption = None,
) -> None:
    """Link a resolved incident to its post-mortem: shown on the status page and in its feed."""
    loaded = load(config)
    store = store_for(loaded)
    try:
        done = set_postmortem(store, loaded.config, incident_id, url, by)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    finally:
        store.close()
    if not done:
        raise UsageError(f"no incident {incident_id}")
    console().print(f"post-mortem linked on incident #{incident_id}", markup=False)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="incident")
