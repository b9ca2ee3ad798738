"""``prodshield chaos proxy``: run the fault-injecting proxy (Toxiproxy v2 API), or list its
proxies."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Annotated, Any

import typer

from prodshield.chaos.proxy.client import ProxyClient
from prodshield.cli.chaos import ApiOption, FormatOption, api_url, shield_config
from prodshield.cli.common import Grid, console, plural, print_json, untrusted

app = typer.Typer(
    help="Run the fault-injecting proxy (Toxiproxy v2 API), or list its proxies.",
    invoke_without_command=True,
)


def _toxic_ledger(loaded: Any, where: dict[str, str]) -> Any:
    """Records the proxies' active toxics in shield.yaml's store (``kv`` chaos/proxies@API), so
    an incident that opens while one is on a service's path or dependency names it (evidence)."""
    import time

    from prodshield.store import open_store

    store: Any = None
    since: dict[tuple[str, str, str], float] = {}

    def record(state: list[dict[str, Any]]) -> None:
        nonlocal store
        if store is None:
            store = open_store(loaded.config.storage, base_dir=loaded.base_dir)
        now = time.time()
        live = set()
        for proxy in state:
            for toxic in proxy["toxics"]:
                key = (proxy["name"], toxic["name"], toxic["type"])
                live.add(key)
                toxic["since"] = since.setdefault(key, now)
        for key in set(since) - live:
            del since[key]
        api = where["api"]
        store.kv_set(
            "chaos", f"proxies@{api}"[:255], {"seen_at": now, "api": api, "proxies": state}
        )

    return record


@app.callback()
def proxy(
    ctx: typer.Context,
    host: Annotated[
        str | None, typer.Option("--host", help="API address (default 127.0.0.1).")
    ] = None,
    port: Annotated[int | None, typer.Option("--port", help="API port (default 8474).")] = None,
    proxies_file: Annotated[
        Path | None,
        typer.Option("--config", help="Toxiproxy config file: a JSON array of proxies."),
    ] = None,
    shield: Annotated[
        Path | None,
        typer.Option(
            "-c",
            "--shield-config",
            help="shield.yaml whose chaos.proxies to start (default: $PRODSHIELD_CONFIG, "
            "then ./shield.yaml when present).",
        ),
    ] = None,
) -> None:
    """Run the proxy server until Ctrl-C or SIGTERM (without a subcommand)."""
    if ctx.invoked_subcommand is not None:
        return
    from prodshield.chaos.proxy.service import (
        ProxyService,
        load_proxies_json,
        proxies_from_chaos_config,
        run,
    )

    sources: list[tuple[str, list[dict[str, Any]]]] = []
    loaded = shield_config(shield)
    chaos = loaded.config.chaos if loaded is not None else None
    api_host, api_port = "127.0.0.1", 8474
    if chaos is not None:
        api_host, api_port = chaos.api.host, chaos.api.port
        sources.append(("shield.yaml chaos.proxies", proxies_from_chaos_config(chaos)))
    if proxies_file is not None:
        sources.append((str(proxies_file), load_proxies_json(proxies_file)))
    out = console(stderr=True)

    where = {"api": ""}

    def ready(service: ProxyService) -> None:
        where["api"] = service.url
        out.print(f"prodshield chaos proxy: API on {service.url}")
        if service.exposed:
            out.print(f"warning: {service.exposed}", markup=False)
        for p in service.collection.proxies.values():
            state = "enabled" if p.enabled else "disabled"
            out.print(
                f"  {p.name}: {p.listen} -> {p.upstream} ({state}, {plural(len(p.toxics), 'toxic')})"
            )

    bind_host, bind_port = host or api_host, api_port if port is None else port
    ledger = _toxic_ledger(loaded, where) if loaded is not None else None
    run(bind_host, bind_port, sources, ready, on_state=ledger)
    if ledger is not None:
        with contextlib.suppress(Exception):
            ledger([])  # stopped: no toxic is active any more
    out.print("prodshield chaos proxy: stopped")


@app.command("list")
def proxy_list(api: ApiOption = None, output: FormatOption = "text") -> None:
    """List the proxies of a running proxy server."""
    proxies = ProxyClient(api_url(api)).proxies()
    if output == "json":
        print_json(
            [
                {
                    "name": p.name,
                    "listen": p.listen,
                    "upstream": p.upstream,
                    "enabled": p.enabled,
                    "toxics": [t.__dict__ for t in p.toxics],
                }
                for p in proxies
            ]
        )
        return
    table = Grid(
        "name", "listen", "upstream", "enabled", "toxics",
        keys=("listen", "upstream", "enabled", "toxics"), right=("toxics",),
    )  # fmt: skip
    for p in sorted(proxies, key=lambda p: p.name):
        table.add_row(
            untrusted(p.name),
            untrusted(p.listen),
            untrusted(p.upstream),
            "yes" if p.enabled else "no",
            str(len(p.toxics)),
        )
    table.print()
