"""``prodshield audit``: the security and configuration audit group, and the post-deploy gate.

``prodshield audit [PATH...] [options]`` runs every family (the hidden ``run`` command, chosen by
`_DefaultToRun` whenever the first word is not a subcommand); ``prodshield audit tls HOST:PORT...``
probes endpoints only; ``prodshield audit secrets PATH...`` and ``prodshield audit baseline`` are
the secret scanner's own commands (files, trees, gz logs, stdin, git history). Exit codes: 0
nothing at or above ``--fail-on``, 1 findings at or above it, 2 usage or config error, 3 nothing
checked (a TLS-only run whose every endpoint could not be reached).
"""

from __future__ import annotations

import io
import os
import sys
import textwrap
from dataclasses import replace
from enum import StrEnum
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup

from prodshield.cli.common import (
    EXIT_ERROR,
    EXIT_FAILED,
    EXIT_OK,
    ConfigOption,
    console,
    plural,
    print_json,
    store_for,
    write_out,
)
from prodshield.errors import NotFound, UsageError
from prodshield.secrets.baseline import load_baseline, only_new, parse_date, write_baseline
from prodshield.secrets.files import BinaryContent, ScanConfig, scan_paths, scan_stream
from prodshield.secrets.finding import SEVERITY_RANK, SecretFinding
from prodshield.secrets.history import commit_range, scan_git_history
from prodshield.secrets.places import join
from prodshield.secrets.report import FORMATS, render, sort_findings
from prodshield.text import for_terminal, one_line

if TYPE_CHECKING:
    from prodshield.audit import AuditReport
    from prodshield.config import LoadedConfig
    from prodshield.config.capabilities import AuditConfig, SecretVerifyConfig


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
    help="Security and configuration audit: the post-deploy gate. "
    "`prodshield audit [PATH...] [OPTIONS]` runs every family (see `prodshield audit run --help`); "
    "exit 0 = pass, 1 = findings at or above --fail-on, 2 = usage/config error, "
    "3 = nothing checked (every TLS endpoint unreachable).",
    invoke_without_command=True,
    no_args_is_help=False,
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
SinceCommitOpt = Annotated[
    str | None,
    typer.Option(
        "--since-commit",
        metavar="REV",
        help="Scan only lines added by the commits after REV up to HEAD (implies --git).",
    ),
]
RangeOpt = Annotated[
    str | None,
    typer.Option(
        "--range",
        metavar="BASE..TIP",
        help="Scan only lines added by the commits in BASE..TIP, as in a pull request "
        "(implies --git).",
    ),
]
TestsOpt = Annotated[
    bool, typer.Option("--include-tests", help="Also report under test/fixture dirs.")
]
NoIgnoreOpt = Annotated[
    bool, typer.Option("--no-gitignore", help="Scan files .gitignore excludes.")
]


def load_checked(config: Path | None) -> LoadedConfig:
    """The config, loaded when a command needs it (the loader is not imported at start-up). The
    audit sends nothing and runs no check: an unset ``${VAR}`` in notifiers or checks does not
    stop it (`READ_ONLY_COMMANDS`)."""
    from prodshield.cli.common import load

    return load(config)


