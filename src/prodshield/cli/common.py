"""Helpers every command group shares: the config option, opening the store, output."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.text import Text

from prodshield.tables import Grid as Grid  # the commands import these from here
from prodshield.tables import console as console
from prodshield.tables import styled as styled
from prodshield.text import dumps_json, for_terminal, one_line
from prodshield.text import plural as plural  # the commands import it from here

if TYPE_CHECKING:  # the config loader and the store are imported by the commands that use them
    from prodshield.config import LoadedConfig
    from prodshield.store import Store

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="Config file (default: $PRODSHIELD_CONFIG, then ./shield.yaml).",
        show_default=False,
    ),
]

LocationOption = Annotated[
    str | None,
    typer.Option(
        "--location",
        help="Where this instance probes from, stored with each result "
        "(default: $PRODSHIELD_LOCATION, then cluster.location).",
        show_default=False,
    ),
]


def apply_location(loaded: Any, flag: str | None) -> None:
    """``--location``, else ``$PRODSHIELD_LOCATION``, else the config's ``cluster.location``."""
    from prodshield.monitor.cluster import resolve_location

    settings = loaded.config.cluster
    settings.location = resolve_location(settings.location, flag)


# Exit codes, documented in the README.
EXIT_OK = 0
EXIT_FAILED = 1  # checks failed, findings at or above the gate, an experiment deviated
EXIT_USAGE = 2  # bad config or usage
EXIT_ERROR = 3  # the work could not be done (store unreachable, internal error)

SHOWN_CHARS = 300
"""A log template or message longer than this is cut in a table, saying how much was left out (a
runaway log line would fill screens; ``--format json`` has it whole)."""


def untrusted(text: object) -> Text:
    """Outside text (a log line, a target's answer, a file name) for a table cell or a line:
    control characters and bidirectional overrides shown as marks (``␛[2J``, ``\ufffd``), a
    line break as ``␤`` (`prodshield.text.one_line`), and a `Text` so that rich does not read
    ``[red]...`` or ``[link=...]`` in it as markup."""
    return Text(one_line(text))


def write_out(text: str) -> None:
    """Write a rendered report that quotes outside text to stdout, its control characters
    shown as marks (`prodshield.text.for_terminal`; its line breaks kept)."""
    sys.stdout.write(for_terminal(text))


def load(config: Path | None, *, whole: bool = False) -> LoadedConfig:
    """The config, as the command being run reads it: a command that sends nothing and runs no
    check (`prodshield.cli.config_checks.READ_ONLY_COMMANDS`) leaves an unset ``${VAR}`` among
    the notifiers or the checks as written instead of an error (``READ_ONLY``). Only `serve`
    reads its tokens: any other command leaves them aside (`SERVE_ONLY`) unless ``whole``
    (`serve`, `config check`)."""
    from prodshield.cli.config_checks import load_checked, unread_by_running

    return load_checked(config, unused=() if whole else unread_by_running())


def store_for(loaded: LoadedConfig, *, migrate: bool = True) -> Store:
    from prodshield.store import open_store

    return open_store(loaded.config.storage, base_dir=loaded.base_dir, migrate=migrate)


def print_json(data: Any) -> None:
    """``--format json``: valid UTF-8 JSON whatever the data holds (`prodshield.text.json_ready`:
    a byte of a file name that is not UTF-8 is U+FFFD, the exact name in ``<key>_uri``)."""
    sys.stdout.write(dumps_json(data) + "\n")
