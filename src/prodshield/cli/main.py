"""The ``prodshield`` command: where every command group is mounted, and the error boundary.

One pattern for the whole CLI: each module of ``prodshield.cli`` that holds commands exposes one
``typer.Typer`` named ``app`` and mounts nothing itself; this module mounts them all, a group under
its name, a module of top-level commands (or of commands that join a group) without one. The order
below is the order ``--help`` lists them in. ``chaos run`` and ``logs parse`` also have argparse
fast paths started by :mod:`prodshield.cli.entry` (start-up time, see there); the test
tests/architecture/test_cli_pattern.py holds every module to this.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from prodshield import __version__
from prodshield.cli import (
    audit,
    chaos,
    chaos_batteries,
    chaos_experiments,
    chaos_proxy,
    chaos_toxic,
    config,
    db,
    debt,
    demo,
    deploy,
    incident,
    init,
    logs,
    logs_intel,
    monitor,
    notify,
    run_job,
    serve,
    status,
)
from prodshield.cli import help as cli_help
from prodshield.cli.common import EXIT_ERROR, EXIT_USAGE
from prodshield.errors import (
    ConfigError,
    Conflict,
    NotFound,
    ProdshieldError,
    StoreError,
    UsageError,
)

cli_help.install()

app = typer.Typer(
    name="prodshield",
    help="Guard a web platform in production: monitor, logs, audit, chaos, from one shield.yaml.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"prodshield {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """Guard a web platform in production."""


# the groups' own parts first (commands that join a group, then its subgroups) ...
chaos.app.add_typer(chaos_experiments.app)  # run
chaos.app.add_typer(chaos_batteries.app)  # breaker, db
chaos.app.add_typer(chaos_proxy.app, name="proxy")
chaos.app.add_typer(chaos_toxic.app, name="toxic")
logs.app.add_typer(logs_intel.app)  # scan, digest, mark-deploy

# ... then the root: top-level commands, then the groups
for module in (init, run_job, serve, debt, demo):
    app.add_typer(module.app)
for name, module in (
    ("config", config),
    ("db", db),
    ("monitor", monitor),
    ("logs", logs),
    ("audit", audit),
    ("chaos", chaos),
    ("notify", notify),
    ("status", status),
    ("incident", incident),
    ("deploy", deploy),
):
    app.add_typer(module.app, name=name)


def main() -> None:
    """Entry point: run the CLI, turning every expected error into one line and an exit code."""
    try:
        # without standalone mode click returns a command's exit code instead of exiting
        rc = app(standalone_mode=False)
        sys.exit(rc if isinstance(rc, int) else 0)
    except ConfigError as exc:
        for line in exc.problems:
            sys.stderr.write(line + "\n")
        n = len(exc.problems)
        sys.stderr.write(f"{n} error{'s' if n != 1 else ''} in config\n")
        sys.exit(EXIT_USAGE)
    except (UsageError, NotFound, Conflict) as exc:
        # a domain error from the library is the user's request that cannot be done (exit 2)
        sys.stderr.write(f"error: {exc}\n")
        sys.exit(EXIT_USAGE)
    except StoreError as exc:
        sys.stderr.write(f"error: {exc}\n")
        sys.exit(EXIT_ERROR)
    except ProdshieldError as exc:
        sys.stderr.write(f"error: {exc}\n")
        sys.exit(EXIT_ERROR)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        sys.stderr.write("aborted\n")
        sys.exit(130)
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(130)
    except Exception as exc:  # the error boundary: never a traceback unless asked for
        show = getattr(exc, "show", None)
        if callable(show) and isinstance(getattr(exc, "exit_code", None), int):
            show()  # a click/typer usage error: its own one-line message
            sys.exit(exc.exit_code)  # type: ignore[attr-defined]
        if os.environ.get("PRODSHIELD_DEBUG"):
            raise
        sys.stderr.write(
            f"internal error: {type(exc).__name__}: {exc} (set PRODSHIELD_DEBUG=1 for a traceback)\n"
        )
        sys.exit(EXIT_ERROR)
