"""``prodshield deploy``: record deploy markers and list them."""

from __future__ import annotations

import time
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

import typer

from prodshield import deploys
from prodshield.cli.common import (
    ConfigOption,
    Grid,
    console,
    load,
    print_json,
    store_for,
    untrusted,
    write_out,
)
from prodshield.config.types import format_duration, parse_duration
from prodshield.errors import UsageError
from prodshield.verification import Verdict, headline, markdown, verify

app = typer.Typer(
    help="Deploy markers: shown on response-time charts, named in incidents' evidence, and "
    "verified (did the deploy make things worse?).",
    no_args_is_help=True,
)


class Format(StrEnum):
    table = "table"
    json = "json"


class VerifyFormat(StrEnum):
    table = "table"
    json = "json"
    markdown = "markdown"


def _when(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(
            f"--at {text!r}: give an ISO 8601 time (2026-12-05T01:02:03Z) or epoch seconds"
        ) from None
    if moment.tzinfo is None:
        raise UsageError(f"--at {text!r}: give a time zone (Z or +01:00)")
    return moment.timestamp()


@app.command("mark")
def mark(
    version: Annotated[str, typer.Option("--version", help="The version deployed.")],
    env: Annotated[
        str, typer.Option("--env", help="Its environment (default: every environment).")
    ] = "",
    service: Annotated[
        str, typer.Option("--service", help="Its service (default: every service).")
    ] = "",
    at: Annotated[
        str | None, typer.Option("--at", help="When (ISO 8601 or epoch seconds; default: now).")
    ] = None,
    note: Annotated[str | None, typer.Option("--note", help="A line about the deploy.")] = None,
    config: ConfigOption = None,
) -> None:
    """Record a deploy marker."""
    loaded = load(config)
    store = store_for(loaded)
    try:
        marker = deploys.mark(
            store, version, environment=env, service=service, at=_when(at), note=note
        )
    finally:
        store.close()
    scope = [f"service {marker.service}"] if marker.service else []
    scope += [f"in {marker.environment}"] if marker.environment else []
    where = f" ({' '.join(scope)})" if scope else ""
    out = console()
    out.print(f"deploy #{marker.id}: {marker.version}{where} recorded", markup=False)
    out.print(
        f"verify it once checks have run after it: prodshield deploy verify --deploy {marker.id}"
        " --wait",
        markup=False,
        highlight=False,
    )


@app.command("list")
def list_cmd(
    env: Annotated[
        str | None, typer.Option("--env", help="Only those for this environment.")
    ] = None,
    service: Annotated[
        str | None, typer.Option("--service", help="Only those for this service.")
    ] = None,
    limit: Annotated[int, typer.Option(help="How many, newest first.", min=1)] = 20,
    fmt: Annotated[Format, typer.Option("--format", help="Output format.")] = Format.table,
    config: ConfigOption = None,
) -> None:
    """List deploy markers, newest first."""
    loaded = load(config)
    store = store_for(loaded)
    try:
        found = deploys.deploys(store, environment=env, service=service, limit=limit)
    finally:
        store.close()
    if fmt is Format.json:
        print_json([d.to_dict() for d in found])
        return
    if not found:
        console().print("no deploy markers")
        return
    grid = Grid(
        "id",
        "when (UTC)",
        "version",
        "service",
        "environment",
        "note",
        keys=("id", "when (UTC)", "version"),
    )
    for d in found:
        grid.add_row(
            str(d.id),
            time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(d.deployed_at)),
            untrusted(d.version),
            untrusted(d.service or "(all)"),
            untrusted(d.environment or "(all)"),
            untrusted(d.note or ""),
        )
    grid.print()


MAX_WINDOW_S = 6 * 3600.0


def _marker(store: Any, deploy_id: int | None, env: str, service: str) -> deploys.Deploy:
    if deploy_id is not None:
        found = deploys.get(store, deploy_id)
        if found is None:
            raise UsageError(f"no deploy marker #{deploy_id} (see `prodshield deploy list`)")
        return found
    found_list = deploys.deploys(
        store, environment=env or None, service=service or None, until=time.time(), limit=1
    )
    if not found_list:
        raise UsageError(
            "no deploy marker to verify: record one with `prodshield deploy mark --version V` "
            "when the deploy ends"
        )
    return found_list[0]


def _window(text: str) -> float:
    try:
        seconds = parse_duration(text)
    except ValueError as exc:
        raise UsageError(f"--window {text!r}: {exc}") from None
    if not 60 <= seconds <= MAX_WINDOW_S:
        raise UsageError(f"--window {text!r}: give 1m to 6h")
    return seconds


@app.command("verify")
def verify_cmd(
    deploy_id: Annotated[
        int | None,
        typer.Option("--deploy", help="The marker's id (default: the latest that applies)."),
    ] = None,
    env: Annotated[str, typer.Option("--env", help="The latest marker for this environment.")] = "",
    service: Annotated[
        str, typer.Option("--service", help="The latest marker for this service.")
    ] = "",
    window: Annotated[
        str, typer.Option("--window", help="How long after the deploy to look (1m-6h).")
    ] = "10m",
    wait: Annotated[
        bool,
        typer.Option("--wait", help="Wait until the window after the deploy is over."),
    ] = False,
    strict: Annotated[bool, typer.Option("--strict", help="Warnings fail too.")] = False,
    fmt: Annotated[
        VerifyFormat,
        typer.Option(
            "--format",
            help="table, json or markdown (a pull request comment, $GITHUB_STEP_SUMMARY).",
        ),
    ] = VerifyFormat.table,
    config: ConfigOption = None,
) -> None:
    """Did the deploy make things worse? Checks, incidents, log findings and the audit after
    the deploy against before it. Exit 1 when it failed (with --strict, when it warned too)."""
    loaded = load(config)
    seconds = _window(window)
    store = store_for(loaded)
    try:
        marker = _marker(store, deploy_id, env, service)
        ahead = marker.deployed_at - time.time()
        if ahead > 0 and not wait:
            raise UsageError(
                f"deploy #{marker.id} is {format_duration(ahead)} in the future: nothing to "
                "verify yet (--wait waits for its window)"
            )
        left = marker.deployed_at + seconds - time.time()
        if wait and left > 0:
            console().print(
                f"waiting {format_duration(left)} for the {format_duration(seconds)} after "
                f"deploy #{marker.id}",
                markup=False,
                highlight=False,
            )
            time.sleep(left)
        verdict = verify(store, loaded.config, marker, window_s=seconds)
    finally:
        store.close()
    if fmt is VerifyFormat.json:
        print_json(verdict.to_dict())
    elif fmt is VerifyFormat.markdown:
        write_out(markdown(verdict))
    else:
        _print_verdict(verdict)
    if verdict.failed or (strict and verdict.verdict == "warn"):
        raise typer.Exit(1)


def _print_verdict(verdict: Verdict) -> None:
    out = console()
    out.print(headline(verdict), markup=False, highlight=False)
    if verdict.signals:
        grid = Grid("verdict", "area", "subject", "what", keys=("verdict", "area", "subject"))
        for s in verdict.signals:
            grid.add_row(s.verdict, s.area, untrusted(s.subject), untrusted(s.message))
        grid.print()
    if not verdict.complete:
        out.print(
            "the window after the deploy is not over: the verdict may still change (--wait "
            "waits for its end)",
            markup=False,
            highlight=False,
        )
