"""Deploy verification: did this deploy make things worse? (``prodshield deploy verify``)

A deploy marker splits time in two. The checks, incidents, log findings, log templates and audit
runs the store holds are compared across it, for the checks and log sources the marker applies to
(its service and environment; empty means all): the window after the deploy (``window``, from the
deploy on) against the hour before it (or ``window``, when longer); incidents, findings and audit
runs count when they began within the window, so a later change's outage is never blamed on an
older deploy. A later deploy of the same service and environment ends the window (``next_deploy``);
an earlier one within the time before starts it (``previous_deploy``: the version replaced),
when the checks have at least :data:`MIN_RESULTS` results since it. Each
comparison is a
:class:`Signal` with a verdict:

- ``fail``: a check down now that went down after the deploy; a check failing more after the deploy
  than before (at least 2 failures, and at least 5 points and twice the rate before); an incident
  opened after the deploy and still open (at the window's end); a log finding of high or critical severity first seen
  after the deploy; the first audit run after the deploy failed its gate;
- ``warn``: a check down since before the deploy, or failing since the deploy but not down yet; a
  check's p95 response time 1.5 times and 100 ms over the hour before; an incident opened and resolved after the deploy; a medium log finding new
  after the deploy;
- ``info``: log templates first seen after the deploy; no audit run since the deploy; no check
  applies to the deploy; no check result after the deploy (nothing to compare: is anything
  writing to this store?).

The whole verdict is the worst signal's (``pass`` when none warns or fails); the headline counts a
check once however many of its signals failed. This module reads the
store tables of the other capabilities directly, as :mod:`prodshield.evidence` does, and imports
none of them; every text from production in a signal is redacted and bounded.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import Connection, and_, select

from prodshield.deploys import Deploy
from prodshield.evidence import belongs
from prodshield.secrets.redaction import redact_text
from prodshield.severity import worst_first
from prodshield.store import Store
from prodshield.store import tables as t
from prodshield.store.auditruns import partial, scope
from prodshield.text import md_code, plural, reclip

BEFORE_S = 3600.0
"""The window before the deploy the checks are compared with (at least; ``window`` if longer)."""
MIN_RESULTS = 3
"""Results a check needs on each side for its failure rate to be compared."""
MIN_LATENCIES = 5
LATENCY_FACTOR = 1.5
LATENCY_MIN_MS = 100.0
MAX_SIGNALS = 200
MAX_TEXT = 300
VERDICTS = ("pass", "info", "warn", "fail")
"""From best to worst; ``info`` signals leave the verdict ``pass``."""


@dataclass(frozen=True, slots=True)
class Signal:
    """One comparison across the deploy: what it is about, its verdict and one line."""

    area: str
    """``monitor``, ``incidents``, ``logs`` or ``audit``."""
    verdict: str
    subject: str
    message: str
    check: str = ""
    """The check (``name [environment]``) a monitor or incident signal is about: the headline
    counts a check once, whatever number of its signals failed."""

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


@dataclass(slots=True)
class Verdict:
    """The deploy's verdict, its windows and its signals (worst first)."""

    deploy: Deploy
    verdict: str
    before: tuple[float, float]
    after: tuple[float, float]
    complete: bool
    """False while the window after the deploy is not over (the verdict may still change)."""
    signals: list[Signal] = field(default_factory=list)
    checks: int = 0
    """Checks (with their environments) the deploy applies to."""
    next_deploy: Deploy | None = None
    """A later deploy of the same service and environment inside the window: the window ends
    there (what happens after it is that deploy's doing)."""
    previous_deploy: Deploy | None = None
    """An earlier deploy of the same service and environment within the time before, when the
    checks have results since it: the time before starts there (it compares against the version
    this deploy replaced)."""
    results: tuple[int, int] = (0, 0)
    """Check results after the deploy, and how many of them failed (as ``monitor report``
    counts results and failures)."""
    per_check: dict[str, tuple[int, int]] = field(default_factory=dict)
    """The same per check (``name [environment]``): the headline counts the results of the
    checks that failed, not those of a check only warned about (degraded, its rate up)."""

    @property
    def failed(self) -> bool:
        return self.verdict == "fail"

    def to_dict(self) -> dict[str, Any]:
        return {
            "deploy": self.deploy.to_dict(),
            "verdict": self.verdict,
            "complete": self.complete,
            "before": {"from": self.before[0], "until": self.before[1]},
            "after": {"from": self.after[0], "until": self.after[1]},
            "checks": self.checks,
            "results_after": {"results": self.results[0], "failed": self.results[1]},
            "next_deploy": self.next_deploy.to_dict() if self.next_deploy else None,
            "previous_deploy": self.previous_deploy.to_dict() if self.previous_deploy else None,
            "signals": [s.to_dict() for s in self.signals],
        }


