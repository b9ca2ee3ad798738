"""``prodshield deploy``: record deploy markers and list them."""

from __future__ import annotations

import time
from datetime import datetime
from enum import StrEnum
from typing import Annotated

import typer

from prodshield import deploys
from prodshield.cli.common import (
    ConfigOption,
    Grid,
    console,
    load,
    print_json,
    store_for,
    untrusted,
)
from prodshield.errors import UsageError

app = typer.Typer(
    help="Deploy markers: shown on response-time charts and named in incidents' evidence.",
    no_args_is_help=True,
)


class Format(StrEnum):
    table = "table"
    json = "json"


def _when(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(
            f"--at {text!r}: give an ISO 8601 time (2026-12-05T01:02:03Z) or epoch seconds"
        ) from None
    if moment.tzinfo is None:
        raise UsageError(f"--at {text!r}: give a time zone (Z or +01:00)")
    return moment.timestamp()


@app.command("mark")
def mark(
    version: Annotated[str, typer.Option("--version", help="The version deployed.")],
    env: Annotated[
        str, typer.Option("--env", help="Its environment (default: every environment).")
    ] = "",
    service: Annotated[
        str, typer.Option("--service", help="Its service (default: every service).")
    ] = "",
    at: Annotated[
        str | None, typer.Option("--at", help="When (ISO 8601 or epoch seconds; default: now).")
    ] = None,
    note: Annotated[str | None, typer.Option("--note", help="A line about the deploy.")] = None,
    config: ConfigOption = None,
) -> None:
    """Record a deploy marker."""
    loaded = load(config)
    store = store_for(loaded)
    try:
        marker = deploys.mark(
            store, version, environment=env, service=service, at=_when(at), note=note
        )
    finally:
        store.close()
    scope = [f"service {marker.service}"] if marker.service else []
    scope += [f"in {marker.environment}"] if marker.environment else []
    where = f" ({' '.join(scope)})" if scope else ""
    console().print(f"deploy #{marker.id}: {marker.version}{where} recorded", markup=False)


@app.command("list")
def list_cmd(
    env: Annotated[
        str | None, typer.Option("--env", help="Only those for this environment.")
    ] = None,
    service: Annotated[
        str | None, typer.Option("--service", help="Only those for this service.")
    ] = None,
    limit: Annotated[int, typer.Option(help="How many, newest first.", min=1)] = 20,
    fmt: Annotated[Format, typer.Option("--format", help="Output format.")] = Format.table,
    config: ConfigOption = None,
) -> None:
    """List deploy markers, newest first."""
    loaded = load(config)
    store = store_for(loaded)
    try:
        found = deploys.deploys(store, environment=env, service=service, limit=limit)
    finally:
        store.close()
    if fmt is Format.json:
        print_json([d.to_dict() for d in found])
        return
    if not found:
        console().print("no deploy markers")
        return
    grid = Grid(
        "id",
        "when (UTC)",
        "version",
        "service",
        "environment",
        "note",
        keys=("id", "when (UTC)", "version"),
    )
    for d in found:
        grid.add_row(
            str(d.id),
            time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(d.deployed_at)),
            untrusted(d.version),
            untrusted(d.service or "(all)"),
            untrusted(d.environment or "(all)"),
            untrusted(d.note or ""),
        )
    grid.print()
