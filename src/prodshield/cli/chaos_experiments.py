"""``prodshield chaos run|breaker|db``: experiments and batteries, added to the ``chaos`` group."""

from __future__ import annotations

import typer


def attach(chaos_app: typer.Typer) -> None:
    """Add the experiment and battery commands to the ``chaos`` group."""

    @chaos_app.command(
        "run",
        context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
        add_help_option=False,
    )
    def run(ctx: typer.Context) -> None:
        """Run a Chaos Toolkit experiment (JSON or YAML) and write its journal (see --help)."""
        import sys

        from prodshield.cli.chaos_run import main

        # SystemExit, not typer.Exit: the CLI runs click with standalone_mode=False, where an
        # Exit's code is returned and then dropped
        sys.exit(main(list(ctx.args)))

    from prodshield.cli import chaos_batteries

    chaos_batteries.attach(chaos_app)
