"""The ``prodshield`` command: where every command group is mounted, and the error boundary.

One pattern for the whole CLI: each module of ``prodshield.cli`` that holds commands exposes one
``typer.Typer`` named ``app`` and mounts nothing itself; this module mounts them all, a group under
its name, a module of top-level commands (or of commands that join a group) without one. The order
of the tables below is the order ``--help`` lists them in. A module is imported only when its command
runs or ``--help`` lists it (start-up: a command pays only for what it uses). ``chaos run`` and ``logs parse`` also have argparse
fast paths started by :mod:`prodshield.cli.entry` (start-up time, see there); the test
tests/architecture/test_cli_pattern.py holds every module to this.
"""

from __future__ import annotations

import functools
import importlib
import logging
import os
import re
import sys
from collections.abc import Iterator, MutableMapping
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from prodshield import __version__
from prodshield.cli import help as cli_help
from prodshield.cli.common import EXIT_ERROR, EXIT_USAGE
from prodshield.errors import (
    ConfigError,
    Conflict,
    Invalid,
    NotFound,
    ProdshieldError,
    StoreError,
    UsageError,
)
from prodshield.text import for_terminal

cli_help.install()

# The root's commands in the order --help lists them: a top-level command's name -> the module
# holding it, a group's name -> its module. A module is imported only when its command is run (or
# listed by --help): `prodshield audit secrets` does not pay for importing the web app.
COMMANDS = {"init": "init", "run-job": "run_job", "serve": "serve", "debt": "debt", "demo": "demo"}
GROUPS = {
    "config": "config",
    "db": "db",
    "monitor": "monitor",
    "logs": "logs",
    "audit": "audit",
    "chaos": "chaos",
    "notify": "notify",
    "status": "status",
    "incident": "incident",
    "deploy": "deploy",
}
# a group's own parts: modules of commands that join it (no name), then its subgroups
PARTS: dict[str, list[tuple[str, str | None]]] = {
    "chaos": [
        ("chaos_experiments", None),  # run
        ("chaos_batteries", None),  # breaker, db
        ("chaos_proxy", "proxy"),
        ("chaos_toxic", "toxic"),
    ],
    "logs": [("logs_intel", None)],  # scan, digest, mark-deploy
}
# What the root's --help says of each command: the first paragraph of the command's own help, so
# that `prodshield --help`, the first thing a newcomer runs, imports no command module (importing
# them all for these lines took 1.4 CPU-s; `--version` takes 0.1). tests/cli/test_root_help.py holds
# each line to the command's help.
LISTED = {
    "init": "Write a commented example shield.yaml covering every capability.",
    "run-job": "Run a command as the job behind a heartbeat check: send start, run it, send success or\n"
    "its exit code (with the last 10 KB of output, secrets masked, when it fails).",
    "serve": "Run the status page, dashboard, JSON API and /metrics (and the background services).",
    "debt": "List technical-debt markers in comments, grouped by author, file and marker.",
    "demo": "Start a demo platform and `prodshield serve` watching it. Ctrl-C stops everything.",
    "config": "Validate and inspect shield.yaml.",
    "db": "The store: schema migrations, status and retention.",
    "monitor": "Health checks, incidents and uptime statistics.",
    "logs": "Log findings, digests, templates and parsing.",
    "audit": "Security and configuration audit: the post-deploy gate. `prodshield audit [PATH...] "
    "[OPTIONS]` runs every family (see `prodshield audit run --help`); exit 0 = pass, 1 = findings "
    "at or above --fail-on, 2 = usage/config error, 3 = nothing checked (every TLS endpoint "
    "unreachable).",
    "chaos": "Chaos engineering: the fault proxy, experiments and batteries.",
    "notify": "The notification outbox: status, retries and test messages.",
    "status": "The public status page as a static site.",
    "incident": "Incidents: list and show them; open, update, resolve, link a post-mortem (the "
    "status page shows them) by hand; acknowledge; silence a check's notifications for a while.",
    "deploy": "Deploy markers: shown on response-time charts, named in incidents' evidence, and "
    "verified (did the deploy make things worse?).",
}


def _module_app(module: str) -> typer.Typer:
    app: typer.Typer = importlib.import_module(f"prodshield.cli.{module}").app
    return app


@functools.cache
def mounted(name: str) -> typer.Typer:
    """A Typer holding the root's command ``name`` exactly as the root mounts it (a group with
    its parts, or a module's top-level command); built once."""
    holder = typer.Typer()
    if name in GROUPS:
        group = _module_app(GROUPS[name])
        for part, as_name in PARTS.get(name, []):
            group.add_typer(_module_app(part), name=as_name)
        holder.add_typer(group, name=name)
    else:
        holder.add_typer(_module_app(COMMANDS[name]))
    return holder


class _Commands(MutableMapping[str, Any]):
    """The root's commands by name: every name of the tables above, each built on first use."""

    def __init__(self) -> None:
        self._built: dict[str, Any] = {}

    def __getitem__(self, name: str) -> Any:
        if name not in self._built:
            if name not in COMMANDS and name not in GROUPS:
                raise KeyError(name)
            try:
                built = typer.main.get_command(mounted(name)).commands[name]  # type: ignore[attr-defined]
            except KeyError as exc:
                # click's get_command reads a KeyError as "no such command": a KeyError while a
                # command module loads would print "No such command 'logs'. Did you mean 'logs'?"
                # and hide the real error
                raise RuntimeError(f"command {name!r} could not be loaded: KeyError {exc}") from exc
            self._built[name] = built
        return self._built[name]

    def __setitem__(self, name: str, command: Any) -> None:
        self._built[name] = command

    def __delitem__(self, name: str) -> None:
        del self._built[name]

    def __iter__(self) -> Iterator[str]:
        names = [*COMMANDS, *GROUPS]
        return iter(names + [n for n in self._built if n not in names])

    def __len__(self) -> int:
        return len(list(iter(self)))


