"""``prodshield monitor``: run checks once, run the scheduler, show the status."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.text import Text

from prodshield.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    ConfigOption,
    Grid,
    LocationOption,
    apply_location,
    console,
    load,
    plural,
    print_json,
    store_for,
    styled,
    untrusted,
    write_out,
)
from prodshield.config.types import format_duration, format_elapsed, write_duration
from prodshield.text import for_terminal, percent

if TYPE_CHECKING:
    from prodshield.monitor.result import CheckResult
    from prodshield.monitor.scheduler import Scheduler
# The monitor library (aiohttp, psycopg, dnspython...) is imported inside the commands, so other
# command groups start fast.

app = typer.Typer(help="Health checks, incidents and uptime statistics.", no_args_is_help=True)


class Format(StrEnum):
    table = "table"
    json = "json"


CheckOption = Annotated[
    list[str] | None,
    typer.Option(
        "--check", help="Only this check (repeat for several).", show_default=False, metavar="NAME"
    ),
]
EnvOption = Annotated[
    str | None, typer.Option("--env", help="Only this environment.", show_default=False)
]
EnvsOption = Annotated[
    list[str] | None,
    typer.Option(
        "--env",
        help="Only this environment (repeat for several).",
        show_default=False,
        metavar="ENV",
    ),
]


def _ms(v: float | None) -> str:
    return "-" if v is None else f"{v:.0f} ms" if v >= 10 else f"{v:.1f} ms"


def _render(results: list[CheckResult], held: Sequence[str | None] = ()) -> None:
    """The results as a table; ``held[i]`` names the maintenance window result ``i`` was taken
    in (a failure there is not counted: the table says so)."""
    from prodshield.monitor.heartbeats import WAITING_LABEL

    table = Grid(
        "check",
        "env",
        "result",
        "time",
        "details",
        # the result may wrap ("failed" over "(condition)") so that a condition's placeholder
        # ([CERTIFICATE_EXPIRATION]) stays whole in the details at 80 columns
        keys=("check", "env", "time"),
        right=("time",),
    )
    not_counted = 0
    for i, r in enumerate(results):
        window = held[i] if i < len(held) else None
        if r.ok and r.details.get("waiting"):
            status, detail = Text("waiting"), Text(WAITING_LABEL + " (see `monitor heartbeats`)")
        elif r.ok:
            status, detail = styled("ok", "green"), Text("")
        else:
            kind = r.error.kind if r.error else "?"
            detail = untrusted(r.error.message if r.error else "")
            if window is not None:
                not_counted += 1
                status = styled(f"failed ({kind})", "blue")
                detail = Text(f"in maintenance window {window}, not counted: ") + detail
            elif r.degraded:  # answered, failed only on quality: degraded, as monitor status says
                status = styled(f"degraded ({kind})", "yellow")
            else:
                status = styled(f"failed ({kind})", "red")
        took = "-" if r.details.get("waiting") else _ms(r.response_time_ms)
        table.add_row(r.check, r.environment or "-", status, took, detail)
    table.print()
    if not_counted:
        console().print(
            f"{plural(not_counted, 'failure')} in a maintenance window: not counted "
            "(no incident, not a failed run)",
            markup=False,
        )


@app.command("once")
def once(
    config: ConfigOption = None,
    check: CheckOption = None,
    env: EnvsOption = None,
    fmt: Annotated[Format, typer.Option("--format", help="table or json.")] = Format.table,
    notify_wait: Annotated[
        str | None,
        typer.Option(
            "--notify-wait",
            help="How long to keep delivering the notifications this run caused (retries "
            "included); default 10s (longer with defaults.group_window). What is not delivered "
            "stays queued for the next run.",
        ),
    ] = None,
    no_notify: Annotated[
        bool,
        typer.Option(
            "--no-notify",
            help="Deliver nothing: for a throwaway copy of the store (a deploy's verification).",
        ),
    ] = False,
) -> None:
    """Run every (matching) check once now, store and print the results.

    Exit 0 when all are ok (a failure inside a maintenance window is not counted), 1 when any
    failed, 2 for a config or usage error.
    """
    from prodshield.config.types import parse_duration
    from prodshield.errors import UsageError
    from prodshield.monitor.adopt import describe as describe_adopted
    from prodshield.monitor.api import run_once, select_targets
    from prodshield.monitor.changes import incident_changes, snapshot
    from prodshield.monitor.maintenance import in_maintenance
    from prodshield.monitor.removed import resolve_removed

    loaded = load(config)
    select_targets(loaded.config, check, env)  # usage errors before opening the store
    try:
        wait_s = _notify_wait(loaded.config) if notify_wait is None else parse_duration(notify_wait)
    except ValueError as exc:
        raise UsageError(f"--notify-wait: {exc}") from None
    store = store_for(loaded)
    try:
        # adopted first: an adopted incident was opened by a lost store, not by this run
        adopted = [] if no_notify else _adopt_issues(loaded, store)
        before = snapshot(store)
        removed = resolve_removed(store, loaded.config)
        results = run_once(loaded, store, check=check, env=env)
        keys = {(r.check, r.environment) for r in results} | {
            (r.check, r.environment) for r in removed
        }
        changes = incident_changes(store, before, keys)
        delivered = None if no_notify else _deliver(loaded, store, wait_s)
        closed = [] if no_notify else _close_removed_issues(loaded, store)
    finally:
        store.close()
    windows = loaded.config.maintenance
    held = [in_maintenance(windows, r.check, r.environment or "", r.ts) for r in results]
    if fmt is Format.json:
        print_json(
            {
                "results": [
                    r.as_dict() | {"maintenance": w} for r, w in zip(results, held, strict=True)
                ],
                "incidents": changes,
                "notifications": _notifications(delivered),
                "closed_issues": [
                    {
                        "notifier": c.notifier,
                        "issue": c.number,
                        "check": c.check,
                        "environment": c.environment,
                        "reason": c.reason,
                    }
                    for c in closed
                ],
                "adopted_issues": [
                    {
                        "notifier": a.notifier,
                        "issue": a.number,
                        "incident": a.incident_id,
                        "check": a.check,
                        "environment": a.environment,
                        "kind": a.kind,
                    }
                    for a in adopted
                ],
            }
        )
    else:
        _render(results, held)
        for a in adopted:
            console().print(for_terminal(describe_adopted(a)), markup=False)
        _render_changes(changes, {r.incident_id: r.reason for r in removed})
        for c in closed:
            where = f" [{c.environment}]" if c.environment else ""
            line = f"issue #{c.number} closed ({c.notifier}): {c.check}{where}: {c.reason}"
            console().print(for_terminal(line), markup=False)
    # a failure inside a maintenance window is expected: it counts as nothing, so not as a failure
    passed = all(r.ok or w is not None for r, w in zip(results, held, strict=True))
    raise typer.Exit(EXIT_OK if passed else EXIT_FAILED)


NOTIFY_WAIT_S = 10.0
"""How long ``monitor once`` keeps delivering by default: a receiver that answers is done well
within it, one that is down does not hold a laptop's shell or a CI job for the minute of retries
(its notifications stay queued in the store: the next run or ``notify flush`` sends them)."""


def _notify_wait(config: Any) -> float:
    """The default ``--notify-wait``: ``NOTIFY_WAIT_S``, or long enough for a
    ``defaults.group_window`` to close and its one grouped notification to go out."""
    window = config.defaults.group_window or 0.0
    return max(NOTIFY_WAIT_S, float(window) + NOTIFY_WAIT_S)


def _render_changes(
    changes: dict[str, list[dict[str, Any]]], reasons: dict[int, str] | None = None
) -> None:
    """A line per incident the run opened or resolved, under the table (``--format json`` has
    them as ``incidents``): its id is what ``incident ack|update|resolve`` take; ``reasons``:
    why an incident was resolved without a result (its check left shield.yaml)."""
    out = console()
    for verb in ("opened", "resolved"):
        for c in changes.get(verb, []):
            where = f" [{c['environment']}]" if c["environment"] else ""
            line = f"incident #{c['id']} {verb}: {c['check']}{where} {c['kind']} ({c['severity']})"
            if verb == "opened" and c.get("suppressed_by"):
                line += f", suppressed by {_parent(c)}: notified to no one"
            reason = (reasons or {}).get(c["id"]) if verb == "resolved" else None
            if reason:
                line += f": {reason}"
            out.print(for_terminal(line), markup=False)


def _parent(c: Mapping[str, Any]) -> str:
    """``database's incident #2``: the depends_on parent that suppressed an incident."""
    parent = c.get("parent_incident")
    return f"{c['suppressed_by']}'s incident #{parent}" if parent else str(c["suppressed_by"])


