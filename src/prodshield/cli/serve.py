"""``prodshield serve`` and ``prodshield status build``."""

from __future__ import annotations

import gc
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from prodshield.cli.common import ConfigOption, Grid, console, load, plural, store_for, untrusted
from prodshield.cli.monitor import LocationOption, apply_location
from prodshield.config import LoadedConfig
from prodshield.web.security import generate_token, redact

if TYPE_CHECKING:
    from prodshield.web.connections import Budget

status_app = typer.Typer(help="The public status page as a static site.", no_args_is_help=True)


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
    from prodshield.web.server import is_loopback
    from prodshield.web.server import serve as run

    loaded = load(config)
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

    def reloaded(fresh: LoadedConfig | None, problems: list[str]) -> None:
        if fresh is None:
            for line in problems:
                err.print(line, markup=False)
            err.print("reload refused: the previous config keeps running")
        else:
            out.print(f"reloaded {fresh.path}: {plural(len(fresh.config.checks), 'check')}")
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


@status_app.command("build")
def build(
    config: ConfigOption = None,
    out: Annotated[Path, typer.Option("--out", help="Folder to write the site into.")] = Path(
        "site"
    ),
) -> None:
    """Write the status page as static files (index.html, assets, status.json)."""
    from prodshield.web.status_site import build_site

    loaded = load(config)
    store = store_for(loaded)
    try:
        report = build_site(loaded, store, out)
    finally:
        store.close()
    console().print(
        f"wrote {report.out}/index.html: {report.services} services on {report.pages} "
        f"page{'s' if report.pages != 1 else ''} ({len(report.files)} files)"
    )


@status_app.command("subscribers")
def subscribers(
    config: ConfigOption = None,
    remove: Annotated[
        int | None, typer.Option("--remove", help="Remove this subscription (its id).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of a table.")] = False,
) -> None:
    """The status page's subscriptions (serve.subscriptions): list them, or remove one."""
    import json

    from prodshield.errors import UsageError
    from prodshield.notify import subscribers as subs

    loaded = load(config)
    store = store_for(loaded)
    try:
        if remove is not None:
            if not subs.remove(store, remove):
                raise UsageError(f"no subscription {remove}")
            console().print(f"subscription {remove} removed", markup=False)
            return
        rows = subs.listing(store, config=loaded.config)
    finally:
        store.close()
    if as_json:
        print(json.dumps({"subscriptions": rows}, indent=2))
        return
    out = console()
    table = Grid(
        "id", "kind", "status", "target", keys=("id", "kind", "status"), right=("id",), out=out,
    )  # fmt: skip
    for r in rows:
        table.add_row(str(r["id"]), str(r["kind"]), str(r["status"]), untrusted(r["target"]))
    if rows:
        table.print()
    out.print(plural(len(rows), "subscription"), markup=False)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.add_typer(status_app, name="status")
