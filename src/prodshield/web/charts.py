"""Charts as inline SVG, drawn on the server: no JavaScript library, no CDN, works offline.

Colours come from CSS classes (the content security policy forbids inline styles).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from html import escape
from typing import Any

from markupsafe import Markup


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
        text = "no data" if up is None else f"{up:.2f}% ({d['failures']} of {d['count']} failed)"
        parts.append(
            f'<rect class="{bar_class(up)}" x="{i * step}" y="0" width="{step - 2}" height="34" '
            f'rx="1"><title>{day}: {text}</title></rect>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def latency_line(hourly: Sequence[dict[str, Any]], *, label: str = "") -> Markup:
    """Mean response time per hour as a line with a light area, its maximum labelled."""
    values = [h["avg_ms"] for h in hourly]
    known = [v for v in values if v is not None]
    width, height, pad = 240, 48, 4
    parts = [
        f'<svg class="chart latency" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(label)} response time, last {len(values)} hours">'
    ]
    if not known:
        parts.append(
            f'<text class="chart-empty" x="{width / 2}" y="{height / 2 + 4}">no data</text>'
        )
        parts.append("</svg>")
        return Markup("".join(parts))
    top = max(known) or 1.0
    n = max(1, len(values) - 1)
    points: list[tuple[float, float]] = []
    for i, v in enumerate(values):
        if v is None:
            continue
        x = pad + (width - 2 * pad) * i / n
        y = height - pad - (height - 2 * pad - 10) * (v / top)
        points.append((round(x, 1), round(y, 1)))
    line = " ".join(f"{x},{y}" for x, y in points)
    if len(points) > 1:
        area = f"{points[0][0]},{height - pad} {line} {points[-1][0]},{height - pad}"
        parts.append(f'<polygon class="area" points="{area}"/>')
        parts.append(f'<polyline class="line" points="{line}"/>')
    for x, y in points[-1:]:
        parts.append(f'<circle class="dot" cx="{x}" cy="{y}" r="2"/>')
    parts.append(f'<text class="chart-label" x="{pad}" y="10">max {top:.0f} ms</text>')
    for (x, y), v in zip(points, [v for v in values if v is not None], strict=True):
        parts.append(
            f'<circle class="hit" cx="{x}" cy="{y}" r="4"><title>{v:.0f} ms</title></circle>'
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
