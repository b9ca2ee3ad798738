"""``prodshield incident``: written status updates on an incident."""

from __future__ import annotations

from typing import Annotated

import typer

from prodshield.cli.common import ConfigOption, console, load, store_for
from prodshield.errors import UsageError
from prodshield.monitor.incidents import post_update

app = typer.Typer(
    help="Incidents: written status updates for the status page.", no_args_is_help=True
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


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="incident")
