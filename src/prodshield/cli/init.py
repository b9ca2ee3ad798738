"""``prodshield init``: write an example shield.yaml."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Annotated

import typer

from prodshield.cli.common import EXIT_USAGE, console


def init(
    directory: Annotated[Path, typer.Argument(help="Folder to write shield.yaml into.")] = Path(
        "."
    ),
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite an existing shield.yaml.")
    ] = False,
) -> None:
    """Write a commented example shield.yaml covering every capability."""
    target = directory / "shield.yaml"
    out = console()
    if target.exists() and not force:
        console(stderr=True).print(f"{target} exists; use --force to overwrite it")
        raise typer.Exit(EXIT_USAGE)
    directory.mkdir(parents=True, exist_ok=True)
    text = resources.files("prodshield.config").joinpath("example.yaml").read_text(encoding="utf-8")
    target.write_text(text, encoding="utf-8")
    out.print(f"wrote {target}; check it with: prodshield config check -c {target}")