def _audit_section(config: Path | None) -> AuditConfig | None:
    """The ``audit:`` section when a config is given or found; None when there is no config."""
    if (
        config is None
        and not os.environ.get("PRODSHIELD_CONFIG")
        and not os.path.isfile("shield.yaml")
    ):
        return None  # as find_config would say, without importing the schema (most of start-up)
    try:
        return load_checked(config).config.audit
    except NotFound:
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
    paths: list[str],
    scan: ScanConfig,
    *,
    git: bool,
    respect_gitignore: bool,
    since_commit: str | None = None,
    revision_range: str | None = None,
    stdin: IO[bytes] | None = None,
) -> list[SecretFinding]:
    from prodshield.audit.rules.environment import dotenv_findings, dotenv_text_findings

    findings: list[SecretFinding] = []
    scanner = scan.scanner()
    for given in paths:
        if given == "-":
            try:
                stream = stdin if stdin is not None else sys.stdin.buffer
                findings.extend(scan_stream(stream, path="-", scanner=scanner))
            except BinaryContent:
                raise UsageError("stdin: binary data, not scanned") from None
        elif git or since_commit or revision_range:
            if not Path(given).is_dir():
                raise UsageError(f"{given}: --git needs a repository directory")
            rev = commit_range(given, since_commit=since_commit, revision_range=revision_range)
            findings.extend(
                scan_git_history(given, scanner=scanner, rev=rev, also=dotenv_text_findings)
            )
        else:
            if not Path(given).exists():
                raise UsageError(f"{given}: no such file or directory")
            findings.extend(
                scan_paths(
                    [given],
                    respect_gitignore=respect_gitignore,
                    config=scan,
                    scanner=scanner,
                    also=dotenv_findings,
                )
            )
    return findings


def _placed_sources(
    findings: list[SecretFinding],
    scan: ScanConfig,
    *,
    environ: bool,
    pids: list[int] | None,
    logs: list[str] | None,
    operator_variables: frozenset[str] = frozenset(),
) -> list[SecretFinding]:
    """With ``--environ``/``--pid``/``--log``: the findings of every source, each naming its
    place (file, commit, process variable, log line), ready to be joined per secret. The
    operator's variables (``PRODSHIELD_*``, shield.yaml's ``${VAR}``) are skipped as ``audit``
    skips them, each named with the reason."""
    if not (environ or pids or logs):
        return findings
    from prodshield.audit.rules.environment import operator_reason, proc_subjects
    from prodshield.secrets.places import environment_findings, placed

    out = placed(findings, "file")
    scanner = scan.scanner()
    if environ or pids:
        me = os.getpid()
        read = set()
        for subject in proc_subjects(only=pids or None):
            read.add(subject.pid)
            if subject.pid == me:
                continue
            variables = []
            for name, value, _ in subject.variables:
                why = operator_reason(name, operator_variables)
                if why is None:
                    variables.append((name, value))
                elif environment_findings([(name, value)], pid=subject.pid, scanner=scanner):
                    scan.errors.append(f"pid:{subject.pid} env:{name}: {why}")
            out.extend(environment_findings(variables, pid=subject.pid, scanner=scanner))
        for pid in [p for p in pids or [] if p not in read]:  # a gate must not pass unread
            raise UsageError(f"--pid {pid}: no process of yours with a readable environment")
    for log in logs or []:
        if not Path(log).is_file():
            raise UsageError(f"--log {log}: no such file")
        log_scan = replace(scan, include_tests=True, exclude=())
        out.extend(placed(scan_paths([log], respect_gitignore=False, config=log_scan), "log"))
    return out


def _configured_logs(config: Path | None) -> list[str]:
    """The existing files behind shield.yaml's ``logs.sources`` (``--config-logs``)."""
    from prodshield.logs.sources.configured import configured_files

    loaded = load_checked(config)
    files = [c.path for c in configured_files(loaded.config.logs, loaded.base_dir)]
    found = [p for p in dict.fromkeys(files) if os.path.isfile(p)]
    if not found:
        raise UsageError(f"--config-logs: {loaded.path} names no existing log file (logs.sources)")
    return found