def _text(value: object) -> str:
    return reclip(" ".join(redact_text(str(value)).split()), MAX_TEXT)


def _rank(verdict: str) -> int:
    return VERDICTS.index(verdict)


def verify(
    store: Store,
    config: Any,
    deploy: Deploy,
    *,
    window_s: float,
    now: float | None = None,
) -> Verdict:
    """Compare what the store knows before and after ``deploy`` (see the module docstring)."""
    now = time.time() if now is None else now
    start = deploy.deployed_at
    end = start + window_s
    with store.connect() as conn:
        later, earlier = _neighbours(conn, deploy, start - max(BEFORE_S, window_s), end)
    if later is not None and later.deployed_at <= now:
        end = later.deployed_at  # the next deploy's doing from there on
    else:
        later = None
    after = (start, min(now, end))
    before = (start - max(BEFORE_S, window_s), start)
    scope = _checks_in_scope(config, deploy)
    if earlier is not None:
        with store.connect() as conn:
            since = _sides(conn, scope, earlier.deployed_at, start)
        if sum(side.results for side in since.values()) >= MIN_RESULTS:
            before = (earlier.deployed_at, start)
        else:
            earlier = None  # too little since it to compare with: the hour before, both versions
    # what happened after the window (a later deploy's outage) is not this deploy's doing; a
    # result a second past an open window still counts (it was on its way), not past a cut one
    until = after[1]
    with store.connect() as conn:
        signals, per_check = _check_signals(
            conn, scope, before, (start, until + (0.0 if later else 1.0))
        )
        signals += _incident_signals(conn, scope, start, until)
        signals += _log_signals(conn, config, deploy, start, until)
        signals += _audit_signals(conn, start, until)
    signals.sort(key=lambda s: (-_rank(s.verdict), s.area, s.subject))
    worst = max((_rank(s.verdict) for s in signals), default=0)
    verdict = VERDICTS[worst] if worst >= _rank("warn") else "pass"
    return Verdict(
        deploy,
        verdict,
        before,
        after,
        complete=now >= end,
        signals=signals[:MAX_SIGNALS],
        checks=len(scope),
        next_deploy=later,
        previous_deploy=earlier,
        results=(
            sum(n for n, _ in per_check.values()),
            sum(failed for _, failed in per_check.values()),
        ),
        per_check=per_check,
    )


def _overlaps(a: Deploy, b: Deploy) -> bool:
    """Whether two markers can cover the same service in the same environment (empty = all)."""
    return (not a.service or not b.service or a.service == b.service) and (
        not a.environment or not b.environment or a.environment == b.environment
    )


