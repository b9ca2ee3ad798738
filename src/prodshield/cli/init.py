"""``prodshield init``: write an example shield.yaml (and the GitHub Actions workflows)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Annotated

import typer

from prodshield.cli.common import console
from prodshield.errors import Conflict, UsageError

app = typer.Typer()


@app.command("init")
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
    install: Annotated[
        str | None,
        typer.Option(
            "--install",
            metavar="SPEC",
            help="What the workflows give to `pip install`: prodshield==VERSION, "
            "git+https://...@TAG-or-COMMIT, or ./path/to/prodshield-VERSION-py3-none-any.whl "
            "[default: where this prodshield was installed from (a VCS URL at its commit, "
            "an archive URL), else prodshield==this version, with a warning]. "
            "Never an unpinned name.",
            show_default=False,
        ),
    ] = None,
    audit_after: Annotated[
        str | None,
        typer.Option(
            "--audit-after",
            metavar="WORKFLOW",
            help="Run the audit workflow after this deploy workflow completes (workflow_run).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Write a commented example shield.yaml covering every capability."""
    from prodshield.templates.github_actions import (
        WorkflowOptions,
        check_install_spec,
        default_install,
        write_workflows,
    )

    target = directory / "shield.yaml"
    out = console()
    if (install is not None or audit_after is not None) and not github_actions:
        raise UsageError("--install and --audit-after go with --github-actions")
    if github_actions:
        chosen = default_install() if install is None else None
        options = WorkflowOptions(
            install=chosen.spec if chosen is not None else check_install_spec(install or ""),
            audit_after=audit_after,
        )
        written = write_workflows(directory, options, force=force)
        for path in written:
            out.print(f"wrote {path}")
        out.print(f"the workflows install: pip install {options.install}", markup=False)
        if chosen is not None and chosen.warning:
            console(stderr=True).print(f"warning: {chosen.warning}", markup=False)
        if target.exists():
            _warn_unfit(target, written)
            return
    if target.exists() and not force:
        raise Conflict(f"{target} exists; use --force to overwrite it")
    directory.mkdir(parents=True, exist_ok=True)
    text = resources.files("prodshield.config").joinpath("example.yaml").read_text(encoding="utf-8")
    if github_actions:  # a runner reads the logs its "Fetch the logs" step brings into logs/
        from prodshield.templates.fit import RUNNER_LOG_SOURCES

        for server, runner in RUNNER_LOG_SOURCES.items():
            text = text.replace(f"path: {server}\n", f"path: {runner}\n")
    target.write_text(text, encoding="utf-8")
    out.print(f"wrote {target}; check it with: prodshield config check -c {target}")


def _warn_unfit(target: Path, workflows: list[Path]) -> None:
    """Say what in an existing shield.yaml the workflows' steps cannot run with."""
    from prodshield.cli.config_checks import unread_by
    from prodshield.templates.fit import problems

    err = console(stderr=True)
    for line in problems(target, workflows, unread_by):
        err.print(f"warning: {line}", markup=False, soft_wrap=True)