def _notifications(delivered: Any) -> dict[str, Any]:
    """The deliveries of a one-shot run, for ``--format json`` (never a secret: notifier names,
    event keys, statuses and one-line errors); ``dead`` and ``dead_ids`` as the stderr line
    tells them: every dead row the outbox holds."""
    if delivered is None:
        return {"sent": 0, "retry": 0, "dead": 0, "dead_ids": [], "pending": 0, "deliveries": []}
    report, told = delivered
    return {
        "sent": report.sent,
        "retry": report.retried,
        "dead": told.dead,
        "dead_ids": told.dead_ids,
        "pending": report.pending,
        "deliveries": [
            {
                "notifier": o.notifier,
                "event": o.key,
                "status": o.status,
                "attempt": o.attempt,
                "error": o.error,
            }
            for o in report.outcomes
        ],
    }


def _status_comments(loaded: Any, store: Any) -> None:
    """Read the ``/status`` comments on open incidents' GitHub issues (status updates)."""
    import asyncio

    from prodshield.monitor.status_comments import poll

    try:
        added = asyncio.run(poll(store, loaded.config))
    except Exception as exc:  # the run's own work is done; a comment read can wait
        console(stderr=True).print(for_terminal(f"status comments not read: {exc}"), markup=False)
        return
    if added:
        console(stderr=True).print(f"status updates from GitHub comments: {added}")