def _neighbours(
    conn: Connection, deploy: Deploy, since: float, until: float
) -> tuple[Deploy | None, Deploy | None]:
    """The first deploy of the same service and environment after ``deploy`` (before ``until``)
    and the last one before it (after ``since``); two markers at the same second are ordered by
    id."""
    d = t.deploys
    rows = conn.execute(
        select(d).where(d.c.deployed_at >= since, d.c.deployed_at < until, d.c.id != deploy.id)
    ).all()
    key = (deploy.deployed_at, deploy.id)
    others = sorted(
        (
            Deploy(int(r.id), r.version, r.environment, r.service, float(r.deployed_at), r.note)
            for r in rows
        ),
        key=lambda o: (o.deployed_at, o.id),
    )
    near = [o for o in others if _overlaps(o, deploy)]
    later = next((o for o in near if (o.deployed_at, o.id) > key), None)
    earlier = next((o for o in reversed(near) if (o.deployed_at, o.id) < key), None)
    return later, earlier


def _checks_in_scope(config: Any, deploy: Deploy) -> dict[tuple[str, str], str]:
    """(check, environment) -> its service, for the enabled checks the deploy applies to."""
    out: dict[tuple[str, str], str] = {}
    for check in config.checks:
        if not check.enabled:
            continue
        service = check.service or check.name
        for env in check.environments or [""]:
            # a check without environments runs in whatever one was deployed (as a log source
            # without one counts for every environment)
            if deploy.applies_to(service, env or deploy.environment):
                out[(check.name, env)] = service
    return out


def _names(scope: dict[tuple[str, str], str]) -> list[str]:
    """The check names in scope (each query filters on them, then on the environment)."""
    return sorted({name for name, _ in scope})


def _label(key: tuple[str, str]) -> str:
    return f"{key[0]} [{key[1]}]" if key[1] else key[0]


@dataclass(slots=True)
class _Side:
    results: int = 0
    failures: int = 0
    latencies: list[float] = field(default_factory=list)

    def rate(self) -> float:
        return self.failures / self.results if self.results else 0.0

    def p95(self) -> float | None:
        if len(self.latencies) < MIN_LATENCIES:
            return None
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]


def _sides(
    conn: Connection, scope: dict[tuple[str, str], str], since: float, until: float
) -> dict[tuple[str, str], _Side]:
    r = t.check_results
    names = _names(scope)
    sides: dict[tuple[str, str], _Side] = defaultdict(_Side)
    if not names:
        return sides
    rows = conn.execute(
        select(r.c.check_name, r.c.environment, r.c.ok, r.c.response_time_ms).where(
            r.c.check_name.in_(names),
            r.c.ts >= since,
            r.c.ts < until,
            r.c.maintenance.is_(False),
        )
    )
    for name, env, ok, ms in rows:
        key = (name, env or "")
        if key not in scope:
            continue
        side = sides[key]
        side.results += 1
        if not ok:
            side.failures += 1
        elif ms is not None:
            side.latencies.append(float(ms))
    return sides


def _check_signals(
    conn: Connection,
    scope: dict[tuple[str, str], str],
    before: tuple[float, float],
    after: tuple[float, float],
) -> tuple[list[Signal], dict[str, tuple[int, int]]]:
    """The checks' signals, and each check's results after the deploy (how many, how many
    failed); ``after`` ends where a result stops counting."""
    old = _sides(conn, scope, *before)
    new = _sides(conn, scope, *after)
    out = _down_now(conn, scope, after)
    for key in sorted(scope):
        out += _compare(key, old.get(key) or _Side(), new.get(key) or _Side())
    if not scope:
        out.append(
            Signal(
                "monitor",
                "info",
                "checks",
                "no check applies to this deploy (its service and environment): the verdict "
                "leaves out the checks",
            )
        )
    elif not any(side.results for side in new.values()):
        out.append(
            Signal(
                "monitor",
                "info",
                "checks",
                "no check result after the deploy: nothing to compare (is `prodshield serve` or "
                "`monitor once` writing to this store?)",
            )
        )
    return out, {_label(key): (side.results, side.failures) for key, side in new.items()}


