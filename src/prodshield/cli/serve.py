"""``prodshield serve``: the status page, dashboard, JSON API and /metrics from one process."""

from __future__ import annotations

import gc
import sys
from typing import TYPE_CHECKING, Annotated

import typer

from prodshield.cli.common import (
    ConfigOption,
    LocationOption,
    apply_location,
    console,
    load,
    plural,
    store_for,
)

if TYPE_CHECKING:  # the web app is imported when it runs, not for `serve --help`
    from prodshield.config import LoadedConfig
    from prodshield.web.connections import Budget

app = typer.Typer()


@app.command("serve")
def serve(
    config: ConfigOption = None,
    host: Annotated[
        str | None, typer.Option("--host", help="Address to bind (default serve.host, 127.0.0.1).")
    ] = None,
    port: Annotated[
        int | None,
        typer.Option("--port", help="Port (default serve.port, 8080).", min=0, max=65535),
    ] = None,
    location: LocationOption = None,
) -> None:
    """Run the status page, dashboard, JSON API and /metrics (and the background services)."""
    from prodshield.store.runner import sole_runner
    from prodshield.web.security import generate_token, redact
    from prodshield.web.server import is_loopback
    from prodshield.web.server import serve as run

    loaded = load(config, whole=True)
    apply_location(loaded, location)
    settings = loaded.config.serve
    bind = host or settings.host
    listen = settings.port if port is None else port
    token = settings.token or ""
    generated = not token
    if generated:
        token = generate_token()
    store = store_for(loaded)
    out = console()
    err = console(stderr=True)

    def ready(url: str) -> None:
        out.print(f"prodshield serving {url} (store {store.display_url})")
        out.print(f"dashboard: {url}dashboard")
        if generated:
            out.print(f"login token (generated for this run): {token}")
        else:
            out.print(f"login token: from serve.token ({redact(token)})")
        if not is_loopback(bind):
            err.print(
                f"warning: listening on {bind}: the dashboard is reachable from the network; "
                "put it behind HTTPS"
            )
        sys.stdout.flush()  # a pipe (a log file, journald, a test) sees the URL now, not at exit

    running = [loaded]

    def reloaded(fresh: LoadedConfig | None, problems: list[str]) -> None:
        if fresh is None:
            for line in problems:
                err.print(line, markup=False)
            err.print("reload refused: the previous config keeps running")
        else:
            changes = checks_changed(running[0], fresh)
            running[0] = fresh
            out.print(
                f"reloaded {fresh.path}: {plural(len(fresh.config.checks), 'check')}"
                + (f" ({changes})" if changes else " (no check changed)"),
                markup=False,
            )
            for note in problems:
                err.print(f"warning: {note}", markup=False)

    def limits(budget: Budget) -> None:
        if budget.short:
            err.print(
                f"warning: the descriptor limit ({budget.soft}) leaves the web server "
                f"{budget.web} connections (serve.limits.max_connections: {budget.configured}) "
                f"after {budget.reserve} kept for checks, the store and log files; raise it "
                "(ulimit -n, LimitNOFILE=) for more"
            )

    # Start-up's objects (modules, the config, the app) live as long as the process: frozen, the
    # collector never walks them again; and it runs per 50,000 allocations, not 700 (the log
    # follower allocates a few objects per line; benchmarks/logs_follow.py)
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
    try:
        with sole_runner(store.url, "serve"):
            run(
                loaded,
                store,
                token=token,
                host=bind,
                port=listen,
                on_ready=ready,
                on_reload=reloaded,
                on_limits=limits,
            )
    finally:
        store.close()
    out.print("prodshield serve stopped")


def checks_changed(before: LoadedConfig, after: LoadedConfig) -> str:
    """What a reload did to the checks, in words (``added w2; removed w3; changed w1``; empty
    when none changed), by check name."""
    old = {c.name: c for c in before.config.checks}
    new = {c.name: c for c in after.config.checks}
    parts = [
        f"{verb} {', '.join(names)}"
        for verb, names in (
            ("added", [n for n in new if n not in old]),
            ("removed", [n for n in old if n not in new]),
            ("changed", [n for n in new if n in old and new[n] != old[n]]),
        )
        if names
    ]
    return "; ".join(parts)