def _close_removed_issues(loaded: Any, store: Any) -> list[Any]:
    """Close the GitHub issues of incidents whose check left shield.yaml that this run's store
    does not know (a lost cache): `prodshield.monitor.removed.close_removed_issues`."""
    import asyncio

    from prodshield.monitor.removed import close_removed_issues

    try:
        closed, failed = asyncio.run(close_removed_issues(store, loaded.config))
    except Exception as exc:  # the run's own work is done; the next run looks again
        failed, closed = [str(exc)], []
    for line in failed:
        console(stderr=True).print(
            for_terminal(f"issues of removed checks not looked for: {line}"), markup=False
        )
    return closed


def _adopt_issues(loaded: Any, store: Any) -> list[Any]:
    """A fresh store (a lost cache) adopts the open GitHub issues of configured checks'
    incidents before the checks run: `prodshield.monitor.adopt`."""
    import asyncio

    from prodshield.monitor.adopt import Found, adopt_now, find_orphans

    try:
        found = asyncio.run(find_orphans(store, loaded.config))
    except Exception as exc:  # the checks run anyway; the next run looks again
        found = Found(failed=[str(exc)])
    for line in found.failed:
        console(stderr=True).print(
            for_terminal(f"open issues not looked at (tried again next run): {line}"),
            markup=False,
        )
    return adopt_now(store, loaded.config, found)


