"""The uptime report: uptime, latency percentiles, incidents, MTTD and MTTR over a period."""

from __future__ import annotations

import html
import time
from collections import defaultdict
from collections.abc import Collection
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import or_, select

from prodshield.config.types import format_duration
from prodshield.monitor.incident_machine import WARNING_KINDS
from prodshield.percentiles import percentile
from prodshield.store import Store, rollup
from prodshield.store import tables as t
from prodshield.text import UPTIME_DIGITS, dumps_json, plural


@dataclass
class CheckSummary:
    check: str
    environment: str
    results: int
    failures: int
    uptime_pct: float | None
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    incidents: int
    downtime_s: float
    """Time under incidents that were down (a certificate or degraded incident is not downtime,
    like the uptime figure beside it)."""


@dataclass
class IncidentSummary:
    id: int
    check: str
    environment: str
    kind: str
    status: str
    opened_at: float
    resolved_at: float | None
    duration_s: float
    detection_s: float | None


@dataclass
class UptimeReport:
    since: float
    until: float
    environment: str | None
    checks: list[CheckSummary] = field(default_factory=list)
    incidents: list[IncidentSummary] = field(default_factory=list)
    mttd_s: float | None = None
    mttr_s: float | None = None

    @property
    def slowest(self) -> list[CheckSummary]:
        return sorted(
            (c for c in self.checks if c.p95_ms is not None), key=lambda c: -(c.p95_ms or 0)
        )[:5]

    def to_dict(self) -> dict[str, Any]:
        """As JSON gives it: a check without environments has ``"environment": null`` (as in
        `monitor status`, `monitor once` and the API), not the store's empty string."""
        data = asdict(self)
        data["slowest"] = [asdict(c) for c in self.slowest]
        for row in (*data["checks"], *data["incidents"], *data["slowest"]):
            row["environment"] = row["environment"] or None
        return data


