"""``prodshield chaos breaker`` and ``prodshield chaos db``: ready experiments with verdicts.

Each prints one line per property with its measured numbers, writes a journal (Chaos Toolkit's
shape) and optionally a JUnit file, and exits 0 when every property holds, 1 otherwise.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

ApiOption = Annotated[
    str,
    typer.Option("--api", envvar="PRODSHIELD_PROXY_API", help="URL of the fault proxy's API."),
]
JournalOption = Annotated[
    Path | None, typer.Option("--journal-path", help="Where to write the journal (JSON).")
]
JunitOption = Annotated[Path | None, typer.Option("--junit", help="Also write a JUnit XML report.")]
FormatOption = Annotated[str, typer.Option("--format", help="text or json.")]

app = typer.Typer()


def _finish(report: Any, journal_path: Path, junit: Path | None, output: str) -> None:
    from rich.markup import escape

    from prodshield.chaos.experiments import to_junit, write_journal
    from prodshield.cli.common import EXIT_FAILED, console, print_json
    from prodshield.text import one_line

    journal = report.to_journal()
    write_journal(journal, journal_path)
    if junit is not None:
        junit.write_text(to_junit(journal), encoding="utf-8")
    if output == "json":
        print_json(
            {
                "battery": report.battery,
                "target": report.target,
                "passed": report.passed,
                "checks": [
                    {
                        "name": c.name,
                        "passed": c.passed,
                        "skipped": c.skipped,
                        "summary": c.summary,
                        "measured": c.measured,
                    }
                    for c in report.checks
                ],
            }
        )
    else:
        out = console()
        for c in report.checks:
            mark = "n/a " if c.skipped else ("PASS" if c.passed else "FAIL")
            style = "yellow" if c.skipped else ("green" if c.passed else "bold red")
            out.print(
                f"[{style}]{mark}[/] {escape(one_line(f'{c.name}: {c.summary}'))}", markup=True
            )
        failed = sum(1 for c in report.checks if not c.passed and not c.skipped)
        verdict = "PASSED" if report.passed else f"FAILED ({failed} properties do not hold)"
        out.print(f"{report.battery} battery on {report.target}: {verdict}; journal {journal_path}")
    if not report.passed:
        import sys

        sys.exit(EXIT_FAILED)  # not typer.Exit, whose code is dropped in non-standalone mode


@app.command("breaker")
def breaker(
    service: Annotated[
        str,
        typer.Option(
            "--service",
            metavar="URL",
            help="URL of the service endpoint that uses the dependency.",
        ),
    ],
    dependency: Annotated[
        str, typer.Option("--dependency", help="Name of the proxy in front of the dependency.")
    ],
    api: ApiOption = "http://127.0.0.1:8474",
    health: Annotated[
        str | None,
        typer.Option("--health", help="Health URL (default: service origin /health)."),
    ] = None,
    threshold: Annotated[int, typer.Option("--threshold", help="Opens within N calls.")] = 5,
    open_latency_ms: Annotated[
        float, typer.Option("--open-latency-ms", help="The breaker's slow-call threshold.")
    ] = 500.0,
    recovery_s: Annotated[
        float, typer.Option("--recovery-s", help="Open time before half-open.")
    ] = 5.0,
    half_open_max: Annotated[
        int, typer.Option("--half-open-max", help="Trial calls allowed half-open.")
    ] = 1,
    fast_ms: Annotated[
        float, typer.Option("--fast-ms", help="A fast failure answers within this.")
    ] = 100.0,
    call_timeout: Annotated[
        float, typer.Option("--call-timeout", help="Bound on one call, seconds.")
    ] = 2.0,
    fault: Annotated[
        list[str] | None,
        typer.Option("--fault", help="reset_peer, timeout, down, latency (repeatable)."),
    ] = None,
    journal_path: JournalOption = None,
    junit: JunitOption = None,
    output: FormatOption = "text",
) -> None:
    """Check a service's circuit breaker from outside, through the fault proxy."""
    from prodshield.chaos.batteries.breaker import (
        BREAKER_FAULTS,
        BreakerOptions,
        run_breaker_battery,
    )
    from prodshield.errors import UsageError

    faults = tuple(fault or BREAKER_FAULTS)
    unknown = [f for f in faults if f not in BREAKER_FAULTS]
    if unknown:
        raise UsageError(f"unknown fault {unknown[0]!r} (known: {', '.join(BREAKER_FAULTS)})")
    report = run_breaker_battery(
        BreakerOptions(
            service=service,
            dependency=dependency,
            api=api,
            health=health,
            threshold=threshold,
            open_latency_ms=open_latency_ms,
            recovery_s=recovery_s,
            half_open_max=half_open_max,
            fast_ms=fast_ms,
            call_timeout=call_timeout,
            faults=faults,
        )
    )
    _finish(report, journal_path or Path("breaker-journal.json"), junit, output)


@app.command("db")
def db(
    dsn: Annotated[str, typer.Option("--dsn", help="postgresql:// URL of the database.")],
    proxy: Annotated[
        str, typer.Option("--proxy", help="Proxy in front of PostgreSQL (created if missing).")
    ] = "prodshield-db",
    api: ApiOption = "http://127.0.0.1:8474",
    service: Annotated[
        str | None,
        typer.Option(
            "--service",
            metavar="URL",
            help="Judge this service's API instead of the battery's client.",
        ),
    ] = None,
    seconds: Annotated[float, typer.Option("--seconds", help="Bank test length.")] = 10.0,
    seed: Annotated[int, typer.Option("--seed", help="Seed of faults and transfers.")] = 1,
    workers: Annotated[int, typer.Option("--workers", help="Concurrent clients.")] = 2,
    accounts: Annotated[int, typer.Option("--accounts", help="Bank accounts.")] = 8,
    pool_size: Annotated[int, typer.Option("--pool-size", help="Pool size N.")] = 4,
    acquire_timeout: Annotated[
        float, typer.Option("--acquire-timeout", help="The pool's acquire timeout.")
    ] = 0.5,
    check: Annotated[
        list[str] | None,
        typer.Option("--check", help="bank, mid-transaction, pool (repeatable)."),
    ] = None,
    journal_path: JournalOption = None,
    junit: JunitOption = None,
    output: FormatOption = "text",
) -> None:
    """PostgreSQL resilience through the fault proxy: bank invariant, drops, pool exhaustion."""
    from prodshield.chaos.batteries.db import DbOptions, run_db_battery
    from prodshield.errors import UsageError

    checks = tuple(check or ("bank", "mid-transaction", "pool"))
    unknown = [c for c in checks if c not in ("bank", "mid-transaction", "pool")]
    if unknown:
        raise UsageError(f"unknown check {unknown[0]!r} (known: bank, mid-transaction, pool)")
    if seconds <= 0 or workers < 1 or accounts < 2:
        raise UsageError("--seconds must be > 0, --workers >= 1 and --accounts >= 2")
    report = run_db_battery(
        DbOptions(
            dsn=dsn,
            api=api,
            proxy=proxy,
            seconds=seconds,
            seed=seed,
            workers=workers,
            accounts=accounts,
            service=service,
            pool_size=pool_size,
            acquire_timeout=acquire_timeout,
            checks=checks,
        )
    )
    _finish(report, journal_path or Path("db-journal.json"), junit, output)
