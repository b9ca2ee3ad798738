"""``prodshield init``: write an example shield.yaml."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Annotated

import typer

from prodshield.cli.common import EXIT_USAGE, console


def init(
    directory: Annotated[Path, typer.Argument(help="Folder to write into.")] = Path("."),
    force: Annotated[bool, typer.Option("--force", help="Overwrite existing files.")] = False,
    github_actions: Annotated[
        bool,
        typer.Option(
            "--github-actions",
            help="Also write .github/workflows/: the 5-minute monitor, the daily digest, the audit.",
        ),
    ] = False,
) -> None:
    """Write a commented example shield.yaml covering every capability."""
    target = directory / "shield.yaml"
    out = console()
    if github_actions:
        _write_workflows(directory, force)
        if target.exists():
            return
    if target.exists() and not force:
        console(stderr=True).print(f"{target} exists; use --force to overwrite it")
        raise typer.Exit(EXIT_USAGE)
    directory.mkdir(parents=True, exist_ok=True)
    text = resources.files("prodshield.config").joinpath("example.yaml").read_text(encoding="utf-8")
    target.write_text(text, encoding="utf-8")
    out.print(f"wrote {target}; check it with: prodshield config check -c {target}")


WORKFLOWS = ("production-monitoring.yml", "log-intelligence.yml", "security-audit.yml")


def _write_workflows(directory: Path, force: bool) -> None:
    folder = directory / ".github" / "workflows"
    existing = [folder / n for n in WORKFLOWS if (folder / n).exists()]
    if existing and not force:
        console(stderr=True).print(f"{existing[0]} exists; use --force to overwrite it")
        raise typer.Exit(EXIT_USAGE)
    folder.mkdir(parents=True, exist_ok=True)
    source = resources.files("prodshield.templates").joinpath("workflows")
    for name in WORKFLOWS:
        (folder / name).write_text(
            source.joinpath(name).read_text(encoding="utf-8"), encoding="utf-8"
        )
        console().print(f"wrote {folder / name}")