def _verified(
    reported: list[SecretFinding],
    everything: list[SecretFinding],
    scan: ScanConfig,
    settings: SecretVerifyConfig | None,
) -> list[SecretFinding]:
    """The reported findings with their verdicts, plus every suppressed finding whose secret is
    live (an allow comment, an allowed rule or the baseline does not hide a working secret)."""
    from prodshield.config.capabilities import SecretVerifyConfig
    from prodshield.secrets.verification import VerifySettings, verify_values, with_verdicts

    cfg = settings or SecretVerifyConfig()
    wanted = {f.secret_id for f in everything}
    values = {sid: pair for sid, pair in (scan.values or {}).items() if sid in wanted}
    verdicts = verify_values(
        values,
        VerifySettings(
            timeout=cfg.timeout,
            concurrency=cfg.concurrency,
            max_secrets=cfg.max_secrets,
            base_urls=dict(cfg.base_urls),
        ),
    )
    values.clear()
    if scan.values is not None:
        scan.values.clear()
    shown = with_verdicts(reported, verdicts)
    seen = {(f.fingerprint, f.line, f.commit, f.places) for f in reported}
    for f in with_verdicts(everything, verdicts):
        if f.live and f.verification and (f.fingerprint, f.line, f.commit, f.places) not in seen:
            why = f"{f.verification.reason}; reported although suppressed (baseline or allow)"
            shown.append(replace(f, verification=replace(f.verification, reason=why)))
    return shown


@app.command("secrets")
def secrets(
    paths: PathsArg = None,
    fmt: FormatOpt = "table",
    baseline: Annotated[
        Path | None, typer.Option("--baseline", help="Report only findings not in this baseline.")
    ] = None,
    fail_on: FailOnOpt = None,
    git: GitOpt = False,
    since_commit: SinceCommitOpt = None,
    revision_range: RangeOpt = None,
    strict: Annotated[
        bool,
        typer.Option(
            "--strict",
            help="Ignore inline allow comments; refuse baseline entries without a reason "
            "or an expiry.",
        ),
    ] = False,
    include_tests: TestsOpt = False,
    no_gitignore: NoIgnoreOpt = False,
    verify: Annotated[
        bool | None,
        typer.Option(
            "--verify/--no-verify",
            help="Ask each provider (GitHub, GitLab, Slack, Stripe, OpenAI, SendGrid, npm) "
            "whether the secrets found still work; a live one always fails the gate. "
            "Default: audit.secrets.verify.enabled.",
            show_default=False,
        ),
    ] = None,
    environ: Annotated[
        bool,
        typer.Option(
            "--environ",
            help="Also read the environments of your own running processes "
            "(/proc/PID/environ); one finding per secret lists every place.",
        ),
    ] = False,
    pids: Annotated[
        list[int] | None,
        typer.Option("--pid", metavar="PID", help="Only this process's environment (repeatable)."),
    ] = None,
    logs: Annotated[
        list[str] | None,
        typer.Option(
            "--log",
            metavar="FILE",
            help="Also scan this production log (plain or .gz; repeatable); one finding per "
            "secret lists every place.",
        ),
    ] = None,
    config_logs: Annotated[
        bool,
        typer.Option(
            "--config-logs",
            help="Also scan the log files shield.yaml's logs.sources name, as --log does.",
        ),
    ] = False,
    config: ConfigOption = None,
) -> None:
    """Find leaked credentials in files, trees, gz logs, stdin or git history.

    `--since-commit REV` or `--range BASE..TIP` scan only the lines added by those commits (a pull
    request's), each finding naming its commit and file:line. With `--environ`/`--pid` and
    `--log`, the same secret found in several places is one finding listing them all."""
    if fmt not in FORMATS:
        raise UsageError(f"--format: expected one of {', '.join(FORMATS)}, not {fmt!r}")
    audit = _audit_section(config)
    verify_cfg = audit.secrets.verify if audit else None
    verifying = verify if verify is not None else bool(verify_cfg and verify_cfg.enabled)
    scan = ScanConfig.from_audit(audit, include_tests=include_tests, strict=strict)
    if verifying:
        scan = replace(scan, values={})
    targets = paths or (audit.paths if audit and audit.paths else ["."])
    git_history = git or bool(audit and audit.secrets.git_history)
    if config_logs:
        logs = [*(logs or []), *_configured_logs(config)]
    loaded = _optional_config(config) if environ or pids else None
    operators = loaded.variables if loaded is not None else frozenset()

    # Verification scans twice (as configured, then unrestricted): stdin is kept for the second.
    kept_stdin = sys.stdin.buffer.read() if verifying and "-" in targets else None

    def collect(settings: ScanConfig) -> list[SecretFinding]:
        found = _collect(
            targets,
            settings,
            git=git_history,
            respect_gitignore=not no_gitignore,
            since_commit=since_commit,
            revision_range=revision_range,
            stdin=io.BytesIO(kept_stdin) if kept_stdin is not None else None,
        )
        return _placed_sources(
            found, settings, environ=environ, pids=pids, logs=logs, operator_variables=operators
        )

    findings = collect(scan)
    everything = findings
    if verifying:
        # A live secret fails the gate even where an inline allow comment, an allowed rule or
        # the baseline hides it: the unrestricted scan finds those too.
        unrestricted = replace(scan, strict=True, allow_rules=frozenset(), counters={}, errors=[])
        everything = collect(unrestricted)
    baseline_file = baseline or (
        Path(audit.secrets.baseline) if audit and audit.secrets.baseline else None
    )
    expired: tuple[str, ...] = ()
    if baseline_file is not None:
        accepted = load_baseline(baseline_file, strict=strict)
        before = len(findings)
        findings = list(only_new(findings, accepted.fingerprints))
        if before > len(findings):
            scan.counters["baseline_suppressed"] = before - len(findings)
        expired = accepted.expired
        if expired:
            scan.counters["baseline_expired"] = len(expired)
    if verifying:
        findings = _verified(findings, everything, scan, verify_cfg)
    if environ or pids or logs:
        findings = join(findings)
    findings = sort_findings(findings)
    render(findings, fmt, console(), stats=scan.counters)
    for problem in scan.errors:
        console(stderr=True).print(one_line(f"skipped {problem}"), markup=False, highlight=False)
    for entry in expired:
        console(stderr=True).print(
            f"baseline {baseline_file}: {entry}; no longer suppressed", markup=False
        )
    code = _gate(findings, fail_on or (audit.fail_on if audit else "high"))
    live = [f for f in findings if f.live]
    if live:
        console(stderr=True).print(
            f"{plural(len(live), 'live secret')}: the gate fails whatever --fail-on, baseline "
            "or allow comments say; revoke and rotate",
            markup=False,
        )
        code = EXIT_FAILED
    if code:
        # SystemExit, not typer.Exit: main() runs click with standalone_mode=False, which turns
        # typer.Exit into a return value that would be lost.
        raise SystemExit(code)