def _deliver(loaded: Any, store: Any, deadline_s: float = 60.0) -> Any:
    """Send the notifications this run caused (bounded wait; leftovers stay queued): the report
    and what the outbox holds undelivered (`prodshield.cli.notify.undelivered`), or None when
    no notifier delivers."""
    from prodshield.cli.notify import undelivered
    from prodshield.notify import deliver_pending
    from prodshield.notify.subscribers import delivery_notifiers

    notifiers = delivery_notifiers(loaded.config)
    if not notifiers:
        return None

    # The outbox's short lease (renewed while sends run): a run killed half-way holds its rows
    # for about 15 s, then the next run takes them over (a longer lease made it wait a minute).
    report = deliver_pending(store, notifiers, deadline_s=deadline_s)
    _status_comments(loaded, store)
    # every dead row the outbox holds, named as `notify flush` names them: one that died in an
    # earlier run was never delivered either (the exit code stays the checks')
    told = undelivered(store, report)
    if report.outcomes or report.pending or told.dead:
        console(stderr=True).print(f"notifications: {told.line}", markup=False)
    if report.pending:
        console(stderr=True).print(
            f"stopped waiting after {format_duration(deadline_s)}: the queued notifications stay "
            "in the store and go out with the next run, or now with `prodshield notify flush "
            "--wait 2m`; `--notify-wait 2m` waits longer",
            markup=False,
        )
    return report, told


@app.command("run")
def run(
    config: ConfigOption = None,
    check: CheckOption = None,
    env: EnvsOption = None,
    duration: Annotated[
        str | None,
        typer.Option("--duration", help="Stop after this long (e.g. 10m); default: until Ctrl-C."),
    ] = None,
    location: LocationOption = None,
    verbose: Annotated[
        bool,
        typer.Option("--verbose", "-v", help="Print each state change and incident as it happens."),
    ] = False,
) -> None:
    """Run the scheduler: every check on its interval until Ctrl-C or SIGTERM (results flushed).

    On a PostgreSQL store, several instances split the checks between them."""
    from prodshield.config.types import parse_duration
    from prodshield.errors import UsageError
    from prodshield.monitor.api import run_monitor
    from prodshield.store.runner import sole_runner

    loaded = load(config)
    apply_location(loaded, location)
    try:
        seconds = parse_duration(duration) if duration else None
    except ValueError as exc:
        raise UsageError(f"--duration: {exc}") from None
    store = store_for(loaded)
    err = console(stderr=True)

    def started(s: Scheduler) -> None:
        shared = (
            f", instance {s.cluster.id} sharing them with the others on this store"
            if s.cluster is not None
            else ""
        )
        err.print(
            f"monitoring {plural(len(s.targets), 'target')} (up to {s.cap} in flight), "
            f"store {store.display_url}{shared}; Ctrl-C to stop"
        )

    try:
        with sole_runner(store.url, "monitor run"):
            stats = run_monitor(
                loaded,
                store,
                duration=seconds,
                check=check,
                env=env,
                on_start=started,
                on_change=(lambda c: err.print(describe_change(c), highlight=False))
                if verbose
                else None,
                on_sweep=lambda line: err.print(for_terminal(line), markup=False),
            )
    finally:
        store.close()
    p99 = stats.lag_percentile(99)
    err.print(
        f"stopped: {plural(stats.completed, 'run')} ({stats.failed} failed), {stats.written} stored, "
        f"{stats.missed} missed slots, {stats.overlapped} skipped (previous run still going)"
        + (f", {stats.fenced} dropped after a handover" if stats.fenced else "")
        + (f", scheduling lag p99 {p99 * 1000:.0f} ms" if p99 is not None else "")
    )


def describe_change(change: Any) -> str:
    """One line for ``monitor run -v``: when, which target, the phase change, the incident
    (printed as typed: the error quotes the target)."""
    import time

    when = time.strftime("%H:%M:%S", time.localtime(change.ts))
    target = f"{change.check}@{change.environment}" if change.environment else change.check
    line = f"{when} {target}: {change.before} -> {change.after}"
    inc = change.incident
    if inc is not None:
        line += f"; incident #{inc.incident_id} ({inc.kind}) {inc.type.split('.', 1)[1]}"
    if change.error and change.after != "up":
        line += f" ({change.error[:200]})"
    return for_terminal(line)


