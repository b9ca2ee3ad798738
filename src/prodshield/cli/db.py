"""``prodshield db``: schema migrations, retention, and merging other jobs' stores."""

from __future__ import annotations

from typing import Annotated

import typer

from prodshield.cli.common import ConfigOption, Grid, console, load, store_for
from prodshield.store import prune
from prodshield.text import plural

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
    out.print(f"{store.display_url}: schema up to date ({plural(len(applied), 'step')} applied)")


@app.command("status")
def status(config: ConfigOption = None) -> None:
    """Show the schema version of each component."""
    loaded = load(config)
    store = store_for(loaded, migrate=False)
    try:
        versions = store.status()
    finally:
        store.close()
    table = Grid(
        "component", "version", "latest", "state",
        keys=("component", "version", "latest", "state"), right=("version", "latest"),
        title=f"{store.backend}: {store.display_url}",
    )  # fmt: skip
    for v in versions:
        table.add_row(
            v.component, str(v.current), str(v.latest), "ok" if v.up_to_date else "pending"
        )
    table.print()
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
        f"{report.outbox_deleted} delivered notifications, {report.journals_deleted} chaos "
        f"journals, {report.audit_runs_deleted} audit runs, {report.silences_deleted} ended "
        "silences"
    )


@app.command("merge")
def merge_cmd(
    sources: Annotated[
        list[str],
        typer.Argument(
            help="Stores to read: a SQLite file (another job's prodshield.db) or a store URL.",
            show_default=False,
        ),
    ],
    config: ConfigOption = None,
) -> None:
    """Copy other stores' deploy markers, audit runs and log findings into this one.

    For one-shot jobs that keep their own stores (GitHub Actions: the audit and the digest): the
    monitor merges them before it runs, so the incidents it opens name the deploy, the audit's
    new findings and the digest's findings. Each record is copied once, however often the same
    store is merged; a SQLite file that does not exist yet is skipped."""
    from pathlib import Path

    from prodshield.store import open_store
    from prodshield.store.merge import merge

    loaded = load(config)
    out = console()
    with store_for(loaded) as target:
        for source in sources:
            url = source if "://" in source else f"sqlite:///{Path(source).resolve()}"
            if url.startswith("sqlite:///") and not Path(url[len("sqlite:///") :]).is_file():
                out.print(f"{source}: no such store yet; skipped", markup=False)
                continue
            with open_store(url, base_dir=loaded.base_dir) as other:
                merged = merge(target, other)
                shown = source if "://" not in source else other.display_url  # no password
            out.print(f"{shown}: merged {merged}", markup=False)
