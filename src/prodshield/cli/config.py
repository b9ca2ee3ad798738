"""``prodshield config``: validate and inspect shield.yaml."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import typer

from prodshield.cli.common import ConfigOption, console, load, plural
from prodshield.config import LoadedConfig

app = typer.Typer(help="Validate and inspect shield.yaml.", no_args_is_help=True)


_SECRET_KEY = re.compile(r"(token|password|secret|webhook_url|dsn|key)$", re.I)
_SECRET_HEADER = re.compile(r"auth|token|key|secret|password|cookie|signature", re.I)


@app.command("check")
def check(config: ConfigOption = None) -> None:
    """Validate the config; print a one-line summary, or every mistake with file:line:column.

    Warns (on stderr, exit 0) when the file is empty (pointing to `prodshield init`), when a
    ${VAR:-default} fell back to a template placeholder such as 'unset', or to any default under
    a secret-like key, and notes every other default used;
    warns too when a notifier's secret (a token, a routing key...) is written in the file instead
    of read from the environment with ${VAR} (its key and file:line, never its value).
    """
    loaded = load(config, whole=True)
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
    if _empty(loaded):
        # valid (every default applies) but guards nothing: most likely not the file meant
        err.print(
            f"warning: {loaded.path} is empty: nothing to monitor, scan, audit or break; "
            f"`{_init_command(loaded)}` writes a commented example covering every capability",
            markup=False,
            highlight=False,
        )
    for at, key in _literal_secrets(loaded):
        err.print(
            f"warning: {at}: {key} is written in the file; secrets belong in the environment "
            f"(write ${{VAR}} and set VAR)",
            markup=False,
            highlight=False,
        )
    for line in _missing_paths(loaded) + _seconds_first_schedules(loaded):
        err.print(f"warning: {line}", markup=False, highlight=False)
    for fb in loaded.fallbacks:
        at = f"{where}:{fb.line}:{fb.column}: {fb.key}"
        secret = bool(_SECRET_KEY.search(fb.key))
        if fb.placeholder or (secret and fb.default):
            # a secret's default is not shown: it is a secret written in the file
            used = (
                f"the template's placeholder {fb.default!r}"
                if fb.placeholder
                else "the default written in the file (not shown: it is a secret)"
            )
            err.print(
                f"warning: {at}: {fb.variable} is not set, so {used} is used; "
                f"set {fb.variable} in the environment",
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


def _missing_paths(loaded: LoadedConfig) -> list[str]:
    """Paths the file names that do not exist (yet): an audit folder (serve's audit cannot run)
    and a log file or glob with no file (serve waits for one to appear), each at its file:line."""
    import glob

    cfg, base = loaded.config, loaded.base_dir
    out = []
    for i, raw in enumerate(cfg.audit.paths):
        if not (base / raw).exists():
            at = loaded.where(("audit", "paths", i))
            out.append(
                f"{at}: audit.paths[{i}]: {raw}: no such file or folder (the audit cannot run "
                "until it exists)"
            )
    for i, src in enumerate(cfg.logs.sources):
        pattern = src.path if Path(src.path).is_absolute() else str(base / src.path)
        if any(c in src.path for c in "*?[") and not glob.glob(pattern):
            why = "matches no file yet"
        elif not any(c in src.path for c in "*?[") and not Path(pattern).exists():
            why = "no such file yet"
        else:
            continue
        at = loaded.where(("logs", "sources", i, "path"))
        out.append(
            f"{at}: logs.sources[{i}].path: {src.path}: {why} (logs scan reads nothing from it; "
            "serve waits for it to appear)"
        )
    return out


def _cron_fields(
    value: Any, path: tuple[str | int, ...]
) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """Every ``schedule`` / ``cron`` string in the config, with its path."""
    from pydantic import BaseModel

    if isinstance(value, BaseModel):
        for name in type(value).model_fields:
            field = getattr(value, name)
            if name in ("schedule", "cron") and isinstance(field, str):
                yield (*path, name), field
            else:
                yield from _cron_fields(field, (*path, name))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _cron_fields(item, (*path, i))


def _seconds_first_schedules(loaded: LoadedConfig) -> list[str]:
    """Six-field cron expressions written seconds first (Quartz's order): prodshield reads the
    sixth, last field as the seconds, so ``15,45 * * * * *`` runs every second of minutes 15 and
    45. Warned when the last field is ``*`` and the first is not (every second of a chosen
    minute is never what was meant)."""
    out = []
    for path, expr in _cron_fields(loaded.config, ()):
        fields = expr.split()
        if len(fields) != 6 or fields[-1] != "*" or fields[0] == "*":
            continue
        dotted = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)[1:]
        suggestion = " ".join([*fields[1:], fields[0]])
        out.append(
            f"{loaded.where(path)}: {dotted}: {expr!r} runs every second of the minutes it names: "
            "the sixth (last) field counts seconds, the first is the minute; for seconds first "
            f"(Quartz's order) write {suggestion!r}"
        )
    return out


def _empty(loaded: LoadedConfig) -> bool:
    """True when the file holds no setting at all (blank, comments only, or ``{}``)."""
    import yaml

    try:
        data = yaml.safe_load(loaded.path.read_text(encoding="utf-8", errors="replace"))
    except (OSError, yaml.YAMLError):
        return False
    return not data


def _init_command(loaded: LoadedConfig) -> str:
    """The ``prodshield init`` that replaces this (empty) file with the commented example."""
    from pathlib import Path

    from prodshield.text import shell_word

    if loaded.path.name != "shield.yaml":
        return "prodshield init"  # it writes a shield.yaml, beside this file or elsewhere
    folder = loaded.path.parent.resolve()
    where = "" if folder == Path.cwd().resolve() else f" {shell_word(str(folder))}"
    return f"prodshield init{where} --force"


def _literal_secrets(loaded: LoadedConfig) -> list[tuple[str, str]]:
    """(file:line:column, key path) of each notifier secret written as a literal (never the
    value): a token, a routing key, a webhook URL or secret, an Authorization-like header."""
    from prodshield.config.redacted import SECRET_KEYS
    from prodshield.config.yamlpos import format_path

    found = []
    for path in loaded.literals:
        if len(path) < 3 or path[0] != "notifiers":
            continue
        header = len(path) >= 4 and path[-2] == "headers"
        if path[-1] not in SECRET_KEYS and not (header and _SECRET_HEADER.search(str(path[-1]))):
            continue
        pos = loaded.positions.locate(path, prefer_key=False)
        found.append((pos, f"{loaded.path.name}:{pos.line}:{pos.column}", format_path(path)))
    return [(at, key) for _, at, key in sorted(found, key=lambda f: (f[0].line, f[0].column))]


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