def _compare(key: tuple[str, str], old: _Side, new: _Side) -> list[Signal]:
    out: list[Signal] = []
    label = _label(key)
    if new.results >= MIN_RESULTS and new.failures >= 2:
        rate, was = new.rate(), old.rate()
        if rate >= was + 0.05 and rate >= 2 * was:
            before = (
                f"{old.failures} of {old.results} before ({was:.1%})"
                if old.results
                else "no result before"
            )
            out.append(
                Signal(
                    "monitor",
                    "fail",
                    label,
                    f"{new.failures} of {new.results} results failed after the deploy "
                    f"({rate:.1%}); {before}",
                    label,
                )
            )
    p_new, p_old = new.p95(), old.p95()
    if (
        p_new is not None
        and p_old is not None
        and p_new >= LATENCY_FACTOR * p_old
        and p_new - p_old >= LATENCY_MIN_MS
    ):
        out.append(
            Signal(
                "monitor",
                "warn",
                label,
                f"p95 response time {p_new:,.0f} ms after the deploy, {p_old:,.0f} ms before "
                f"({p_new / max(p_old, 0.001):.1f}x)",
                label,
            )
        )
    return out


def _down_now(
    conn: Connection, scope: dict[tuple[str, str], str], after: tuple[float, float]
) -> list[Signal]:
    """Checks down (or degraded) now: since the deploy (within the window), or since before it; a check that
    went down after the window is another change's doing. A check failing since the deploy but
    not down yet (fewer failures in a row than its threshold) warns: too few results for a rate
    must not read as a pass."""
    s = t.check_state
    names = _names(scope)
    if not names:
        return []
    rows = conn.execute(
        select(
            s.c.check_name,
            s.c.environment,
            s.c.status,
            s.c.consecutive_failures,
            s.c.first_failure_ts,
            s.c.last_change_ts,
        ).where(s.c.check_name.in_(names), s.c.status.in_(("down", "degraded", "failing")))
    )
    out: list[Signal] = []
    for row in rows:
        key = (row.check_name, row.environment or "")
        since = row.first_failure_ts if row.first_failure_ts is not None else row.last_change_ts
        if key not in scope or (since is not None and since >= after[1]):
            continue
        after_deploy = since is not None and since >= after[0]
        if row.status == "failing":
            if after_deploy:
                failed = plural(int(row.consecutive_failures or 0), "failed result")
                out.append(
                    Signal(
                        "monitor",
                        "warn",
                        _label(key),
                        f"failing since the deploy ({failed} in a row, not down yet)",
                        _label(key),
                    )
                )
        elif after_deploy:
            said = f"{row.status} since the deploy"
            out.append(Signal("monitor", "fail", _label(key), said, _label(key)))
        else:
            out.append(
                Signal(
                    "monitor",
                    "warn",
                    _label(key),
                    f"{row.status} since before the deploy",
                    _label(key),
                )
            )
    return out


def _incident_signals(
    conn: Connection, scope: dict[tuple[str, str], str], start: float, now: float
) -> list[Signal]:
    """Incidents of the checks in scope opened in the window: open (at its end: one resolved
    after a later deploy cut the window was still open when it ended) fail, resolved warn."""
    i = t.incidents
    names = _names(scope)
    if not names:
        return []
    rows = conn.execute(
        select(
            i.c.id, i.c.check_name, i.c.environment, i.c.status, i.c.title, i.c.resolved_at
        ).where(i.c.check_name.in_(names), i.c.opened_at >= start, i.c.opened_at <= now)
    )
    out: list[Signal] = []
    for row in rows:
        key = (row.check_name, row.environment or "")
        if key not in scope:
            continue
        title = _text(row.title or f"{_label(key)} down")
        if row.status == "open":
            out.append(Signal("incidents", "fail", f"#{row.id}", f"open: {title}", _label(key)))
        elif row.resolved_at is not None and row.resolved_at > now:
            late = f"open when the window ended (resolved after it): {title}"
            out.append(Signal("incidents", "fail", f"#{row.id}", late, _label(key)))
        else:
            resolved = f"opened and resolved: {title}"
            out.append(Signal("incidents", "warn", f"#{row.id}", resolved, _label(key)))
    return out


