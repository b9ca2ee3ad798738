"""``prodshield config``: validate and inspect shield.yaml."""

from __future__ import annotations

from collections import Counter

import typer

from prodshield.cli.common import ConfigOption, console, load

app = typer.Typer(help="Validate and inspect shield.yaml.", no_args_is_help=True)


@app.command("check")
def check(config: ConfigOption = None) -> None:
    """Validate the config; print a one-line summary, or every mistake with file:line:column."""
    loaded = load(config)
    cfg = loaded.config
    kinds = Counter(c.type for c in cfg.checks)
    kinds_text = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
    console().print(
        f"{loaded.path}: ok: {len(cfg.environments)} environments, {len(cfg.checks)} checks"
        f"{f' ({kinds_text})' if kinds_text else ''}, {len(cfg.notifiers)} notifiers, "
        f"{len(cfg.logs.sources)} log sources, {len(cfg.audit.paths) + len(cfg.audit.tls)} audit targets, "
        f"{len(cfg.chaos.proxies)} chaos proxies; storage {cfg.storage.split('://', 1)[0]}"
    )


@app.command("show")
def show(config: ConfigOption = None) -> None:
    """Print the effective config as JSON, with defaults filled in and secrets hidden."""
    from prodshield.cli.common import print_json
    from prodshield.config.redacted import shown_config

    print_json(shown_config(load(config).config))
