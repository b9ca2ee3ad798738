"""``prodshield db``: schema migrations and retention."""

from __future__ import annotations

import typer
from rich.table import Table

from prodshield.cli.common import ConfigOption, console, load, store_for
from prodshield.store import prune

app = typer.Typer(help="The store: schema migrations, status and retention.", no_args_is_help=True)


@app.command("upgrade")
def upgrade(config: ConfigOption = None) -> None:
    """Apply pending schema migrations."""
    loaded = load(config)
    store = store_for(loaded, migrate=False)
    try:
        applied = store.upgrade()
    finally:
        store.close()
    out = console()
    for line in applied:
        out.print(f"applied {line}")
    out.print(f"{store.display_url}: schema up to date ({len(applied)} steps applied)")


@app.command("status")
def status(config: ConfigOption = None) -> None:
    """Show the schema version of each component."""
    loaded = load(config)
    store = store_for(loaded, migrate=False)
    try:
        versions = store.status()
    finally:
        store.close()
    table = Table(
        "component", "version", "latest", "state", title=f"{store.backend}: {store.display_url}"
    )
    for v in versions:
        table.add_row(
            v.component, str(v.current), str(v.latest), "ok" if v.up_to_date else "pending"
        )
    console().print(table)
    pending = sum(1 for v in versions if not v.up_to_date)
    console().print(
        "schema up to date" if not pending else f"{pending} components need `prodshield db upgrade`"
    )


@app.command("prune")
def prune_cmd(config: ConfigOption = None) -> None:
    """Delete rows older than the retention settings (hourly aggregates are kept)."""
    loaded = load(config)
    store = store_for(loaded)
    try:
        report = prune(store, loaded.config.retention)
    finally:
        store.close()
    console().print(
        f"pruned {report.results_deleted} results ({report.hours_rolled_up} hours rolled up), "
        f"{report.aggregates_deleted} aggregates, {report.findings_deleted} findings, "
        f"{report.outbox_deleted} delivered notifications"
    )
