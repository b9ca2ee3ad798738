"""``prodshield status``: the public status page as a static site, and its subscribers."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from prodshield.cli.common import (
    ConfigOption,
    Grid,
    console,
    load,
    plural,
    print_json,
    store_for,
    untrusted,
)

app = typer.Typer(help="The public status page as a static site.", no_args_is_help=True)


@app.command("build")
def build(
    config: ConfigOption = None,
    out: Annotated[Path, typer.Option("--out", help="Folder to write the site into.")] = Path(
        "site"
    ),
    base_url: Annotated[
        str | None,
        typer.Option(
            "--base-url",
            help="The address the site is published at (e.g. https://you.github.io/repo/), "
            "for the Atom feed's links; without it they are relative to the feed.",
        ),
    ] = None,
) -> None:
    """Write the status page as static files (index.html, assets, status.json, feed.atom)."""
    from prodshield.errors import UsageError
    from prodshield.text import plural
    from prodshield.web.status_site import build_site

    if base_url is not None and not base_url.startswith(("https://", "http://")):
        raise UsageError(f"--base-url must start with https:// or http://, not {base_url!r}")
    loaded = load(config)
    store = store_for(loaded)
    try:
        report = build_site(loaded, store, out, base_url=base_url)
    finally:
        store.close()
    console().print(
        f"wrote {report.out}/index.html: {plural(report.services, 'service')} on "
        f"{plural(report.pages, 'page')} ({plural(len(report.files), 'file')})"
    )


@app.command("subscribers")
def subscribers(
    config: ConfigOption = None,
    remove: Annotated[
        int | None, typer.Option("--remove", help="Remove this subscription (its id).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of a table.")] = False,
) -> None:
    """The status page's subscriptions (serve.subscriptions): list them, or remove one."""

    from prodshield.errors import UsageError
    from prodshield.notify import subscribers as subs

    loaded = load(config)  # listing and removing send nothing
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
        print_json({"subscriptions": rows})
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