def build_report(
    store: Store,
    *,
    since_s: float,
    environment: str | None = None,
    now: float | None = None,
    waiting: Collection[tuple[str, str]] = (),
) -> UptimeReport:
    """Summarise ``since_s`` seconds up to ``now`` from raw results and hourly aggregates.

    ``waiting``: heartbeat targets never pinged (``heartbeats.waiting_targets``); they have no
    uptime or latency yet, not 100 % and 0 ms."""
    until = time.time() if now is None else now
    since = until - since_s
    report = UptimeReport(since=since, until=until, environment=environment)
    r, h = t.check_results, t.check_hourly
    latencies: dict[tuple[str, str], list[float]] = defaultdict(list)
    counts: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    """(results, failures, degraded failures: not downtime)."""
    raw_hours: set[tuple[str, str, int]] = set()
    with store.connect() as conn:
        q = select(
            r.c.check_name, r.c.environment, r.c.ts, r.c.ok, r.c.response_time_ms, r.c.degraded
        ).where(r.c.ts >= since, r.c.ts <= until, t.COUNTS_FOR_UPTIME)
        if environment is not None:
            q = q.where(r.c.environment == environment)
        for row in conn.execute(q.execution_options(yield_per=10000)):
            key = (row.check_name, row.environment)
            counts[key][0] += 1
            counts[key][1] += 0 if row.ok else 1
            counts[key][2] += 1 if not row.ok and row.degraded else 0
            raw_hours.add((row.check_name, row.environment, int(row.ts // 3600) * 3600))
            if row.response_time_ms is not None:
                latencies[key].append(row.response_time_ms)
        # hours whose raw rows were pruned still count through their aggregates
        hq = select(h).where(h.c.hour >= int(since // 3600) * 3600, h.c.hour <= until)
        if environment is not None:
            hq = hq.where(h.c.environment == environment)
        agg_p95: dict[tuple[str, str], list[float]] = defaultdict(list)
        for m in conn.execute(hq).mappings():
            key = (m["check_name"], m["environment"])
            if (*key, m["hour"]) in raw_hours:
                continue
            counts[key][0] += m["count"]
            counts[key][1] += m["failures"]
            counts[key][2] += m["degraded"] or 0
            if m["p95_ms"] is not None:
                agg_p95[key].append(m["p95_ms"])
        i = t.incidents
        iq = select(i).where(
            i.c.opened_at <= until, or_(i.c.resolved_at.is_(None), i.c.resolved_at >= since)
        )
        if environment is not None:
            iq = iq.where(i.c.environment == environment)
        incidents = conn.execute(iq.order_by(i.c.opened_at)).all()
    per_check_incidents: dict[tuple[str, str], list[IncidentSummary]] = defaultdict(list)
    for inc in incidents:
        end = inc.resolved_at if inc.resolved_at is not None else until
        detected = (inc.refs or {}).get("detected_at")
        s = IncidentSummary(
            inc.id,
            inc.check_name,
            inc.environment,
            inc.kind,
            inc.status,
            inc.opened_at,
            inc.resolved_at,
            max(0.0, min(end, until) - max(inc.opened_at, since)),
            (detected - inc.opened_at) if detected is not None else None,
        )
        report.incidents.append(s)
        per_check_incidents[(inc.check_name, inc.environment)].append(s)
    for key in sorted(set(counts) | set(per_check_incidents)):
        n, failures, degraded = counts.get(key, [0, 0, 0])
        down = failures - degraded
        lat = sorted(latencies.get(key, []))
        p95 = percentile(lat, 95) if lat else (max(agg_p95[key]) if agg_p95.get(key) else None)
        incs = per_check_incidents.get(key, [])
        if key in waiting:
            lat, p95 = [], None  # no uptime or latency: nothing is known before a first ping
        report.checks.append(
            CheckSummary(
                key[0],
                key[1],
                n,
                failures,
                round(100.0 * (n - down) / n, UPTIME_DIGITS) if n and key not in waiting else None,
                percentile(lat, 50),
                p95,
                percentile(lat, 99),
                len(incs),
                sum(x.duration_s for x in incs if x.kind not in WARNING_KINDS),
            )
        )
    detections = [x.detection_s for x in report.incidents if x.detection_s is not None]
    repairs = [x.resolved_at - x.opened_at for x in report.incidents if x.resolved_at is not None]
    report.mttd_s = sum(detections) / len(detections) if detections else None
    report.mttr_s = sum(repairs) / len(repairs) if repairs else None
    return report


def _ms(v: float | None) -> str:
    return "-" if v is None else f"{v:.0f} ms"


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{v:.3f}%"


def _dur(v: float | None) -> str:
    return "-" if v is None else format_duration(v)


def _ts(v: float | None) -> str:
    return "-" if v is None else time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(v))


def render_json(report: UptimeReport) -> str:
    return dumps_json(report.to_dict())


def render_markdown(report: UptimeReport) -> str:
    lines = [
        f"# Uptime report: {_ts(report.since)} to {_ts(report.until)}"
        + (f" ({report.environment})" if report.environment else ""),
        "",
        f"MTTD: {_dur(report.mttd_s)} · MTTR: {_dur(report.mttr_s)} · incidents: {len(report.incidents)}",
        "",
        "| check | environment | uptime | results | failures | p50 | p95 | p99 | incidents | downtime |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for c in report.checks:
        lines.append(
            f"| {c.check} | {c.environment or '-'} | {_pct(c.uptime_pct)} | {c.results} | {c.failures} | "
            f"{_ms(c.p50_ms)} | {_ms(c.p95_ms)} | {_ms(c.p99_ms)} | {c.incidents} | {_dur(c.downtime_s)} |"
        )
    lines += ["", "## Incidents", ""]
    if not report.incidents:
        lines.append("None.")
    else:
        lines += [
            "| # | check | environment | kind | opened | resolved | duration |",
            "| --- | --- | --- | --- | --- | --- | ---: |",
        ]
        for x in report.incidents:
            lines.append(
                f"| {x.id} | {x.check} | {x.environment or '-'} | {x.kind} | {_ts(x.opened_at)} | "
                f"{_ts(x.resolved_at) if x.resolved_at else 'open'} | {_dur(x.duration_s)} |"
            )
    lines += ["", "## Slowest checks (p95)", ""]
    lines += [
        f"1. {c.check} ({c.environment or '-'}): {_ms(c.p95_ms)}" for c in report.slowest
    ] or ["None."]
    return "\n".join(lines) + "\n"


_CSS = """body{font:14px/1.45 system-ui,sans-serif;margin:2rem;color:#1d2430}table{border-collapse:collapse;
margin:1rem 0}td,th{border-bottom:1px solid #dde;padding:.3rem .6rem;text-align:left}td.n{text-align:right}
.bar{fill:#2f9e44}.bad{fill:#e03131}h1{font-size:1.3rem}.muted{color:#667}"""


def render_html(report: UptimeReport) -> str:
    """One self-contained file: inline CSS and SVG, no external requests."""
    e = html.escape
    rows = []
    for c in report.checks:
        width = 0 if c.uptime_pct is None else max(0.0, min(100.0, c.uptime_pct))
        cls = "bar" if (c.uptime_pct or 0) >= 99 else "bad"
        svg = (
            f'<svg width="120" height="12" role="img" aria-label="uptime {e(_pct(c.uptime_pct))}">'
            f'<rect width="120" height="12" fill="#eee"/><rect class="{cls}" width="{1.2 * width:.1f}" height="12"/></svg>'
        )
        rows.append(
            f"<tr><td>{e(c.check)}</td><td>{e(c.environment or '-')}</td><td>{svg} {e(_pct(c.uptime_pct))}</td>"
            f"<td class=n>{c.results}</td><td class=n>{c.failures}</td><td class=n>{e(_ms(c.p50_ms))}</td>"
            f"<td class=n>{e(_ms(c.p95_ms))}</td><td class=n>{e(_ms(c.p99_ms))}</td><td class=n>{c.incidents}</td>"
            f"<td class=n>{e(_dur(c.downtime_s))}</td></tr>"
        )
    incs = (
        "".join(
            f"<tr><td>{x.id}</td><td>{e(x.check)}</td><td>{e(x.environment or '-')}</td><td>{e(x.kind)}</td>"
            f"<td>{e(_ts(x.opened_at))}</td><td>{e(_ts(x.resolved_at) if x.resolved_at else 'open')}</td>"
            f"<td class=n>{e(_dur(x.duration_s))}</td></tr>"
            for x in report.incidents
        )
        or "<tr><td colspan=7 class=muted>No incidents.</td></tr>"
    )
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Uptime report</title>
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<style>{_CSS}</style></head><body>
<h1>Uptime report: {e(_ts(report.since))} to {e(_ts(report.until))}{e(f" ({report.environment})" if report.environment else "")}</h1>
<p>MTTD {e(_dur(report.mttd_s))} · MTTR {e(_dur(report.mttr_s))} · {plural(len(report.incidents), "incident")}</p>
<table><tr><th>check</th><th>environment</th><th>uptime</th><th>results</th><th>failures</th><th>p50</th><th>p95</th>
<th>p99</th><th>incidents</th><th>downtime</th></tr>{"".join(rows)}</table>
<h2>Incidents</h2><table><tr><th>#</th><th>check</th><th>environment</th><th>kind</th><th>opened</th><th>resolved</th>
<th>duration</th></tr>{incs}</table></body></html>
"""


def ensure_rollups(store: Store, since: float, until: float) -> None:
    """Bring the hourly aggregates of the period up to date (used before pruning reports)."""
    rollup(store, since, until)


__all__ = [
    "UptimeReport",
    "build_report",
    "ensure_rollups",
    "render_html",
    "render_json",
    "render_markdown",
]