@app.command("baseline")
def baseline_cmd(
    paths: PathsArg = None,
    output: Annotated[Path, typer.Option("--output", "-o", help="Baseline file to write.")] = Path(
        ".prodshield-baseline.json"
    ),
    reason: Annotated[
        str,
        typer.Option("--reason", help="Why these findings are accepted (stored on each entry)."),
    ] = "",
    expires: Annotated[
        str | None,
        typer.Option(
            "--expires",
            metavar="YYYY-MM-DD",
            help="When the acceptance ends and the findings are reported again (default: in "
            "90 days).",
        ),
    ] = None,
    git: GitOpt = False,
    include_tests: TestsOpt = False,
    config: ConfigOption = None,
) -> None:
    """Record the current secret findings as accepted (by fingerprint, never by value), each
    with a reason and an expiry date."""
    if not reason.strip():
        raise UsageError("--reason: say why these findings are accepted (stored on each entry)")
    until = parse_date(expires, "--expires") if expires else None
    audit = _audit_section(config)
    scan = ScanConfig.from_audit(audit, include_tests=include_tests)
    targets = paths or (audit.paths if audit and audit.paths else ["."])
    findings = _collect(targets, scan, git=git, respect_gitignore=True)
    count = write_baseline(output, findings, reason=reason.strip(), expires=until)
    console(stderr=True).print(f"baseline: {plural(count, 'fingerprint')} written to {output}")


# --- the full audit and the TLS shortcut -------------------------------------------------


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


