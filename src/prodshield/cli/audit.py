"""``prodshield audit``: the security and configuration audit, and the post-deploy gate.

``prodshield audit [PATH...]`` runs every family; ``prodshield audit tls HOST:PORT...`` and
``prodshield audit secrets PATH...`` run one. Exit codes: 0 nothing at or above ``--fail-on``,
1 findings at or above it, 2 usage or config error.
"""

from __future__ import annotations

import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from prodshield.cli.common import EXIT_FAILED, EXIT_OK, ConfigOption, console, store_for
from prodshield.config import LoadedConfig, load_config
from prodshield.config.loader import find_config
from prodshield.errors import UsageError


class _DefaultToRun(TyperGroup):
    """``prodshield audit [PATH...] [options]`` runs the full audit: anything that is not a
    subcommand name (paths, options, nothing at all) goes to the hidden ``run`` command, so
    positional paths never collide with subcommand names."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if not args or (args[0] not in self.commands and args[0] not in ("--help", "-h")):
            args = ["run", *args]
        return super().parse_args(ctx, args)


app = typer.Typer(
    cls=_DefaultToRun,
    help="Security and configuration audit: permissions, TLS, config, secrets, environment. "
    "Exit 0 = pass, 1 = findings at or above --fail-on, 2 = usage/config error.",
    invoke_without_command=True,
    no_args_is_help=False,
)


class Format(StrEnum):
    table = "table"
    json = "json"
    sarif = "sarif"
    markdown = "markdown"
    junit = "junit"


class FailOn(StrEnum):
    critical = "critical"
    high = "high"
    medium = "medium"
    low = "low"


FormatOpt = Annotated[Format, typer.Option("--format", "-f", help="Report format.")]
OutputOpt = Annotated[
    Path | None,
    typer.Option("--output", "-o", help="Write the report to FILE.", show_default=False),
]
FailOnOpt = Annotated[
    FailOn | None,
    typer.Option(
        "--fail-on",
        help="Exit 1 when a finding is at or above this severity "
        "[default: audit.fail_on, else high].",
        show_default=False,
    ),
]
CaFileOpt = Annotated[
    Path | None,
    typer.Option(
        "--ca-file", help="PEM bundle of extra trusted CAs (private PKI).", show_default=False
    ),
]
ServernameOpt = Annotated[
    str | None,
    typer.Option(
        "--servername", help="SNI / expected name for the TLS targets.", show_default=False
    ),
]
RevocationOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--revocation-host",
        help="Check OCSP/CRL, asking only this host (repeatable).",
        show_default=False,
    ),
]
BaselineOpt = Annotated[
    Path | None,
    typer.Option(
        "--baseline", help="Ignore findings listed in this baseline file.", show_default=False
    ),
]


def _optional_config(path: Path | None) -> LoadedConfig | None:
    """-c / $PRODSHIELD_CONFIG / ./shield.yaml when present; the audit also runs without one."""
    if path is None:
        try:
            find_config(None)
        except UsageError:
            return None
    return load_config(path)


def _execute(
    *,
    paths: list[Path],
    config: Path | None,
    only: list[str] | None,
    tls: list[str],
    ca_file: Path | None,
    servername: str | None,
    fmt: Format,
    output: Path | None,
    fail_on: FailOn | None,
    baseline: Path | None,
    revocation_hosts: list[str] | None = None,
    exclude: list[str] | None = None,
    process_env: bool = True,
    proc_environ: bool = False,
    fix: bool = False,
    yes: bool = False,
    save: bool = True,
) -> int:
    from prodshield.audit import AuditReport, audit, render, settings_from_config
    from prodshield.audit.history import save_run
    from prodshield.audit.rules.permissions import apply_fixes, plan_fixes
    from prodshield.audit.scan import parse_families

    loaded = _optional_config(config)
    cfg = loaded.config.audit if loaded else None
    base_dir = loaded.base_dir if loaded else Path.cwd()
    families = parse_families(only)
    settings = settings_from_config(cfg)
    if revocation_hosts:
        settings.revocation = True
        settings.revocation_hosts = tuple(revocation_hosts)
    if proc_environ:
        settings.proc_environ = True
    if not paths and cfg is None and not tls and families != ["tls"]:
        paths = [Path(".")]
    gate = fail_on.value if fail_on else (cfg.fail_on if cfg else "high")
    if baseline is None and cfg is not None and cfg.baseline:
        baseline = base_dir / cfg.baseline

    def run_once() -> AuditReport:
        return audit(
            paths,
            config=cfg,
            families=families,
            tls_targets=tls,
            ca_file=ca_file,
            servername=servername,
            environ=dict(os.environ) if process_env and "environment" in families else None,
            settings=settings,
            baseline=baseline,
            exclude=exclude or (),
            base_dir=base_dir,
        )

    report = run_once()
    err = console(stderr=True)
    if fix:
        fixes = plan_fixes(report.findings, report.root or Path.cwd())
        if not fixes:
            err.print("--fix: no permission fixes to apply")
        else:
            for fx in fixes:
                err.print(f"  {fx.describe()}")
            if yes or (sys.stdin.isatty() and typer.confirm(f"Apply {len(fixes)} chmod(s)?")):
                problems = apply_fixes(fixes)
                for p in problems:
                    err.print(f"--fix: {p}")
                err.print(f"--fix: applied {len(fixes) - len(problems)} of {len(fixes)}")
                report = run_once()
            else:
                err.print("--fix: not applied (confirm interactively or pass --yes)")

    text = render(report, fmt.value, gate)
    if output is not None:
        try:
            output.parent.mkdir(parents=True, exist_ok=True)
            output.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot write {output}: {exc.strerror or exc}") from None
        summary = report.summary(gate)
        err.print(
            f"audit {'FAILED' if summary['failed'] else 'passed'}: {summary['total']} "
            f"findings ({', '.join(f'{n} {k}' for k, n in summary['by_severity'].items() if n) or 'none'}) "
            f"-> {output}"
        )
    else:
        sys.stdout.write(text)
    if save and loaded is not None:
        store = store_for(loaded)
        try:
            save_run(store, report, gate)
        finally:
            store.close()
    return EXIT_FAILED if report.failed(gate) else EXIT_OK


@app.command("run", hidden=True)
def run(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Files or folders to audit.", show_default=False)
    ] = None,
    config: ConfigOption = None,
    only: Annotated[
        list[str] | None,
        typer.Option(
            "--only",
            help="Families (comma-separated): permissions, config, secrets, environment, tls.",
            show_default=False,
        ),
    ] = None,
    tls: Annotated[
        list[str] | None,
        typer.Option("--tls", help="A live endpoint HOST:PORT (repeatable).", show_default=False),
    ] = None,
    ca_file: CaFileOpt = None,
    servername: ServernameOpt = None,
    fmt: FormatOpt = Format.table,
    output: OutputOpt = None,
    fail_on: FailOnOpt = None,
    baseline: BaselineOpt = None,
    revocation_host: RevocationOpt = None,
    exclude: Annotated[
        list[str] | None,
        typer.Option("--exclude", help="Glob to skip (repeatable).", show_default=False),
    ] = None,
    process_env: Annotated[
        bool,
        typer.Option(
            "--process-env/--no-process-env", help="Audit this process's environment variables."
        ),
    ] = True,
    proc_environ: Annotated[
        bool,
        typer.Option("--proc-environ", help="Also read /proc/<pid>/environ of your own processes."),
    ] = False,
    fix: Annotated[bool, typer.Option("--fix", help="Apply the proposed chmod fixes.")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask before --fix.")] = False,
    no_store: Annotated[bool, typer.Option("--no-store", help="Do not record the run.")] = False,
) -> None:
    """Run the audit (all families unless --only)."""
    code = _execute(
        paths=list(paths or []),
        config=config,
        only=only,
        tls=list(tls or []),
        ca_file=ca_file,
        servername=servername,
        fmt=fmt,
        output=output,
        fail_on=fail_on,
        baseline=baseline,
        revocation_hosts=revocation_host,
        exclude=exclude,
        process_env=process_env,
        proc_environ=proc_environ,
        fix=fix,
        yes=yes,
        save=not no_store,
    )
    raise typer.Exit(code)


@app.command("tls")
def tls_cmd(
    targets: Annotated[list[str], typer.Argument(help="HOST:PORT endpoints.")],
    config: ConfigOption = None,
    ca_file: CaFileOpt = None,
    servername: ServernameOpt = None,
    fmt: FormatOpt = Format.table,
    output: OutputOpt = None,
    fail_on: FailOnOpt = None,
    baseline: BaselineOpt = None,
    revocation_host: RevocationOpt = None,
    no_store: Annotated[bool, typer.Option("--no-store", help="Do not record the run.")] = False,
) -> None:
    """Audit live TLS endpoints only."""
    code = _execute(
        paths=[],
        config=config,
        only=["tls"],
        tls=targets,
        ca_file=ca_file,
        servername=servername,
        fmt=fmt,
        output=output,
        fail_on=fail_on,
        baseline=baseline,
        revocation_hosts=revocation_host,
        save=not no_store,
    )
    raise typer.Exit(code)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="audit")
