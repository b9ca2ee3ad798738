"""``prodshield chaos``: the fault proxy (``chaos proxy``) and its toxics (``chaos toxic``).

``chaos_app`` is the group; other chaos commands (experiments, batteries) add themselves to it.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Annotated, Any

import typer

from prodshield.chaos.proxy.client import ProxyClient
from prodshield.cli import chaos_experiments
from prodshield.cli.common import EXIT_USAGE, Grid, console, load, plural, print_json, untrusted
from prodshield.config.loader import ENV_VAR, find_config
from prodshield.errors import ProdshieldError, UsageError

chaos_app = typer.Typer(
    help="Chaos engineering: the fault proxy, experiments and batteries.", no_args_is_help=True
)
proxy_app = typer.Typer(
    help="Run the fault-injecting proxy (Toxiproxy v2 API), or list its proxies.",
    invoke_without_command=True,
)
toxic_app = typer.Typer(
    help="Add, remove and list toxics through the proxy API.", no_args_is_help=True
)
chaos_app.add_typer(proxy_app, name="proxy")
chaos_app.add_typer(toxic_app, name="toxic")
chaos_experiments.attach(chaos_app)  # run, breaker, db

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


def _api_url(api: str | None) -> str:
    """The proxy API to talk to: --api / $PRODSHIELD_PROXY_API, else the ``chaos.api`` of the
    shield.yaml that ``chaos proxy`` would read (when it loads), else Toxiproxy's 8474."""
    if api:
        return api
    try:
        loaded = _shield_config(None)
    except ProdshieldError:
        return DEFAULT_API  # a broken shield.yaml is for `config check` to report
    chaos = loaded.config.chaos if loaded is not None else None
    if chaos is None:
        return DEFAULT_API
    host = chaos.api.host
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
    return f"http://{'[' + host + ']' if ':' in host else host}:{chaos.api.port}"


FormatOption = Annotated[str, typer.Option("--format", help="text or json.")]


def register(app: typer.Typer) -> None:
    app.add_typer(chaos_app, name="chaos")


def _shield_config(path: Path | None) -> Any | None:
    """The loaded shield.yaml: from -c, $PRODSHIELD_CONFIG or ./shield.yaml if present."""
    if path is None and not os.environ.get(ENV_VAR):
        try:
            find_config(None)
        except UsageError:
            return None
    return load(path)


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


@proxy_app.callback()
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
    loaded = _shield_config(shield)
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


@proxy_app.command("list")
def proxy_list(api: ApiOption = None, output: FormatOption = "text") -> None:
    """List the proxies of a running proxy server."""
    proxies = ProxyClient(_api_url(api)).proxies()
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


def _parse_attributes(items: list[str]) -> dict[str, float | int | str]:
    """``key=value`` pairs: numbers as numbers, anything else (a path, a method) as text."""
    result: dict[str, float | int | str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"attribute {item!r}: expected key=value")
        try:
            result[key] = int(value)
        except ValueError:
            try:
                result[key] = float(value)
            except ValueError:
                result[key] = value
    return result


STREAMS = ("downstream", "upstream", "both")
OUTPUTS = ("text", "json")


def _choice(option: str, value: str, choices: tuple[str, ...] | list[str]) -> str:
    if value not in choices:
        raise UsageError(f"{option}: {value!r} is not one of {', '.join(choices)}")
    return value


def _toxic_types() -> list[str]:
    from prodshield.chaos.proxy.toxics import REGISTRY

    return sorted(REGISTRY)


def _api_mistake(client: ProxyClient, exc: Exception, proxy: str, toxic: str | None = None) -> None:
    """A 404 or 400 from the proxy API is the user's mistake (exit 2), said with the valid
    choices; anything else (the API unreachable) stays a failure to do the work (exit 3)."""
    from prodshield.chaos.proxy.client import ProxyApiError

    if not isinstance(exc, ProxyApiError) or exc.status not in (400, 404, 409):
        return
    if exc.status == 404:
        try:
            names = sorted(p.name for p in client.proxies())
        except ProxyApiError:
            names = []
        if proxy not in names:
            known = ", ".join(names) if names else "none yet"
            raise UsageError(f"no proxy {proxy!r} (proxies: {known})") from None
        if toxic is not None:
            try:
                toxics = sorted(t.name for t in client.toxics(proxy))
            except ProxyApiError:
                toxics = []
            known = ", ".join(toxics) if toxics else "none"
            raise UsageError(f"no toxic {toxic!r} on proxy {proxy!r} (toxics: {known})") from None
    raise UsageError(str(exc)) from None


