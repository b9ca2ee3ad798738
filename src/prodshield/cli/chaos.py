"""``prodshield chaos``: the group of the fault proxy, its toxics, experiments and batteries, and
what its commands share (the proxy API's address).

The group's commands live beside it (``chaos_proxy``, ``chaos_toxic``, ``chaos_experiments``,
``chaos_batteries``); :mod:`prodshield.cli.main` mounts them on :data:`app`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer

from prodshield.cli.common import load
from prodshield.config.loader import ENV_VAR, find_config
from prodshield.errors import NotFound, ProdshieldError

app = typer.Typer(
    help="Chaos engineering: the fault proxy, experiments and batteries.", no_args_is_help=True
)

ApiOption = Annotated[
    str | None,
    typer.Option(
        "--api",
        envvar="PRODSHIELD_PROXY_API",
        help="URL of the proxy API (also $PRODSHIELD_PROXY_API; default: chaos.api in "
        "shield.yaml, else http://127.0.0.1:8474).",
        show_default=False,
    ),
]
DEFAULT_API = "http://127.0.0.1:8474"


def api_url(api: str | None) -> str:
    """The proxy API to talk to: --api / $PRODSHIELD_PROXY_API, else the ``chaos.api`` of the
    shield.yaml that ``chaos proxy`` would read (when it loads), else Toxiproxy's 8474."""
    if api:
        return api
    try:
        loaded = shield_config(None)
    except ProdshieldError:
        return DEFAULT_API  # a broken shield.yaml is for `config check` to report
    return config_api(loaded) or DEFAULT_API


def config_api(loaded: Any | None) -> str | None:
    """The URL of the ``chaos.api`` of a loaded shield.yaml (None without ``chaos:``)."""
    chaos = loaded.config.chaos if loaded is not None else None
    return None if chaos is None else str(chaos.api.url)


FormatOption = Annotated[str, typer.Option("--format", help="text or json.")]


def shield_config(path: Path | None) -> Any | None:
    """The loaded shield.yaml: from -c, $PRODSHIELD_CONFIG or ./shield.yaml if present."""
    if path is None and not os.environ.get(ENV_VAR):
        try:
            find_config(None)
        except NotFound:
            return None
    return load(path)  # the proxy and its toxics read `chaos:` alone
