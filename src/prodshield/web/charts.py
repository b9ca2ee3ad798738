"""Charts as inline SVG, drawn on the server: no JavaScript library, no CDN, works offline.

Colours come from CSS classes (the content security policy forbids inline styles).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from html import escape
from typing import Any

from markupsafe import Markup

from prodshield.monitor.series import Beat, LatencyPoint
from prodshield.text import percent, plural


def bar_class(uptime: float | None) -> str:
    if uptime is None:
        return "bar-none"
    if uptime >= 99.9:
        return "bar-ok"
    if uptime >= 99.0:
        return "bar-minor"
    if uptime >= 95.0:
        return "bar-major"
    return "bar-bad"


def uptime_bars(daily: Sequence[dict[str, Any]], *, label: str = "") -> Markup:
    """One bar per day (oldest left), coloured by that day's uptime, with a hover title."""
    n = max(1, len(daily))
    step = 6
    width = n * step
    parts = [
        f'<svg class="chart bars" viewBox="0 0 {width} 34" preserveAspectRatio="none" '
        f'role="img" aria-label="{escape(label)} uptime, last {n} days">'
    ]
    for i, d in enumerate(daily):
        day = time.strftime("%Y-%m-%d", time.gmtime(d["day"]))
        up = d["uptime"]
        degraded = d.get("degraded") or 0
        down = d["failures"] - degraded
        text = (
            "no data"
            if up is None
            else f"{percent(up)} ({down} of {d['count']} failed"
            + (f", {degraded} degraded)" if degraded else ")")
        )
        cls = bar_class(up)
        if degraded and cls == "bar-ok":
            cls = "bar-minor"  # up, but degraded: not the colour of a clean day
        parts.append(
            f'<rect class="{cls}" x="{i * step}" y="0" width="{step - 2}" height="34" '
            f'rx="1"><title>{day}: {text}</title></rect>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def spark_counts(counts: Sequence[int], *, label: str = "") -> Markup:
    """Small columns for counts per hour (log templates over time)."""
    width, height = 120, 24
    top = max(counts) if counts else 0
    n = max(1, len(counts))
    step = width / n
    parts = [
        f'<svg class="chart spark" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(label)} per hour">'
    ]
    for i, c in enumerate(counts):
        h = 0 if top == 0 else max(1.0, (height - 2) * c / top)
        parts.append(
            f'<rect class="col" x="{i * step:.1f}" y="{height - h:.1f}" width="{max(step - 1, 1):.1f}" '
            f'height="{h:.1f}"><title>{c}</title></rect>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def _clock(ts: float, seconds: bool) -> str:
    return time.strftime("%H:%M:%S" if seconds else "%H:%M", time.gmtime(ts))


def _nice_top(value: float) -> float:
    """A round axis maximum at or above ``value`` (1, 2, 2.5 or 5 times a power of ten)."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power:
            return float(step * power)
    return float(10 * power)


def _ms(value: float) -> str:
    return f"{value:.1f} ms" if value < 10 and value != int(value) else f"{value:.0f} ms"


def _shade(p: LatencyPoint) -> str:
    """A point's class after ``pt``: ``bad`` (red) for a bucket of raw results with a failure
    that is down, an hour or a day with more than 1 % down; else ``degraded`` (amber) when the
    same holds counting degraded results (they answered, only a certificate-expiry or
    response-time condition failed: not downtime); else ``""``."""
    down = p.failures - p.degraded
    if p.raw:
        return "bad" if down > 0 else "degraded" if p.failures > 0 else ""
    if p.count <= 0:
        return ""
    return "bad" if down / p.count > 0.01 else "degraded" if p.failures / p.count > 0.01 else ""


DAY = 86400

LINE_W = 1000
"""The drawing width of the line and its area (their nested SVG's viewBox, stretched to the plot)."""


def response_chart(
    points: Sequence[LatencyPoint],
    *,
    until: float,
    label: str = "",
    height: int = 130,
    deploys: Sequence[Any] = (),
    daily: bool = False,
) -> Markup:
    """Response time over time: a line through the points on a time axis, with a y axis in ms.

    ``daily``: the points are days (the 30-day chart): the axis runs in whole days to the end of
    today, each point in the middle of its day, dated; while there is less than two days of data
    the point is labelled with its value and a note says since when data is collected (one dot
    on an axis of minutes read like a few minutes, not a month).

    ``deploys`` (records with ``deployed_at`` and ``version``) inside the time axis are drawn as
    dashed vertical lines with the version in their hover title.

    The axis starts at the first point (not a fixed window), so a check that started a minute ago
    shows its few results across the chart. Each point has a hover title with its time (to the
    second), mean, maximum and failures; red dots mark failures, amber dots degraded results
    (see :func:`_shade`).

    The chart fills its box's width at ``height`` px, and nothing in it is scaled: a viewBox
    scaled to a phone's width drew the axis labels at 3-6 px. Time runs along the width in
    percent (the line and its area in a nested SVG stretched to it, dots and marks at percent
    positions), values down the height in px; the y labels sit in the SVG's left padding (CSS).
    """
    top_pad, bottom = 8, 18
    plot_h = height - top_pad - bottom
    known = [p for p in points if p.avg_ms is not None]
    parts = [
        f'<svg class="chart response" height="{height}" role="img" '
        f'aria-label="{escape(label)} response time in milliseconds" data-points="{len(known)}">'
    ]
    if not known:
        parts.append(
            f'<text class="chart-empty" x="50%" y="{height / 2}">'
            "no results with a response time yet</text></svg>"
        )
        return Markup("".join(parts))
    start = min(p.ts for p in points)
    span = max(until - start, 1.0)
    if daily:  # whole days, to the end of today
        start = float(int(start) // DAY * DAY)
        span = float(-(-int(max(until, start + 1)) // DAY) * DAY) - start
    noted = daily and span < 2 * DAY  # a day or two: a note on top, the points kept under it
    top = _nice_top(max(p.avg_ms or 0.0 for p in known) * (2.0 if noted else 1.1))

    def frac(ts: float) -> float:
        # a day or an hour still under way is drawn at "now", not in the future
        return (ts - start) / span if daily else (min(ts, until) - start) / span

    def x_of(ts: float) -> str:
        return f"{100 * frac(ts):.2f}%"

    def y_of(ms: float) -> float:
        return round(top_pad + plot_h * (1 - min(ms, top) / top), 1)

    for f in (0.0, 0.5, 1.0):
        y = y_of(top * f)
        parts.append(f'<line class="grid" x1="0" y1="{y}" x2="100%" y2="{y}"/>')
        parts.append(f'<text class="tick y" x="-5" y="{y + 3}">{_ms(top * f)}</text>')
    parts.extend(_x_axis(start, span, height, daily=daily))
    if noted:
        parts.append(_collecting_note(start, top_pad))
    coords = [(round(LINE_W * frac(p.ts), 1), y_of(p.avg_ms or 0.0)) for p in known]
    if len(coords) > 1:
        line = " ".join(f"{x},{y}" for x, y in coords)
        base = y_of(0)
        parts.append(
            f'<svg class="plot" width="100%" height="{height}" viewBox="0 0 {LINE_W} {height}" '
            'preserveAspectRatio="none">'
            f'<polygon class="area" points="{coords[0][0]},{base} {line} {coords[-1][0]},{base}"/>'
            f'<polyline class="line" points="{line}"/></svg>'
        )
    for p in points:
        if p.avg_ms is None and p.failures:
            when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(p.ts))
            what = _failed(p) + ("" if p.count == 1 else f" of {p.count} results")
            mark = "fail-mark" if p.failures > p.degraded else "fail-mark degraded"
            parts.append(
                f'<rect class="{mark}" x="{x_of(p.ts)}" y="{y_of(0) - 8}" width="3" height="8" '
                f'transform="translate(-1.5 0)"><title>{when}: {what}</title></rect>'
            )
    for d in deploys:
        if not start <= d.deployed_at <= until:
            continue
        x = x_of(d.deployed_at)
        when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(d.deployed_at))
        parts.append(
            f'<line class="deploy" x1="{x}" y1="{top_pad}" x2="{x}" y2="{y_of(0)}" '
            f'data-version="{escape(d.version)}"><title>deploy {escape(d.version)}, {when}'
            "</title></line>"
        )
    if daily and len(known) < 3:  # a day or two of data: each point says its value
        parts.extend(
            f'<text class="pt-label" x="{x_of(p.ts)}" y="{y_of(p.avg_ms or 0.0) + 4}" dx="8">'
            f"{_ms(p.avg_ms or 0.0)}</text>"
            for p in known
        )
    for p in known:
        when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(p.ts))
        cls = f"pt {_shade(p)}".rstrip()
        parts.append(
            f'<circle class="{cls}" cx="{x_of(p.ts)}" cy="{y_of(p.avg_ms or 0.0)}" '
            f'r="{2.5 if len(known) < 60 else 1.6}"><title>{when}: {escape(_point_title(p))}'
            "</title></circle>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def _collecting_note(start: float, top_pad: int) -> str:
    """The note over a day chart with less than two days of data."""
    since = time.strftime("%Y-%m-%d", time.gmtime(start))
    return (
        f'<text class="chart-note" x="50%" y="{top_pad + 12}">collecting data since {since}'
        " (UTC): the 30 days fill in day by day</text>"
    )


def _x_axis(start: float, span: float, height: int, *, daily: bool) -> list[str]:
    """The time axis' labels: dates for days (``_day_ticks``) or a long span, else clock times."""
    if daily:
        return _day_ticks(start, span, height)
    seconds = span < 600
    out = []
    for f, anchor in ((0.0, "start"), (0.5, "middle"), (1.0, "end")):
        ts = start + span * f
        label = (
            time.strftime("%m-%d", time.gmtime(ts))
            if span > 3 * DAY
            else _clock(ts, seconds) + (" UTC" if f == 1.0 else "")
        )
        out.append(
            f'<text class="tick x {anchor}" x="{100 * f:g}%" y="{height - 4}">{label}</text>'
        )
    return out


def _day_ticks(start: float, span: float, height: int) -> list[str]:
    """Dates under a day axis: each day's under its middle when there are at most three,
    else the first, middle and last day's."""
    days = max(1, round(span / DAY))
    if days <= 3:
        at = [(start + (i + 0.5) * DAY, (i + 0.5) / days, "middle") for i in range(days)]
    else:
        at = [(start + DAY / 2, 0.0, "start"), (start + span / 2, 0.5, "middle")]
        at.append((start + span - DAY / 2, 1.0, "end"))
    return [
        f'<text class="tick x {anchor}" x="{100 * f:.2f}%" y="{height - 4}">'
        f"{time.strftime('%m-%d', time.gmtime(ts))}</text>"
        for ts, f, anchor in at
    ]


def _point_title(p: LatencyPoint) -> str:
    """What a point's hover title says after its time: its mean (and maximum, results, failures
    when it stands for several), and the period of a rolled-up point."""
    what = f"{_ms(p.avg_ms or 0.0)}"
    if p.count > 1:
        what = f"mean {what}" + (f", max {_ms(p.max_ms)}" if p.max_ms is not None else "")
        what += f", {p.count} results"
    if p.failures:
        what += f", {_failed(p)}"
    if not p.raw:
        what += " (hourly)" if p.period == "hour" else f" ({p.period})"
    return what


def _failed(p: LatencyPoint) -> str:
    """``2 failed``, ``1 degraded``, ``2 failed, 1 degraded``: a point's failures in words."""
    down = p.failures - p.degraded
    words = [f"{down} failed"] if down else []
    return ", ".join([*words, f"{p.degraded} degraded"] if p.degraded else words)


def heartbeat_bar(beats: Sequence[Beat], *, slots: int = 30, label: str = "") -> Markup:
    """The last ``slots`` results as coloured bars, newest on the right, each with a hover title."""
    step, gap, height = 8, 2, 20
    width = slots * step
    parts = [
        f'<svg class="chart beats" viewBox="0 0 {width} {height}" preserveAspectRatio="none" '
        'role="img" '
        f'aria-label="{escape(label)} last {plural(len(beats), "result")}" data-beats="{len(beats)}">'
    ]
    offset = slots - len(beats[-slots:])
    for i in range(offset):
        parts.append(
            f'<rect class="beat none" x="{i * step}" y="0" width="{step - gap}" height="{height}" rx="2"/>'
        )
    for i, b in enumerate(beats[-slots:]):
        when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(b.ts))
        if b.ok:
            what = "ok" + ("" if b.response_time_ms is None else f", {_ms(b.response_time_ms)}")
        elif b.degraded:  # it answered: only a quality condition failed
            what = "degraded" + (
                "" if b.response_time_ms is None else f", {_ms(b.response_time_ms)}"
            )
        else:
            what = "failed" + (f": {b.error_kind}" if b.error_kind else "")
        if b.maintenance:
            what += " (maintenance window: not counted)"
        env = f"@{b.environment}" if b.environment else ""
        kind = "up" if b.ok else "maint" if b.maintenance else "degraded" if b.degraded else "down"
        parts.append(
            f'<rect class="beat {kind}" x="{(offset + i) * step}" y="0" '
            f'width="{step - gap}" height="{height}" rx="2">'
            f"<title>{escape(b.check + env)} {when}: {escape(what)}</title></rect>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))