@toxic_app.command("add")
def toxic_add(
    proxy_name: Annotated[str, typer.Argument(metavar="PROXY")],
    toxic_type: Annotated[
        str,
        typer.Option(
            "--type",
            "-t",
            metavar="TYPE",
            help="latency, bandwidth, slow_close, timeout, reset_peer, slicer, limit_data, "
            "packet_loss, http_status, http_fail_first, slow_headers.",
        ),
    ],
    attribute: Annotated[
        list[str] | None,
        typer.Option("--attribute", "-a", help="key=value, repeatable (e.g. -a latency=100)."),
    ] = None,
    name: Annotated[
        str | None, typer.Option("--name", "-n", help="Default <type>_<stream>.")
    ] = None,
    stream: Annotated[
        str, typer.Option("--stream", "-s", help="downstream, upstream or both.")
    ] = "downstream",
    toxicity: Annotated[float, typer.Option("--toxicity", help="Probability 0..1.")] = 1.0,
    api: ApiOption = None,
    output: FormatOption = "text",
) -> None:
    """Add a toxic to a proxy."""
    from prodshield.chaos.proxy.client import ProxyApiError

    _choice("--type", toxic_type, _toxic_types())
    _choice("--stream", stream, STREAMS)
    _choice("--format", output, OUTPUTS)
    if not 0.0 <= toxicity <= 1.0:
        raise UsageError(f"--toxicity: {toxicity:g} is not between 0 and 1")
    attributes = _parse_attributes(attribute or [])
    client = ProxyClient(_api_url(api))
    try:
        toxic = client.add_toxic(
            proxy_name,
            toxic_type,
            name=name,
            stream=stream,
            toxicity=toxicity,
            attributes=attributes,
        )
    except ProxyApiError as exc:
        _api_mistake(client, exc, proxy_name)
        raise
    if output == "json":
        print_json(toxic.__dict__)
    else:
        console().print(f"added {toxic.name} ({toxic.type}, {toxic.stream}) to {proxy_name}")


@toxic_app.command("remove")
def toxic_remove(
    proxy_name: Annotated[str, typer.Argument(metavar="PROXY")],
    toxic_name: Annotated[str, typer.Argument(metavar="TOXIC")],
    api: ApiOption = None,
) -> None:
    """Remove a toxic from a proxy."""
    from prodshield.chaos.proxy.client import ProxyApiError

    client = ProxyClient(_api_url(api))
    try:
        client.remove_toxic(proxy_name, toxic_name)
    except ProxyApiError as exc:
        _api_mistake(client, exc, proxy_name, toxic_name)
        raise
    console().print(f"removed {toxic_name} from {proxy_name}")


@toxic_app.command("list")
def toxic_list(
    proxy_name: Annotated[str, typer.Argument(metavar="PROXY")],
    api: ApiOption = None,
    output: FormatOption = "text",
) -> None:
    """List a proxy's toxics."""
    from prodshield.chaos.proxy.client import ProxyApiError

    _choice("--format", output, OUTPUTS)
    client = ProxyClient(_api_url(api))
    try:
        toxics = client.toxics(proxy_name)
    except ProxyApiError as exc:
        _api_mistake(client, exc, proxy_name)
        raise
    if output == "json":
        print_json([t.__dict__ for t in toxics])
        return
    table = Grid(
        "name", "type", "stream", "toxicity", "attributes",
        keys=("name", "type", "stream"), right=("toxicity",),
    )  # fmt: skip
    for t in toxics:
        attrs = ", ".join(f"{k}={v}" for k, v in t.attributes.items())
        table.add_row(
            untrusted(t.name), untrusted(t.type), t.stream, f"{t.toxicity:g}", untrusted(attrs)
        )
    table.print()


__all__ = ["EXIT_USAGE", "chaos_app", "register"]
