"""``prodshield chaos toxic``: add, remove and list toxics through the proxy API."""

from __future__ import annotations

from typing import Annotated

import typer

from prodshield.chaos.proxy.client import ProxyClient
from prodshield.cli.chaos import ApiOption, FormatOption, api_url
from prodshield.cli.common import Grid, console, print_json, untrusted
from prodshield.errors import UsageError

app = typer.Typer(help="Add, remove and list toxics through the proxy API.", no_args_is_help=True)


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


def _known_attributes(toxic_type: str, attributes: dict[str, float | int | str]) -> None:
    """Refuse an attribute the toxic type does not have: the API ignores unknown keys (as
    Toxiproxy does), so ``-a latencey=500`` would add a toxic that injects nothing."""
    import difflib

    from prodshield.chaos.proxy.toxics import REGISTRY

    known = [a.name for a in REGISTRY[toxic_type].attributes] + ["limit_time"]
    for key in attributes:
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise UsageError(
                f"-a {key}: {toxic_type} toxics have no attribute {key!r}{hint}; "
                f"they have {', '.join(known)}"
            )


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


@app.command("add")
def toxic_add(
    proxy_name: Annotated[str, typer.Argument(metavar="PROXY")],
    toxic_type: Annotated[
        str,
        typer.Option(
            "--type",
            "-t",
            metavar="TYPE",
            help="latency, bandwidth, slow_close, timeout, reset_peer, slicer, limit_data, "
            "packet_loss, http_status, http_fail_first, slow_headers, oversized_headers.",
        ),
    ],
    attribute: Annotated[
        list[str] | None,
        typer.Option("--attribute", "-a", help="key=value, repeatable (e.g. -a latency=100)."),
    ] = None,
    name: Annotated[
        str | None,
        typer.Option("--name", "-n", help="Letters, digits, -, _ and . (default <type>_<stream>)."),
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
    if name:
        from prodshield.config.capabilities import toxic_name_problem

        problem = toxic_name_problem(name)
        if problem is not None:  # as the API would answer: a name no URL could remove
            raise UsageError(f"--name: {problem}")
    attributes = _parse_attributes(attribute or [])
    _known_attributes(toxic_type, attributes)
    client = ProxyClient(api_url(api))
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


@app.command("remove")
def toxic_remove(
    proxy_name: Annotated[str, typer.Argument(metavar="PROXY")],
    toxic_name: Annotated[str, typer.Argument(metavar="TOXIC")],
    api: ApiOption = None,
) -> None:
    """Remove a toxic from a proxy."""
    from prodshield.chaos.proxy.client import ProxyApiError

    client = ProxyClient(api_url(api))
    try:
        client.remove_toxic(proxy_name, toxic_name)
    except ProxyApiError as exc:
        _api_mistake(client, exc, proxy_name, toxic_name)
        raise
    console().print(f"removed {toxic_name} from {proxy_name}")


@app.command("list")
def toxic_list(
    proxy_name: Annotated[str, typer.Argument(metavar="PROXY")],
    api: ApiOption = None,
    output: FormatOption = "text",
) -> None:
    """List a proxy's toxics."""
    from prodshield.chaos.proxy.client import ProxyApiError

    _choice("--format", output, OUTPUTS)
    client = ProxyClient(api_url(api))
    try:
        toxics = client.toxics(proxy_name)
    except ProxyApiError as exc:
        _api_mistake(client, exc, proxy_name)
        raise
    if output == "json":
        print_json([t.__dict__ for t in toxics])
        return
    if not toxics:  # a sentence, not a table of headers over nothing
        console().print(f"no toxics on {untrusted(proxy_name)}", markup=False)
        return
    table = Grid(
        "name", "type", "stream", "toxicity", "attributes",
        keys=("name", "type", "stream"), right=("toxicity",), fold=("attributes",),
        whole=("name", "type", "stream"),  # never split: what `toxic remove` and `-t` take
    )  # fmt: skip
    for t in toxics:
        # unset attributes ("") say nothing; a time limit is part of what the toxic does
        shown = [f"{k}={v}" for k, v in t.attributes.items() if v != "" and v is not None]
        if t.limit_time:
            shown.append(f"limit_time={t.limit_time}ms")
        attrs = ", ".join(shown)
        table.add_row(
            untrusted(t.name), untrusted(t.type), t.stream, f"{t.toxicity:g}", untrusted(attrs)
        )
    table.print()
