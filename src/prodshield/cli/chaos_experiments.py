"""``prodshield chaos run`` inside the full CLI: forwards to :mod:`prodshield.cli.chaos_run`.

``chaos run`` parses its own arguments with argparse (see that module: its start-up is measured
against Chaos Toolkit's), so this command takes everything after ``run``, ``--help`` included.
"""

from __future__ import annotations

import sys

import typer

app = typer.Typer()


@app.command(
    "run",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    add_help_option=False,
)
def run(ctx: typer.Context) -> None:
    """Run a Chaos Toolkit experiment (JSON or YAML) and write its journal (see --help)."""
    from prodshield.cli.chaos_run import main

    # SystemExit, not typer.Exit: the CLI runs click with standalone_mode=False, where an
    # Exit's code is returned and then dropped
    sys.exit(main(list(ctx.args)))