ReportFormatOpt = Annotated[
    Format,
    typer.Option("--format", "-f", help="Report format: table, json, sarif, markdown or junit."),
]
OutputOpt = Annotated[
    Path | None,
    typer.Option("--output", "-o", help="Write the report to FILE.", show_default=False),
]
GateOpt = Annotated[
    FailOn | None,
    typer.Option(
        "--fail-on",
        help="Exit 1 when a finding is at or above this severity: critical, high, medium or "
        "low (default: audit.fail_on, else high).",
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
ReportOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--report",
        metavar="FORMAT:FILE",
        help="Also write the report in FORMAT to FILE, from the same run (repeatable), "
        "e.g. --report sarif:audit.sarif --report markdown:audit.md.",
        show_default=False,
    ),
]


def parse_reports(values: list[str] | None) -> list[tuple[Format, Path]]:
    """``--report FORMAT:FILE`` values as (format, path) pairs; a usage error names the bad one."""
    out = []
    for value in values or []:
        name, sep, file = value.partition(":")
        if not sep or not file:
            raise UsageError(f"--report {value}: expected FORMAT:FILE, e.g. sarif:audit.sarif")
        try:
            fmt = Format(name.strip().lower())
        except ValueError:
            known = ", ".join(f.value for f in Format)
            raise UsageError(
                f"--report {value}: unknown format {name!r} (known: {known})"
            ) from None
        out.append((fmt, Path(file)))
    return out


def _optional_config(path: Path | None) -> LoadedConfig | None:
    """-c / $PRODSHIELD_CONFIG / ./shield.yaml when present; the audit also runs without one."""
    from prodshield.config.loader import find_config

    if path is None:
        try:
            find_config(None)
        except NotFound:
            return None
    return load_checked(path)


def _fix_permissions(report: AuditReport, yes: bool, err: Any) -> bool:
    """``--fix``: list the permission fixes, apply them when confirmed; True when applied."""
    from prodshield.audit.rules.permissions import apply_fixes, plan_fixes

    fixes = plan_fixes(report.findings, report.root or Path.cwd())
    if not fixes:
        err.print("--fix: no permission fixes to apply")
        return False
    for fx in fixes:
        err.print(for_terminal(f"  {fx.describe()}"), markup=False)
    if not (yes or (sys.stdin.isatty() and typer.confirm(f"Apply {plural(len(fixes), 'chmod')}?"))):
        err.print("--fix: not applied (confirm interactively or pass --yes)")
        return False
    problems = apply_fixes(fixes)
    for p in problems:
        err.print(for_terminal(f"--fix: {p}"), markup=False)
    err.print(f"--fix: applied {len(fixes) - len(problems)} of {len(fixes)}")
    return True


def _write_reports(report: AuditReport, targets: list[tuple[Format, Path]], gate: str) -> list[str]:
    """Each report file asked for (``--report``, ``-o``); the paths written."""
    from prodshield.audit import render

    written = []
    for extra_fmt, path in targets:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(render(report, extra_fmt.value, gate), encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
        written.append(str(path))
    return written


def _written_line(report: AuditReport, gate: str, written: list[str]) -> str:
    """The verdict said on stderr when the reports went to files."""
    from prodshield.audit.scan import unreachable_note

    summary = report.summary(gate)
    counts = ", ".join(f"{n} {k}" for k, n in summary["by_severity"].items() if n)
    note = unreachable_note(report)
    if report.nothing_checked:
        return f"audit: {note} -> {', '.join(written)}"
    return (
        f"audit {'FAILED' if summary['failed'] else 'passed'}: "
        f"{plural(summary['total'], 'finding')}{f' ({counts})' if counts else ''}"
        f"{f'; {note}' if note else ''} -> {', '.join(written)}"
    )


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
    files_from_config: bool = True,
    reports: list[tuple[Format, Path]] | None = None,
    strict: bool = False,
    verify_secrets: bool | None = None,
) -> int:
    from prodshield.audit import audit, render, settings_from_config
    from prodshield.audit.history import save_run
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
    settings.strict = strict
    settings.verify_secrets = verify_secrets
    if loaded is not None:
        settings.operator_variables = loaded.variables
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
            config_paths=files_from_config,
            fix_from=Path.cwd(),  # a proposed chmod works as typed here
        )

    def anchored(report: AuditReport) -> AuditReport:
        if loaded is not None and report.root is not None:
            try:
                report.anchor = loaded.path.resolve().relative_to(report.root.resolve()).as_posix()
            except ValueError:
                report.anchor = None  # the config lies outside the audited tree
        return report

    report = anchored(run_once())
    err = console(stderr=True)
    if fix and _fix_permissions(report, yes, err):
        report = anchored(run_once())

    written = _write_reports(
        report, [*(reports or []), *([(fmt, output)] if output is not None else [])], gate
    )
    if output is None:
        if fmt is Format.table:
            from prodshield.audit import Severity
            from prodshield.audit.reports import table as table_report

            # as wide as the terminal (80 columns in a pipe without $COLUMNS; $COLUMNS=60 is
            # honoured: the narrow layout wraps between words)
            width = max(40, console().width)
            write_out(table_report.render(report, Severity(gate), width=width))
        else:
            write_out(render(report, fmt.value, gate))
    if written:
        err.print(_written_line(report, gate, written))
    if save and loaded is not None:
        store = store_for(loaded)
        try:
            save_run(store, report, gate)
        finally:
            store.close()
    return _exit_code(report, gate)


