"""``prodshield chaos``: experiments and batteries (the fault proxy commands join this group)."""

from __future__ import annotations

import typer

from prodshield.cli import chaos_experiments

chaos_app = typer.Typer(
    help="Chaos engineering: the fault proxy, experiments and batteries.", no_args_is_help=True
)
chaos_experiments.attach(chaos_app)


def register(app: typer.Typer) -> None:
    app.add_typer(chaos_app, name="chaos")