@app.command("status")
def status(
    config: ConfigOption = None,
    fmt: Annotated[Format, typer.Option("--format", help="table or json.")] = Format.table,
) -> None:
    """Each check's state, last result, uptime over 24h and 7d, and p95 latency (24h)."""
    from prodshield.monitor.aggregates import uptime_summaries
    from prodshield.monitor.expand import expand_checks  # not monitor.api: no aiohttp
    from prodshield.monitor.heartbeats import WAITING, WAITING_LABEL
    from prodshield.monitor.job_runs import job_runs
    from prodshield.monitor.stats import check_stats
    from prodshield.monitor.status import shown_statuses
    from prodshield.store import tables as t

    loaded = load(config)
    store = store_for(loaded)
    now = time.time()
    try:
        stats = check_stats(store, windows={"24h": 86400.0}, now=now)
        with store.connect() as conn:
            states = {
                (r.check_name, r.environment): r for r in conn.execute(t.check_state.select())
            }
        targets = expand_checks(loaded.config)
        uptimes = uptime_summaries(store, [x.key for x in targets], now=now)
        shown = shown_statuses(
            store,
            loaded.config,
            [x.key for x in targets],
            stored={k: r.status for k, r in states.items()},
            now=now,
        )
        jobs = job_runs(store)
    finally:
        store.close()
    rows: list[dict[str, Any]] = []
    for target in targets:
        st = states.get(target.key)
        state = shown[target.key]
        cs = stats.get(target.key) if state != WAITING else None  # no uptime before a ping
        day = cs.windows["24h"] if cs else None
        up = uptimes.get(target.key) if state != WAITING else None
        rows.append(
            {
                "check": target.name,
                "environment": target.environment or None,
                "type": target.type,
                "interval": write_duration(target.interval),
                "state": state,
                "last_ok": st.last_ok if st else None,
                "last_ts": st.last_ts if st else None,
                "last_error_kind": st.last_error_kind if st else None,
                "consecutive_failures": st.consecutive_failures if st else 0,
                "uptime_24h": up.uptime_24h if up else None,
                "uptime_7d": up.uptime_7d if up else None,
                "p95_ms_24h": day.p95_ms if day else None,
                "job": job.model_dump(mode="json") if (job := jobs.get(target.key)) else None,
            }
        )
    if fmt is Format.json:
        print_json({"checks": rows})
        return
    # "uptime" is said once under the table, and the type left out under 100 columns, so
    # that the table fits 80 columns without cutting a check's name
    table = Grid(
        "check",
        "env",
        "type",
        "state",
        "last result",
        "24h",
        "7d",
        "p95 24h",
        keys=("check", "env", "state"),
        right=("24h", "7d", "p95 24h"),
        optional=("type",),
    )
    for row in rows:
        colour = {"up": "green", "down": "red", "degraded": "yellow"}.get(row["state"], "")
        if row["state"] == WAITING:
            last = "never pinged"  # its "ok" results only say it is not late yet
        elif row["last_ts"] is None:
            last = "never run"
        else:
            ago = format_elapsed(max(0.0, time.time() - row["last_ts"]))
            last = f"{'ok' if row['last_ok'] else row['last_error_kind'] or 'failed'} {ago} ago"
        table.add_row(
            row["check"],
            row["environment"] or "-",
            row["type"],
            styled(row["state"], colour),
            # a job's output is outside text: a Text cell, never read as rich markup
            Text(last + (f"\n{_job_line(row['job'], now)}" if row["job"] else "")),
            _pct(row["uptime_24h"]),
            _pct(row["uptime_7d"]),
            _ms(row["p95_ms_24h"]),
        )
    table.print()
    out = console()
    out.print("24h, 7d: uptime · p95 24h: 95th percentile of the response time", highlight=False)
    if any(row["state"] == WAITING for row in rows):
        out.print(f"waiting: {WAITING_LABEL} (`prodshield monitor heartbeats`)", markup=False)