class Interrupted(Exception):
    """Ctrl-C inside a command, carried past typer, which would turn the KeyboardInterrupt into
    a silent exit 130; :func:`main` prints the ``interrupted`` line for it."""


class LazyRoot(TyperGroup):
    """The root group: knows every command's name from the tables above (for --help and "did
    you mean") and builds a command only when asked for it (to run it or print its short help)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.commands = _Commands()

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt as exc:
            raise Interrupted from exc

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        """The command run; its whole command line is kept for `load` to know what it reads
        (`prodshield.cli.config_checks.RUNNING`)."""
        from prodshield.cli.config_checks import RUNNING

        RUNNING.set(tuple(args))
        return super().resolve_command(ctx, args)

    def list_commands(self, ctx: Any) -> list[str]:
        return list(self.commands)

    def format_help(self, ctx: Any, formatter: Any) -> None:
        """The root's help lists its commands from :data:`LISTED`, importing none of them."""
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if getattr(self, "_listing", False) and cmd_name in LISTED:
            import click

            return click.Command(cmd_name, help=LISTED[cmd_name])  # a line of help, never run
        return super().get_command(ctx, cmd_name)


app = typer.Typer(
    name="prodshield",
    cls=LazyRoot,
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


_INVALID = re.compile(r"^Invalid value for (?P<names>.+?): ")


_SUGGESTED = re.compile(r"^No such command '(?P<typo>[^']*)'\. Did you mean (?P<names>'.+')\?$")


def _closest(message: str) -> str:
    """typer's "Did you mean 'monitor', 'init'?" keeps only the close ones: those about as
    close as the best (``monitr`` is ``monitor``, not ``init``)."""
    found = _SUGGESTED.match(message)
    if not found:
        return message
    from difflib import SequenceMatcher

    names = re.findall(r"'([^']*)'", found["names"])
    score = {n: SequenceMatcher(None, found["typo"], n).ratio() for n in names}
    best = max(score.values())
    kept = ", ".join(f"{n!r}" for n in names if score[n] >= best - 0.1)
    return f"No such command {found['typo']!r}. Did you mean {kept}?"


def usage_line(exc: Any) -> str:
    """A click/typer usage error as one line: ``--fail-on: 'bogus' is not one of 'critical', ...``
    (click's ``Invalid value for '--fail-on': Value error, ...`` names the option once, without
    pydantic's "Value error," prefix); an unknown option or a missing argument says where the
    command's help is."""
    message = _closest(str(exc.format_message()).replace("Value error, ", ""))
    message = message.replace("(Possible options: ", "(possible options: ").rstrip(".")
    invalid = _INVALID.match(message)
    if invalid:
        names = invalid["names"].replace("'", "")
        return f"{names}: {message[invalid.end() :]}"
    line = message[:1].lower() + message[1:]
    ctx = getattr(exc, "ctx", None)
    if ctx is not None:
        line += f" (see '{ctx.command_path} -h')"
    return line


class _LastResort(logging.Handler):
    """Python's handler of last resort (a warning with no handler configured: ``serve``'s log
    follower, the outbox, the schedulers), with the message put through ``for_terminal``: a
    warning quotes outside text (``log source <a file's name>: deleted while followed``, a
    provider's answer), whose escapes would otherwise reach the terminal or journald raw."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(for_terminal(self.format(record)) + "\n")
        except Exception:
            self.handleError(record)


def main() -> None:
    """Entry point: run the CLI, turning every expected error into one line and an exit code."""
    logging.lastResort = _LastResort()
    try:
        # without standalone mode click returns a command's exit code instead of exiting
        rc = app(standalone_mode=False)
        sys.exit(rc if isinstance(rc, int) else 0)
    except ConfigError as exc:
        for line in exc.problems:
            sys.stderr.write(for_terminal(line) + "\n")
        n = len(exc.problems)
        sys.stderr.write(f"{n} error{'s' if n != 1 else ''} in config\n")
        sys.exit(EXIT_USAGE)
    except (UsageError, NotFound, Conflict, Invalid) as exc:
        # a domain error from the library is the user's request that cannot be done (exit 2)
        sys.stderr.write(for_terminal(f"error: {exc}") + "\n")
        sys.exit(EXIT_USAGE)
    except StoreError as exc:
        sys.stderr.write(for_terminal(f"error: {exc}") + "\n")
        sys.exit(EXIT_ERROR)
    except ProdshieldError as exc:
        sys.stderr.write(for_terminal(f"error: {exc}") + "\n")
        sys.exit(EXIT_ERROR)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        sys.stderr.write("aborted\n")
        sys.exit(130)
    except (KeyboardInterrupt, Interrupted):
        sys.stderr.write("interrupted\n")
        sys.exit(130)
    except Exception as exc:  # the error boundary: never a traceback unless asked for
        show = getattr(exc, "show", None)
        if callable(show) and isinstance(getattr(exc, "exit_code", None), int):
            if type(exc).__name__ == "NoArgsIsHelpError":
                show()  # a group run without a command: its help
            else:  # a click/typer usage error, worded like the project's other errors
                sys.stderr.write(f"error: {usage_line(exc)}\n")
            sys.exit(exc.exit_code)  # type: ignore[attr-defined]
        if os.environ.get("PRODSHIELD_DEBUG"):
            raise
        sys.stderr.write(
            for_terminal(f"internal error: {type(exc).__name__}: {exc}")
            + " (set PRODSHIELD_DEBUG=1 for a traceback)\n"
        )
        sys.exit(EXIT_ERROR)
