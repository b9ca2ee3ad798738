"""``prodshield config``: validate and inspect shield.yaml."""

from __future__ import annotations

import re
from collections import Counter

import typer

from prodshield.cli.common import ConfigOption, console, load, plural

app = typer.Typer(help="Validate and inspect shield.yaml.", no_args_is_help=True)


_SECRET_KEY = re.compile(r"(token|password|secret|webhook_url|dsn|key)$", re.I)


@app.command("check")
def check(config: ConfigOption = None) -> None:
    """Validate the config; print a one-line summary, or every mistake with file:line:column.

    Warns (on stderr, exit 0) when a ${VAR:-default} fell back to a template placeholder such
    as 'unset', or to any default under a secret-like key, and notes every other default used.
    """
    loaded = load(config)
    cfg = loaded.config
    kinds = Counter(c.type for c in cfg.checks)
    kinds_text = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
    parts = [
        plural(len(cfg.environments), "environment"),
        plural(len(cfg.checks), "check") + (f" ({kinds_text})" if kinds_text else ""),
        plural(len(cfg.notifiers), "notifier"),
        plural(len(cfg.logs.sources), "log source"),
        plural(len(cfg.audit.paths) + len(cfg.audit.tls), "audit target"),
        plural(len(cfg.chaos.proxies), "chaos proxy"),
    ]
    console().print(
        f"{loaded.path}: ok: {', '.join(parts)}; storage {cfg.storage.split('://', 1)[0]}",
        markup=False,
    )
    err = console(stderr=True)
    where = loaded.path.name
    for fb in loaded.fallbacks:
        at = f"{where}:{fb.line}:{fb.column}: {fb.key}"
        secret = bool(_SECRET_KEY.search(fb.key))
        if fb.placeholder or (secret and fb.default):
            shown = repr(fb.default) if fb.placeholder else "a default written in the file"
            err.print(
                f"warning: {at}: {fb.variable} is not set, so the template's placeholder {shown} "
                f"is used; set {fb.variable} in the environment",
                markup=False,
                highlight=False,
            )
        elif fb.default or not secret:
            value = repr(fb.default) if fb.default else "an empty value"
            err.print(
                f"note: {at}: {fb.variable} is not set; using the default {value}",
                markup=False,
                highlight=False,
            )


@app.command("show")
def show(config: ConfigOption = None) -> None:
    """Print the effective config as JSON, with defaults filled in and secrets hidden."""
    from prodshield.cli.common import print_json
    from prodshield.config.redacted import shown_config

    print_json(shown_config(load(config).config))


@app.command("schema")
def schema() -> None:
    """Print the JSON Schema of shield.yaml, for editors and linters (docs/config.md).

    Example: prodshield config schema > shield.schema.json
    """
    from prodshield.cli.common import print_json
    from prodshield.config.reference import json_schema

    print_json(json_schema())


@app.command("reference")
def reference() -> None:
    """Print the reference of every shield.yaml key as Markdown (docs/config.md is this output).

    Example: prodshield config reference > shield-reference.md
    """
    import sys

    from prodshield.config.reference import render_markdown

    sys.stdout.write(render_markdown())