JOB_TAIL = 40
"""How much of a job's last output line ``monitor status`` shows (its end)."""


def _job_line(job: dict[str, Any], now: float) -> str:
    """A heartbeat job's last run in one short line: its result, run time, when, and the end of
    the last line of its output (secrets were masked when stored; controls shown as marks)."""
    if job["succeeded"]:
        result = "ok"
    else:
        result = f"exit {job['exit_code']}" if job["exit_code"] else "failed"
    parts = [f"job {result}"]
    if job["duration_s"] is not None:
        parts.append(f"ran {format_duration(job['duration_s'])}")
    if job["finished_at"] is not None:
        parts.append(f"{format_elapsed(max(0.0, now - job['finished_at']))} ago")
    line = ", ".join(parts)
    lines = [x.strip() for x in (job["output"] or "").split("\n") if x.strip()]
    if lines:
        tail = for_terminal(lines[-1]).replace("\t", " ")
        line += ": " + (tail if len(tail) <= JOB_TAIL else "…" + tail[-(JOB_TAIL - 1) :])
    return line


@app.command("heartbeats")
def heartbeats(
    config: ConfigOption = None,
    fmt: Annotated[Format, typer.Option("--format", "-f", help="table or json.")] = Format.table,
) -> None:
    """Each heartbeat check's ping URL, with the curl line its job runs when it finishes.

    The URLs are served by `prodshield serve` at serve.public_url (else at serve.host:port,
    which is said). A heartbeat never pinged is waiting for the first ping.
    """
    import time

    from prodshield.monitor.heartbeats import WAITING_LABEL, PingBase, ping_urls

    loaded = load(config)
    store = store_for(loaded)
    try:
        base = PingBase.for_job(loaded.config, store, alive=True)
        urls = ping_urls(store, loaded.config, base)
    finally:
        store.close()
    if fmt is Format.json:
        print_json(
            {
                "base_url": base.url,
                "base_url_configured": base.configured,
                "port_known": base.port_known,
                "port_from_running_serve": base.recorded,
                "heartbeats": [u.as_dict() for u in urls],
            }
        )
        return
    out = console()
    err = console(stderr=True)
    if not urls:
        err.print("no heartbeat checks in this config (type: heartbeat, with a period)")
        return
    for u in urls:
        label = f"{u.check}@{u.environment}" if u.environment else u.check
        if u.last_ping is None:
            state = WAITING_LABEL
        else:
            ago = format_elapsed(max(0.0, time.time() - u.last_ping))
            state = f"last ping {ago} ago, {u.pings} ping{'s' if u.pings != 1 else ''}"
        if u.period is not None:
            every = f"every {format_duration(u.period)} + {format_duration(u.grace)} grace"
        else:
            zone = f" {u.tz}" if u.tz else " UTC"
            every = f"at '{u.schedule}'{zone} + {format_duration(u.grace)} grace"
        out.print(f"{label} ({every}; {state})", markup=False, highlight=False)
        out.print(f"  {u.url}", markup=False, highlight=False, soft_wrap=True)
        out.print(f"  {u.curl_line()}", markup=False, highlight=False, soft_wrap=True)
    note = base.note()
    if note:
        err.print(note, markup=False, highlight=False)