def _sources(config: Any, deploy: Deploy) -> list[Any]:
    return [
        s
        for s in config.logs.sources
        if (not deploy.service or (s.service or s.name) == deploy.service)
        and (not deploy.environment or not s.environment or s.environment == deploy.environment)
    ]


def _log_signals(
    conn: Connection, config: Any, deploy: Deploy, start: float, now: float
) -> list[Signal]:
    sources = _sources(config, deploy)
    if not sources:
        return []
    f = t.log_findings
    rows = conn.execute(
        select(f.c.kind, f.c.severity, f.c.message, f.c.source, f.c.details).where(
            and_(f.c.first_seen >= start, f.c.first_seen <= now)
        )
    ).all()
    out: list[Signal] = []
    all_sources = list(config.logs.sources)
    for row in sorted(rows, key=lambda r: worst_first(r.severity)):
        if row.kind == "new_template":
            continue  # the templates new since the deploy say it better (below)
        if not _finding_in_scope(row, deploy, sources, all_sources):
            continue
        verdict = {"critical": "fail", "high": "fail", "medium": "warn"}.get(row.severity)
        if verdict is None:
            continue
        out.append(
            Signal(
                "logs",
                verdict,
                str(row.kind),
                f"new after the deploy ({row.severity}): {_text(row.message or row.kind)}",
            )
        )
    out += _new_templates(conn, sources, start, now)
    return out


def _finding_in_scope(
    row: Any, deploy: Deploy, sources: Sequence[Any], all_sources: Sequence[Any]
) -> bool:
    details = row.details if isinstance(row.details, dict) else {}
    source = row.source if isinstance(row.source, dict) else {}
    named = details.get("service")
    if named:
        env = details.get("environment")
        return (not deploy.service or named == deploy.service) and (
            not deploy.environment or not env or env == deploy.environment
        )
    return belongs(str(source.get("file") or ""), sources, all_sources)


def _new_templates(
    conn: Connection, sources: Iterable[Any], start: float, now: float
) -> list[Signal]:
    lt = t.log_templates
    names = [s.name for s in sources]
    rows = conn.execute(
        select(lt.c.template, lt.c.count.label("lines"), lt.c.source)
        .where(lt.c.first_seen >= start, lt.c.first_seen <= now, lt.c.source.in_(names))
        .order_by(lt.c.count.desc())
        .limit(20)
    ).all()
    return [
        Signal(
            "logs",
            "info",
            "new template",
            f"{_text(row.template)} ({plural(int(row.lines), 'line')}, {_text(row.source)})",
        )
        for row in rows
    ]


def _audit_signals(conn: Connection, start: float, now: float) -> list[Signal]:
    a = t.audit_runs
    row = conn.execute(
        select(a.c.id, a.c.passed, a.c.fail_on, a.c.summary)
        .where(a.c.started_at >= start, a.c.started_at <= now, a.c.finished_at.is_not(None))
        .order_by(a.c.started_at)
        .limit(1)
    ).first()
    if row is None:
        return [Signal("audit", "info", "audit", "no audit run since the deploy")]
    if row.passed is False:
        return [
            Signal(
                "audit",
                "fail",
                f"run #{row.id}",
                f"the audit gate failed (findings at {row.fail_on or 'high'} or worse)",
            )
        ]
    if partial(dict(row._mapping)):
        checked = ", ".join(scope(dict(row._mapping)))
        return [
            Signal("audit", "pass", f"run #{row.id}", f"the audit gate passed ({checked} only)")
        ]
    return [Signal("audit", "pass", f"run #{row.id}", "the audit gate passed")]


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(ts))


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:,.0f} min" if seconds >= 60 else f"{seconds:,.0f} s"