def _exit_code(report: AuditReport, gate: str) -> int:
    """1 at or above the gate; 3 when every endpoint of a TLS-only run was unreachable (a gate
    that checked nothing must not pass); else 0."""
    if report.failed(gate):
        return EXIT_FAILED
    return EXIT_ERROR if report.nothing_checked else EXIT_OK


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
    fmt: ReportFormatOpt = Format.table,
    output: OutputOpt = None,
    fail_on: GateOpt = None,
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
    report: ReportOpt = None,
    strict: Annotated[
        bool,
        typer.Option(
            "--strict",
            help="Ignore inline allow comments; refuse baseline entries without a reason "
            "or an expiry.",
        ),
    ] = False,
    verify: Annotated[
        bool | None,
        typer.Option(
            "--verify/--no-verify",
            help="Ask each provider whether the secrets found still work; a live one is "
            "critical and never suppressed. Default: audit.secrets.verify.enabled.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Run the audit (all families unless --only)."""
    reports = parse_reports(report)
    code = _execute(
        verify_secrets=verify,
        strict=strict,
        reports=reports,
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
    if code:
        raise SystemExit(code)  # see `secrets`: typer.Exit would be lost


@app.command("tls")
def tls_cmd(
    targets: Annotated[list[str], typer.Argument(help="HOST:PORT endpoints.")],
    config: ConfigOption = None,
    ca_file: CaFileOpt = None,
    servername: ServernameOpt = None,
    fmt: ReportFormatOpt = Format.table,
    output: OutputOpt = None,
    fail_on: GateOpt = None,
    baseline: BaselineOpt = None,
    revocation_host: RevocationOpt = None,
    no_store: Annotated[bool, typer.Option("--no-store", help="Do not record the run.")] = False,
    report: ReportOpt = None,
) -> None:
    """Audit live TLS endpoints only (exit 3 when none of them could be reached)."""
    reports = parse_reports(report)
    code = _execute(
        reports=reports,
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
        files_from_config=False,
    )
    if code:
        raise SystemExit(code)  # see `secrets`: typer.Exit would be lost


class HistoryFormat(StrEnum):
    table = "table"
    json = "json"


def _when(ts: float | None) -> str:
    import datetime as dt

    if not ts:
        return "-"
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d %H:%M")


def _changes(title: str, findings: list[dict[str, Any]]) -> None:
    out = console()
    out.print(title)
    for f in findings:
        where = f.get("target") or (
            f"{f['path']}:{f['line']}" if f.get("path") and f.get("line") else f.get("path")
        )
        out.print(for_terminal(f"  {f['severity']:<8} {f['rule']}  {where or '-'}"), markup=False)


def _result(run: dict[str, Any]) -> str:
    """passed / FAILED (``*``: only some families checked) / nothing checked."""
    if run["nothing_checked"]:
        return "nothing checked"
    return ("passed" if run["passed"] else "FAILED") + ("*" if run["partial"] else "")


def _against(compared_with: dict[str, int | None]) -> tuple[str, list[str]]:
    """``run 2``, or ``each family's last run`` and a line per run
    (``permissions, config: run 4``) when they differ; a family no earlier run checked is left
    out."""
    by_run: dict[int, list[str]] = {}
    for family, run_id in compared_with.items():
        if run_id is not None:
            by_run.setdefault(run_id, []).append(family)
    if len(by_run) == 1:
        return f"run {next(iter(by_run))}", []
    return "each family's last run", [
        f"  {', '.join(families)}: run {run_id}"
        for run_id, families in sorted(by_run.items(), reverse=True)
    ]


@app.command("history")
def history_cmd(
    config: ConfigOption = None,
    limit: Annotated[
        int,
        typer.Option("--limit", "-n", metavar="N", min=1, help="Show the N most recent runs."),
    ] = 10,
    fmt: Annotated[
        HistoryFormat, typer.Option("--format", "-f", help="table | json.")
    ] = HistoryFormat.table,
) -> None:
    """Stored audit runs with their counts, and what is new or fixed since the previous run.

    Runs are stored by `prodshield audit` whenever a shield.yaml is used (not with --no-store).
    A folder named `history` is audited with `prodshield audit ./history`.
    """
    from rich import box
    from rich.table import Table

    from prodshield.audit.history import history

    loaded = load_checked(config)
    store = store_for(loaded)
    try:
        data = history(store, limit=limit)
    finally:
        store.close()
    if fmt is HistoryFormat.json:
        print_json(data)
        return
    out = console()
    if not data["runs"]:
        out.print("no audit runs stored yet: run `prodshield audit` with this shield.yaml")
        return
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    # total = crit + high + med + low: left out of the table so that it fits 80 columns
    for col in ("run", "when (UTC)", "gate", "result", "crit", "high", "med", "low"):
        left = col in ("when (UTC)", "gate", "result")
        table.add_column(col, justify="left" if left else "right", no_wrap=True)
    table.add_column("new", justify="right", no_wrap=True)
    table.add_column("fixed", justify="right", no_wrap=True)
    for r in data["runs"]:
        sev = r["by_severity"]
        table.add_row(
            str(r["id"]),
            _when(r["started_at"]),
            str(r["fail_on"] or "-"),
            _result(r),
            str(sev["critical"]),
            str(sev["high"]),
            str(sev["medium"]),
            str(sev["low"]),
            "-" if r["new"] is None else str(r["new"]),
            "-" if r["fixed"] is None else str(r["fixed"]),
        )
    out.print(table)
    partial = [r for r in data["runs"] if r["partial"] and not r["nothing_checked"]]
    for r in partial:
        note = (
            f"* run {r['id']} checked only {', '.join(r['families'])}: the other families are"
            " not compared with it"
        )
        out.print(textwrap.fill(note, width=79, subsequent_indent="  "))
    latest = data["latest"]
    if latest and latest["nothing_checked"]:
        out.print(
            f"run {latest['id']} checked nothing (no endpoint could be reached): no verdict,"
            " and the next run is compared with the last run that checked something"
        )
    elif latest and latest["previous"] is not None:
        against, per_run = _against(latest["compared_with"])
        head = f"run {latest['id']} against {against}:"
        if not latest["new"] and not latest["fixed"]:
            out.print(f"{head} nothing new, nothing fixed")
        else:
            out.print(f"{head} {len(latest['new'])} new, {len(latest['fixed'])} fixed")
        for line in per_run:
            out.print(line)
        if latest["new"]:
            _changes("new:", latest["new"])
        if latest["fixed"]:
            _changes("fixed:", latest["fixed"])