@app.command("instances")
def instances(
    config: ConfigOption = None,
    fmt: Annotated[Format, typer.Option("--format", help="table or json.")] = Format.table,
    owners: Annotated[
        bool, typer.Option("--owners", help="Also list each check and the instance running it.")
    ] = False,
) -> None:
    """The instances sharing this store (live or recently dead) and the checks each one runs."""
    import time

    from prodshield.monitor.api import expand_checks
    from prodshield.monitor.cluster import lease_owners, list_instances

    loaded = load(config)
    store = store_for(loaded)
    try:
        found = list_instances(store)
        leases = lease_owners(store)
    finally:
        store.close()
    live = {i.id for i in found if i.live}
    checks: list[dict[str, Any]] = []
    for target in expand_checks(loaded.config):
        slots = leases.get(target.key, {})
        owner, expires = slots.get("", (None, None))
        entry: dict[str, Any] = {
            "check": target.name,
            "environment": target.environment or None,
            "owner": owner,
            "owner_live": owner in live,
            "lease_expires_at": expires,
        }
        if getattr(target.check, "locations", None):
            entry["locations"] = {
                slot: {"owner": who, "owner_live": who in live, "lease_expires_at": until}
                for slot, (who, until) in sorted(slots.items())
                if slot
            }
        checks.append(entry)
    if fmt is Format.json:
        print_json({"instances": [i.json_dict() for i in found], "checks": checks})
        return
    out = console()
    if not found:
        out.print(
            "no instance registered: instances register when `monitor run` or `serve` runs "
            "on a PostgreSQL store (on SQLite one instance runs every check)"
        )
    else:
        now = time.time()
        # the instance and its state are never cut; under 100 columns the host, pid and
        # location are left out (the instance id names the host and pid)
        table = Grid(
            "instance", "state", "host", "pid", "location", "checks", "up", "last seen",
            keys=("instance", "state", "checks"), right=("pid", "checks"),
            optional=("host", "pid", "location"), out=out,
        )  # fmt: skip
        for i in found:
            table.add_row(
                untrusted(i.id),
                styled("live", "green") if i.live else styled("dead", "red"),
                untrusted(i.hostname),
                str(i.pid),
                untrusted(i.location or "-"),
                f"{i.owned}/{i.targets}",
                format_elapsed(max(0.0, now - i.started_at)),
                f"{format_elapsed(max(0.0, now - i.last_seen))} ago",
            )
        table.print()
    if owners:
        table = Grid("check", "env", "owner", keys=("check",), out=out)
        for c in checks:
            if "locations" in c:
                who = (
                    ", ".join(
                        f"{loc}: {o['owner']}" + ("" if o["owner_live"] else " (dead)")
                        for loc, o in c["locations"].items()
                    )
                    or "-"
                )
            else:
                who = c["owner"] or "-"
                who = who if c["owner_live"] or not c["owner"] else f"{who} (dead)"
            table.add_row(untrusted(c["check"]), untrusted(c["environment"] or "-"), untrusted(who))
        table.print()


def _pct(v: float | None) -> str:
    return percent(v)


class ReportFormat(StrEnum):
    markdown = "markdown"
    html = "html"
    json = "json"


@app.command("report")
def report(
    config: ConfigOption = None,
    since: Annotated[str, typer.Option("--since", help="Period to cover, e.g. 7d.")] = "7d",
    env: EnvOption = None,
    fmt: Annotated[
        ReportFormat, typer.Option("--format", help="markdown, html or json.")
    ] = ReportFormat.markdown,
    output: Annotated[
        str | None, typer.Option("--output", "-o", help="Write to this file.")
    ] = None,
) -> None:
    """Uptime, latency p50/p95/p99, incidents with durations, MTTD and MTTR, slowest checks."""
    from pathlib import Path

    from prodshield.config.types import parse_duration
    from prodshield.errors import UsageError
    from prodshield.monitor.report import build_report, render_html, render_json, render_markdown

    loaded = load(config)
    try:
        seconds = parse_duration(since)
    except ValueError as exc:
        raise UsageError(f"--since: {exc}") from None
    store = store_for(loaded)
    try:
        from prodshield.monitor.heartbeats import waiting_targets

        rep = build_report(
            store,
            since_s=seconds,
            environment=env,
            waiting=waiting_targets(store, loaded.config),
        )
    finally:
        store.close()
    text = {
        ReportFormat.markdown: render_markdown,
        ReportFormat.html: render_html,
        ReportFormat.json: render_json,
    }[fmt](rep)
    if output:
        Path(output).write_text(text, encoding="utf-8")
        console(stderr=True).print(f"wrote {output}")
    else:
        write_out(text + "\n")
