"""``prodshield audit``: the security and configuration audit group.

Structure, so other audit families can join: `audit_app` is the group; each family adds one
command with `@audit_app.command(...)` (here: ``secrets`` and ``baseline``). Shared pieces for every
family: `_audit_section` (the optional shield.yaml ``audit:`` section), `_gate` (exit code from
``--fail-on``) and the report writers in `prodshield.secrets.report` (SARIF via `sarif_log`).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from prodshield.cli.common import EXIT_FAILED, EXIT_OK, ConfigOption, console
from prodshield.config import load_config
from prodshield.config.capabilities import AuditConfig
from prodshield.errors import UsageError
from prodshield.secrets.baseline import load_baseline, only_new, write_baseline
from prodshield.secrets.files import BinaryContent, ScanConfig, scan_paths, scan_stream
from prodshield.secrets.finding import SEVERITY_RANK, SecretFinding
from prodshield.secrets.history import scan_git_history
from prodshield.secrets.report import FORMATS, render, sort_findings

audit_app = typer.Typer(
    help="Security and configuration audit: the post-deploy gate.", no_args_is_help=True
)

PathsArg = Annotated[
    list[str] | None,
    typer.Argument(
        help="Files or directories to scan ('-' reads stdin). Default: audit.paths or '.'."
    ),
]
FormatOpt = Annotated[str, typer.Option("--format", "-f", help="table | json | sarif | markdown")]
FailOnOpt = Annotated[
    str | None,
    typer.Option(
        "--fail-on", help="Exit 1 when a finding is at or above: critical|high|medium|low|none."
    ),
]
GitOpt = Annotated[
    bool, typer.Option("--git", help="Scan the git history of each PATH (added lines).")
]
TestsOpt = Annotated[
    bool, typer.Option("--include-tests", help="Also report under test/fixture dirs.")
]
NoIgnoreOpt = Annotated[
    bool, typer.Option("--no-gitignore", help="Scan files .gitignore excludes.")
]


def _audit_section(config: Path | None) -> AuditConfig | None:
    """The ``audit:`` section when a config is given or found; None when there is no config."""
    try:
        return load_config(config).config.audit
    except UsageError:
        if config is not None:
            raise
        return None


def _gate(findings: list[SecretFinding], fail_on: str) -> int:
    if fail_on == "none":
        return EXIT_OK
    if fail_on not in SEVERITY_RANK:
        raise UsageError(
            f"--fail-on: expected critical, high, medium, low or none, not {fail_on!r}"
        )
    threshold = SEVERITY_RANK[fail_on]
    return EXIT_FAILED if any(SEVERITY_RANK[f.severity] >= threshold for f in findings) else EXIT_OK


def _collect(
    paths: list[str], scan: ScanConfig, *, git: bool, respect_gitignore: bool
) -> list[SecretFinding]:
    findings: list[SecretFinding] = []
    scanner = scan.scanner()
    for given in paths:
        if given == "-":
            try:
                findings.extend(scan_stream(sys.stdin.buffer, path="-", scanner=scanner))
            except BinaryContent:
                raise UsageError("stdin: binary data, not scanned") from None
        elif git:
            findings.extend(scan_git_history(given, scanner=scanner))
        else:
            if not Path(given).exists():
                raise UsageError(f"{given}: no such file or directory")
            findings.extend(scan_paths([given], respect_gitignore=respect_gitignore, config=scan))
    return findings


@audit_app.command("secrets")
def secrets(
    paths: PathsArg = None,
    fmt: FormatOpt = "table",
    baseline: Annotated[
        Path | None, typer.Option("--baseline", help="Report only findings not in this baseline.")
    ] = None,
    fail_on: FailOnOpt = None,
    git: GitOpt = False,
    include_tests: TestsOpt = False,
    no_gitignore: NoIgnoreOpt = False,
    config: ConfigOption = None,
) -> None:
    """Find leaked credentials in files, trees, gz logs, stdin or git history."""
    if fmt not in FORMATS:
        raise UsageError(f"--format: expected one of {', '.join(FORMATS)}, not {fmt!r}")
    audit = _audit_section(config)
    scan = ScanConfig.from_audit(audit, include_tests=include_tests)
    targets = paths or (audit.paths if audit and audit.paths else ["."])
    findings = _collect(
        targets,
        scan,
        git=git or bool(audit and audit.secrets.git_history),
        respect_gitignore=not no_gitignore,
    )
    baseline_file = baseline or (
        Path(audit.secrets.baseline) if audit and audit.secrets.baseline else None
    )
    if baseline_file is not None:
        findings = list(only_new(findings, load_baseline(baseline_file)))
    findings = sort_findings(findings)
    render(findings, fmt, console(), stats=scan.counters)
    for problem in scan.errors:
        console(stderr=True).print(f"skipped {problem}")
    code = _gate(findings, fail_on or (audit.fail_on if audit else "high"))
    if code:
        # SystemExit, not typer.Exit: main() runs click with standalone_mode=False, which turns
        # typer.Exit into a return value that would be lost.
        raise SystemExit(code)


@audit_app.command("baseline")
def baseline_cmd(
    paths: PathsArg = None,
    output: Annotated[Path, typer.Option("--output", "-o", help="Baseline file to write.")] = Path(
        ".prodshield-baseline.json"
    ),
    git: GitOpt = False,
    include_tests: TestsOpt = False,
    config: ConfigOption = None,
) -> None:
    """Record the current secret findings as accepted (by fingerprint, never by value)."""
    audit = _audit_section(config)
    scan = ScanConfig.from_audit(audit, include_tests=include_tests)
    targets = paths or (audit.paths if audit and audit.paths else ["."])
    findings = _collect(targets, scan, git=git, respect_gitignore=True)
    count = write_baseline(output, findings)
    console(stderr=True).print(f"baseline: {count} fingerprints written to {output}")


def register(app: typer.Typer) -> None:
    app.add_typer(audit_app, name="audit")