def _counts(verdict: Verdict) -> tuple[list[str], int]:
    """What failed, as a user counts it (a check once, however many of its signals failed: down,
    its failure rate, its open incident), and how many warnings (a check once, and none for a
    check that failed)."""
    failed_checks = {s.check for s in verdict.signals if s.verdict == "fail" and s.check}
    logs = sum(1 for s in verdict.signals if s.verdict == "fail" and s.area == "logs")
    audit = any(s.verdict == "fail" and s.area == "audit" for s in verdict.signals)
    parts = []
    if failed_checks:
        # the results of the checks that failed (a check only warned about is not in them)
        mine = [verdict.per_check.get(check, (0, 0)) for check in failed_checks]
        results, failed = sum(n for n, _ in mine), sum(f for _, f in mine)
        of = f" ({failed} of {plural(results, 'result')} failed)" if failed else ""
        parts.append(f"{len(failed_checks)} of {plural(verdict.checks, 'check')} failed{of}")
    if logs:
        parts.append(f"{plural(logs, 'new log finding')} (high or critical)")
    if audit:
        parts.append("the audit gate failed")
    warned = {s.check for s in verdict.signals if s.verdict == "warn" and s.check}
    others = sum(1 for s in verdict.signals if s.verdict == "warn" and not s.check)
    return parts, len(warned - failed_checks) + others


def _windows(verdict: Verdict) -> str:
    after = _minutes(verdict.after[1] - verdict.after[0])
    later = verdict.next_deploy
    if later is not None:
        state = f"cut short by deploy #{later.id} at {_iso(later.deployed_at)}"
    else:
        state = "window over" if verdict.complete else "window not over yet"
    before = f"{_minutes(verdict.before[1] - verdict.before[0])} before"
    if verdict.previous_deploy is not None:
        before += f" (since deploy #{verdict.previous_deploy.id})"
    return f"{after} after the deploy ({state}) against {before}"


def headline(verdict: Verdict, quote: Callable[[str], str] = _text) -> str:
    """One line: the deploy, the verdict, what failed (checks counted once each, as ``monitor
    status`` lists them) and how many warnings, the windows (``quote`` shows the version and
    scope: Markdown puts them in code spans)."""
    d = verdict.deploy
    scope = " ".join(
        [
            *([quote(d.service)] if d.service else []),
            *([f"in {quote(d.environment)}"] if d.environment else []),
        ]
    )
    failed, warns = _counts(verdict)
    nothing = "nothing failed"
    if verdict.checks and not verdict.results[0]:
        nothing += " (no check result after the deploy to judge)"  # a pass on no evidence
    return (
        f"deploy #{d.id} {quote(d.version)}{f' ({scope})' if scope else ''} at "
        f"{_iso(d.deployed_at)}: {verdict.verdict.upper()}: "
        f"{', '.join(failed) or nothing}; {plural(warns, 'warning')}; "
        f"{_windows(verdict)}; {plural(verdict.checks, 'check')} in scope"
    )


def _code(text: str) -> str:
    return md_code(text)


def _cell(text: str) -> str:
    return md_code(text, in_table=True)  # a pipe in a code span still ends a table cell


def markdown(verdict: Verdict) -> str:
    """The verdict as Markdown (a pull request comment, ``$GITHUB_STEP_SUMMARY``); text from
    production in code spans."""
    # a version is a CI variable (a branch name, a tag): in code spans, never a link or markup
    lines = [
        f"### Deploy verification: {verdict.verdict.upper()}",
        "",
        headline(verdict, lambda text: _code(_text(text))),
        "",
    ]
    if verdict.signals:
        lines += ["| verdict | area | subject | what |", "| --- | --- | --- | --- |"]
        for sig in verdict.signals:
            lines.append(
                f"| {sig.verdict} | {sig.area} | {_cell(sig.subject)} | {_cell(sig.message)} |"
            )
    return "\n".join(lines) + "\n"
