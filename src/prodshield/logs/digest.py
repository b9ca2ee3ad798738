"""The daily digest: alerts (with `logs scan`'s severity words) first, then security, performance, trends and debt."""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from prodshield.logs.findings import LineSet, LogFinding, ScanResult, signal_word, where_words
from prodshield.severity import worst_first
from prodshield.text import (
    clip,
    code_span,
    controls_out,
    dumps_json,
    plural,
    reclip,
    unpaired_out,
)

OFFENDERS_COUNTED = (
    "Counted per IP: its flagged events, each once however many detectors flagged it (a failed "
    "login is one attempt, however many lines sshd and PAM wrote for it)."
)
"""What the top offending IPs count, printed under them."""
BRUTE_SHOWN = 10
"""Brute-force sources the digest's table shows (the most attempts first)."""
MESSAGE_SHOWN = 200
"""Characters of a finding's message the digest shows (Markdown and HTML); a longer one ends
with how many it left out (the HTML cell holds it whole in its title)."""
SECTION_SHOWN = 50
"""Findings a section of the HTML digest lists, and security findings the Markdown one lists."""


@dataclass
class Digest:
    title: str
    generated_at: datetime
    scan: ScanResult
    debt: dict[str, Any] | None = None

    def section(self, category: str) -> list[LogFinding]:
        return [f for f in self.scan.findings if f.category == category]

    def offenders(self) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
        """Top source IPs and users across every security finding, each offending line counted
        once. Detectors flag the same lines (a scanner's request is both a scanner_probe and a
        suspicious_user_agent, a failed login both an auth_failure and part of a brute_force)
        and different ones (a brute-forcer's logins and its probes): per IP and log file the
        count is the number of distinct lines its findings counted (``LogFinding.lines``), summed
        over files. A finding without that evidence counts as at least its own count."""
        lines: dict[tuple[str, str], list[LineSet]] = {}
        floor: Counter[tuple[str, str]] = Counter()
        users: Counter[str] = Counter()
        brute_users: Counter[str] = Counter()
        for f in self.section("security"):
            named = f.details.get("users") or {}
            for user, n in named.items():
                (brute_users if f.kind == "brute_force" else users)[user] += n
            if not f.source.get("ip"):
                continue
            key = (str(f.source["ip"]), str(f.source.get("file", "")))
            lines.setdefault(key, [])
            if len(f.lines):
                lines[key].append(f.lines)
            else:
                floor[key] = max(floor[key], f.count)
        ips: Counter[str] = Counter()
        for (ip, file), sets in lines.items():
            distinct = len(sets[0]) if len(sets) == 1 else len(set().union(*sets))
            ips[ip] += max(distinct, floor[(ip, file)])
        for user, n in brute_users.items():
            users[user] = max(users[user], n)
        return ips.most_common(10), users.most_common(10)

    def to_dict(self) -> dict[str, Any]:
        ips, users = self.offenders()
        return {
            "title": self.title,
            "generated_at": self.generated_at.isoformat(),
            "summary": self.summary(),
            "critical": [f.to_dict() for f in self.section("critical")],
            "security": {
                "findings": [f.to_dict() for f in self.section("security")],
                "top_ips": ips,
                "top_ips_counted": OFFENDERS_COUNTED,
                "top_users": users,
            },
            "performance": {
                "findings": [f.to_dict() for f in self.section("performance")],
                "slowest_endpoints": self.scan.endpoints[:10],
                "slowest_queries": self.scan.queries[:10],
            },
            "trends": [f.to_dict() for f in self.section("trend")],
            "debt": self.debt,
            "stats": self.scan.stats,
            "hourly": self.scan.to_dict()["hourly"],
        }

    def summary(self) -> str:
        """``N events: 4 alerts (4 medium), 0 security, ...``: the alerts said with the severity
        words `logs scan` prints, never all called critical."""
        counts = Counter(f.category for f in self.scan.findings)
        parts = [alerts_count(self.section("critical"))] + [
            f"{counts.get(c, 0)} {c}" for c in ("security", "performance", "trend")
        ]
        return (
            f"{plural(int(self.scan.stats.get('events', 0)), 'event')}: "
            + ", ".join(parts)
            + outside_note(self.scan.stats)
        )


def alerts_count(alerts: Sequence[LogFinding]) -> str:
    """``4 alerts (1 high, 3 medium)``: how many, by severity, worst first."""
    by = Counter(f.severity for f in alerts)
    said = ", ".join(f"{by[s]} {s}" for s in sorted(by, key=worst_first))
    return f"{len(alerts)} {'alert' if len(alerts) == 1 else 'alerts'}" + (
        f" ({said})" if said else ""
    )


def outside_note(stats: dict[str, Any]) -> str:
    """``; N events outside the window left out`` when the window (``--since`` before the newest
    line, ``--from``/``--until``) left some out: a file of another day vanished without a word."""
    n = int(stats.get("outside_window") or 0)
    if not n:
        return ""
    return (
        f"; {n:,} {'event' if n == 1 else 'events'} outside the window left out (--since, --from)"
    )


def build_digest(
    scan: ScanResult, *, title: str = "Log digest", debt: dict[str, Any] | None = None
) -> Digest:
    return Digest(title=title, generated_at=datetime.now(UTC), scan=scan, debt=debt)


def _when(f: LogFinding) -> str:
    if f.first_seen and f.last_seen and f.first_seen != f.last_seen:
        return f"{f.first_seen:%m-%d %H:%M} to {f.last_seen:%m-%d %H:%M}"
    return f"{f.first_seen:%m-%d %H:%M}" if f.first_seen else "-"


def _where(f: LogFinding) -> str:
    return where_words(f.source) or str(f.source.get("file", "-"))


def _lit(value: object, limit: int = 200) -> str:
    """Log text in Markdown: a code span (no links, mentions or markup), safe in a table cell,
    its control characters and bidirectional overrides as marks (``␛[2J``, U+FFFD), as the
    digest page shows them: a file (`--output`, a job summary) read raw hid or acted on them."""
    return code_span(reclip(controls_out(unpaired_out(str(value))), limit)).replace("|", "\\|")


def _said(f: LogFinding) -> str:
    """What a finding says: its message, else its first sample line."""
    return f.message or (f.samples[0] if f.samples else "")


def _bullet(f: LogFinding) -> str:
    """A finding as a Markdown list item: kind, severity, count, where, when and its message."""
    said = _lit(_said(f), MESSAGE_SHOWN)
    return f"- **{f.kind}** {f.severity} x{f.count} ({_lit(_where(f))}, {_when(f)}): {said}"


def _detail_html(f: LogFinding) -> str:
    """A finding's message as an HTML cell, cut as the Markdown digest cuts it (saying how much
    it left out), the whole message in the cell's title when it was cut."""
    said = controls_out(unpaired_out(_said(f)))
    shown = reclip(said, MESSAGE_SHOWN)
    if shown == said:
        return f"<td>{html.escape(said)}</td>"
    return f'<td title="{html.escape(said)}">{html.escape(shown)}</td>'


def _security_bullets(sec: Sequence[LogFinding]) -> list[str]:
    """Each security finding, as HTML and JSON list them (a leaked secret with its masked form
    and places); brute-force sources have their own table."""
    listed = [f for f in sec if f.kind != "brute_force"]
    lines = ["", *(_bullet(f) for f in listed[:SECTION_SHOWN])] if listed else []
    if len(listed) > SECTION_SHOWN:
        lines += ["", f"_and {len(listed) - SECTION_SHOWN} more (`logs scan` lists them all)_"]
    return lines


def render_markdown(d: Digest) -> str:
    """The digest as Markdown; every text that came from the logs is a code span."""
    md = _lit
    lines = [
        f"# {d.title}",
        "",
        f"_{d.summary()}_ · generated {d.generated_at:%Y-%m-%d %H:%M} UTC",
        "",
    ]
    lines += ["## Alerts", ""]
    # The scan's critical category, as the header counts it and the JSON and HTML list it: a
    # critical security finding (a leaked secret) is under Security.
    crit = d.section("critical")
    if not crit:
        lines.append("None.")
    lines += [_bullet(f) for f in crit]
    ips, users = d.offenders()
    lines += ["", "## Security", ""]
    sec = d.section("security")
    kinds: Counter[str] = Counter()
    for f in sec:
        kinds[f.kind] += f.count
    lines.append(", ".join(f"{k}: {n}" for k, n in kinds.most_common()) or "Nothing.")
    lines += _security_bullets(sec)
    # the biggest first: the table shows 10, and says how many more logs scan lists
    brute = sorted((f for f in sec if f.kind == "brute_force"), key=lambda f: -f.count)
    if brute:
        lines += [
            "",
            "| brute force from | attempts | peak in window | users tried |",
            "| --- | ---: | ---: | --- |",
        ]
        lines += [
            f"| {md(f.source.get('ip'))} | {f.count} | {f.details.get('max_failures_in_window')} | "
            f"{md(', '.join(list(f.details.get('users', {}))[:5]))} |"
            for f in brute[:BRUTE_SHOWN]
        ]
        if len(brute) > BRUTE_SHOWN:
            lines += ["", f"_and {len(brute) - BRUTE_SHOWN} more (`logs scan` lists them all)_"]
    if ips:
        lines += [
            "",
            "Top offending IPs: " + ", ".join(f"{md(ip)} ({n})" for ip, n in ips),
            "",
            f"_{OFFENDERS_COUNTED}_",
        ]
    if users:
        lines += ["", "Top targeted users: " + ", ".join(f"{md(u)} ({n})" for u, n in users)]
    lines += ["", "## Performance", ""]
    if d.scan.endpoints:
        lines += [
            "| endpoint | requests | 5xx rate | p50 | p95 | p99 |",
            "| --- | ---: | ---: | ---: | ---: | ---: |",
        ]
        for e in d.scan.endpoints[:10]:
            lines.append(
                f"| {md(e['endpoint'])} | {e['requests']} | {_rate(e)} | {_ms(e['p50_ms'])} | "
                f"{_ms(e['p95_ms'])} | {_ms(e['p99_ms'])} |"
            )
    if d.scan.queries:
        lines += ["", "| slowest queries | calls | max | p95 |", "| --- | ---: | ---: | ---: |"]
        lines += [
            f"| {md(q['query'], 120)} | {q['calls']} | {_ms(q['max_ms'])} | {_ms(q['p95_ms'])} |"
            for q in d.scan.queries[:10]
        ]
    perf = d.section("performance")
    if perf and (d.scan.endpoints or d.scan.queries):
        lines.append("")  # a list right after a table would be read as its last row
    for f in perf:
        lines.append(f"- **{f.kind}** ({md(_where(f), 120)}): {md(f.message)}")
    if not (d.scan.endpoints or d.scan.queries or d.section("performance")):
        lines.append("No request or query timings in these logs.")
    lines += ["", "## New and spiking templates", ""]
    trends = d.section("trend")
    lines += [
        f"- **{f.kind}** x{f.count}: {md(f.message, MESSAGE_SHOWN)}" for f in trends[:30]
    ] or ["No baseline, or nothing new."]
    lines += ["", "## Technical debt", ""]
    if d.debt:
        lines.append(_debt_headline(d.debt))
        oldest = d.debt.get("oldest") or []
        if oldest:
            lines += [
                "",
                "| age (days) | marker | where | author | text |",
                "| ---: | --- | --- | --- | --- |",
            ]
            lines += [
                f"| {_age(i.get('age_days'))} | {md(i['marker'])} | {md(_debt_where(i))} "
                f"| {md(i['author'])} | {md(i['text'], 100)} |"
                for i in oldest
            ]
    else:
        lines.append("Not collected (pass --debt REPO).")
    return "\n".join(lines) + "\n"


def _debt_headline(debt: dict[str, Any]) -> str:
    delta = debt.get("delta")
    since = (
        f"; +{len(delta.get('added', []))} new, -{len(delta.get('removed', []))} resolved "
        "since the previous run"
        if delta
        else "; no earlier run in the store to compare with"
    )
    return plural(int(debt.get("total", 0)), "marker") + since


def _debt_where(item: dict[str, Any]) -> str:
    return f"{item['path']}:{item['line']}"


def _age(days: float | None) -> str:
    return "-" if days is None else f"{days:.0f}"


def _rate(endpoint: dict[str, Any]) -> str:
    """An endpoint's 5xx share as its finding words it: from the counts, not the stored rate
    (rounded to 4 places, 108 of 834 is 0.1295 and printed 13.0% beside the finding's 12.9%)."""
    requests = endpoint.get("requests") or 0
    errors = endpoint.get("errors")
    rate = errors / requests if errors is not None and requests else endpoint["error_rate"]
    return f"{rate:.1%}"


def _ms(v: float | None) -> str:
    return "-" if v is None else f"{v:.0f} ms"


def render_json(d: Digest) -> str:
    return dumps_json(d.to_dict())


_CSS = """body{font:14px/1.5 system-ui,sans-serif;margin:2rem auto;max-width:1100px;color:#1d2430;padding:0 1rem}
h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:2rem;border-bottom:1px solid #dde}table{border-collapse:collapse}
td,th{padding:.25rem .6rem;border-bottom:1px solid #eef;text-align:left;vertical-align:top}td.n{text-align:right}
.crit{color:#c92a2a;font-weight:600}.chip{display:inline-block;padding:0 .5rem;border-radius:1rem;background:#eef;margin-right:.3rem}
svg text{font:11px system-ui,sans-serif;fill:#445}"""


CHAR_W = 6.6
"""A generous width of one 11 px system-ui character: labels are laid out with it, never clipped."""
LABEL_CHARS = 44
"""Longer bar labels are shortened with an ellipsis (the full text is the row's tooltip)."""


def _text_width(text: str) -> float:
    return len(text) * CHAR_W


def _bars_svg(items: Sequence[tuple[str, float]], *, width: int = 640, unit: str = "") -> str:
    """Horizontal bars: the label on the left, the value just after its bar. The label column
    and the value column are sized from their texts, so the largest value is never cut off."""
    if not items:
        return ""
    top = max(v for _, v in items) or 1.0
    row = 18
    labels = [
        label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1] + "…" for label, _ in items
    ]
    values = [f"{v:,.0f}{unit}" for _, v in items]
    label_w = min(max(_text_width(x) for x in labels) + 10, width * 0.45)
    value_w = max(_text_width(x) for x in values) + 6
    span = max(20.0, width - label_w - value_w)
    out = [
        f'<svg class="bars" width="{width}" height="{row * len(items) + 4}" role="img" aria-label="bar chart">'
    ]
    for i, ((label, v), shown, value) in enumerate(zip(items, labels, values, strict=True)):
        w = span * v / top
        out.append(
            f"<g><title>{html.escape(label)}: {html.escape(value)}</title>"
            f'<text class="label" x="0" y="{i * row + 13}">{html.escape(shown)}</text>'
            f'<rect x="{label_w:.1f}" y="{i * row + 3}" width="{w:.1f}" height="12" fill="#4263eb"/>'
            f'<text class="value" x="{label_w + w + 4:.1f}" y="{i * row + 13}">{html.escape(value)}</text></g>'
        )
    out.append("</svg>")
    return "".join(out)


def _hour_of(key: str) -> datetime | None:
    try:
        return datetime.strptime(key, "%Y-%m-%dT%H:%M").replace(tzinfo=UTC)
    except ValueError:
        return None


MAX_HOURS = 24 * 62
"""A timeline spanning more hours than this charts only the hours that have events."""


def _tick_label(hour: datetime, first: bool) -> str:
    """``Dec 4, 14:00`` for the first tick, ``Dec 5`` at midnight, ``16:00`` otherwise."""
    day = f"{hour:%b} {hour.day}"
    if first:
        return f"{day}, {hour:%H:%M}"
    return day if hour.hour == 0 else f"{hour:%H:%M}"


def _timeline_svg(hourly: dict[str, tuple[int, int]], width: int = 900, height: int = 120) -> str:
    """Events per hour (UTC) as bars, an empty slot for each hour without events, and a few
    readable time labels (``Dec 4, 14:00`` ... ``18:00`` ... ``Dec 5``) that never overlap."""
    if not hourly:
        return ""
    parsed = {key: _hour_of(key) for key in hourly}
    known = sorted(h for h in parsed.values() if h is not None)
    slots: list[tuple[datetime | None, str]]
    if len(known) == len(parsed) and (known[-1] - known[0]).total_seconds() / 3600 < MAX_HOURS:
        count = int((known[-1] - known[0]).total_seconds() // 3600) + 1
        by_hour = {h: key for key, h in parsed.items() if h is not None}
        slots = []
        for i in range(count):
            slot = datetime.fromtimestamp(known[0].timestamp() + i * 3600, UTC)
            slots.append((slot, by_hour.get(slot, "")))
    else:
        slots = [(parsed[key], key) for key in hourly]
    top = max(n for n, _ in hourly.values()) or 1
    bw = width / len(slots)
    out = [
        f'<svg class="timeline" width="{width}" height="{height + 18}" role="img" '
        'aria-label="events per hour">'
    ]
    for i, (hour, key) in enumerate(slots):
        n, e = hourly.get(key, (0, 0)) if key else (0, 0)
        if not n:
            continue
        when = f"{hour:%b} {hour.day}, {hour:%H}:00 UTC" if hour else key
        hn, he = height * n / top, height * e / top
        out.append(
            f'<rect x="{i * bw:.1f}" y="{height - hn:.1f}" width="{max(bw - 1, 1):.1f}" height="{hn:.1f}" fill="#a5b4fc"><title>{html.escape(when)}: {plural(n, "event")}, {plural(e, "error")}</title></rect>'
        )
        if e:
            out.append(
                f'<rect x="{i * bw:.1f}" y="{height - he:.1f}" width="{max(bw - 1, 1):.1f}" height="{he:.1f}" fill="#e03131"/>'
            )
    # labels: every `step` hours (1, 2, 3, 6, 12 or 24) so that they keep ~20 px apart
    widest = _text_width("Dec 30, 00:00") + 20
    step = next((s for s in (1, 2, 3, 6, 12, 24) if width / len(slots) * s >= widest), len(slots))
    right_edge = float("-inf")
    for i, (hour, key) in enumerate(slots):
        if i and (hour is None or hour.hour % step):
            continue
        label = _tick_label(hour, first=i == 0) if hour is not None else key
        centre = i * bw + bw / 2
        half = _text_width(label) / 2
        x = min(max(centre, half), width - half)  # kept inside the chart at both ends
        if x - half < right_edge + 8:
            continue
        right_edge = x + half
        out.append(
            f'<line x1="{centre:.1f}" x2="{centre:.1f}" y1="{height}" y2="{height + 4}" stroke="#99a"/>'
            f'<text class="tick" x="{x:.1f}" y="{height + 15}" text-anchor="middle">{html.escape(label)}</text>'
        )
    out.append("</svg>")
    return "".join(out)


def render_html(d: Digest) -> str:
    """One self-contained page: inline CSS and SVG charts, no scripts, no external requests."""
    e = html.escape
    body = markdown_sections_html(d)
    endpoints = _bars_svg(
        [(x["endpoint"], x["p95_ms"] or 0) for x in d.scan.endpoints[:12]], unit=" ms"
    )
    kinds: Counter[str] = Counter()
    for f in d.scan.findings:
        # the scan table's words for a category (``failure``, never a word that reads as a severity)
        kinds[f"{signal_word(f.category)}/{f.kind}"] += f.count
    page = f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{e(d.title)}</title>
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<style>{_CSS}</style></head><body><h1>{e(d.title)}</h1><p>{e(d.summary())} · generated {d.generated_at:%Y-%m-%d %H:%M} UTC</p>
<h2>Events per hour (UTC, errors in red)</h2>{_timeline_svg(d.scan.hourly)}
<h2>Findings by kind</h2>{_bars_svg(kinds.most_common(15))}
{body}
<h2>Slowest endpoints (p95)</h2>{endpoints or "<p>No request timings.</p>"}
{_endpoint_tables_html(d)}
</body></html>
"""
    # log lines quoted on the page lose their controls and bidirectional overrides (a U+202E
    # would reverse the rest of its row); the page's own HTML has none
    return controls_out(page)


def _endpoint_tables_html(d: Digest) -> str:
    """The Markdown digest's per-endpoint table (requests, 5xx rate, p50/p95/p99) and slowest
    queries, as HTML."""
    e = html.escape
    parts = []
    if d.scan.endpoints:
        rows = "".join(
            f"<tr><td>{e(x['endpoint'])}</td><td class=n>{x['requests']}</td>"
            f"<td class=n>{_rate(x)}</td><td class=n>{_ms(x['p50_ms'])}</td>"
            f"<td class=n>{_ms(x['p95_ms'])}</td><td class=n>{_ms(x['p99_ms'])}</td></tr>"
            for x in d.scan.endpoints[:10]
        )
        parts.append(
            "<table class=endpoints><tr><th>endpoint</th><th>requests</th><th>5xx rate</th>"
            f"<th>p50</th><th>p95</th><th>p99</th></tr>{rows}</table>"
        )
    if d.scan.queries:
        rows = "".join(
            f"<tr><td>{e(clip(q['query'], 120))}</td><td class=n>{q['calls']}</td>"
            f"<td class=n>{_ms(q['max_ms'])}</td><td class=n>{_ms(q['p95_ms'])}</td></tr>"
            for q in d.scan.queries[:10]
        )
        parts.append(
            "<h2>Slowest queries</h2><table class=queries><tr><th>query</th><th>calls</th>"
            f"<th>max</th><th>p95</th></tr>{rows}</table>"
        )
    return "".join(parts)


def markdown_sections_html(d: Digest) -> str:
    e = html.escape
    parts = []
    for title, category in (
        ("Alerts", "critical"),
        ("Security", "security"),
        ("Performance", "performance"),
        ("Trends", "trend"),
    ):
        rows = (
            "".join(
                f"<tr><td class='{'crit' if f.severity == 'critical' else ''}'>{e(f.kind)}</td><td>{e(f.severity)}</td>"
                f"<td class=n>{f.count}</td><td>{e(_where(f))}</td><td>{e(_when(f))}</td>{_detail_html(f)}</tr>"
                for f in d.section(category)[:SECTION_SHOWN]
            )
            or "<tr><td colspan=6>None.</td></tr>"
        )
        parts.append(
            f"<h2>{title}</h2><table><tr><th>kind</th><th>severity</th><th>count</th><th>source</th><th>when</th><th>detail</th></tr>{rows}</table>"
        )
        if len(d.section(category)) > SECTION_SHOWN:
            more = len(d.section(category)) - SECTION_SHOWN
            parts.append(f"<p><small>and {more} more (logs scan lists them all)</small></p>")
    ips, users = d.offenders()
    if ips:
        parts.append(
            "<p>Top offending IPs: "
            + "".join(f"<span class=chip>{e(ip)} ({n})</span>" for ip, n in ips)
            + f"<br><small>{e(OFFENDERS_COUNTED)}</small></p>"
        )
    if users:
        parts.append(
            "<p>Top targeted users: "
            + "".join(f"<span class=chip>{e(u)} ({n})</span>" for u, n in users)
            + "</p>"
        )
    if d.debt:
        rows = "".join(
            f"<tr><td class=n>{_age(i.get('age_days'))}</td><td>{e(i['marker'])}</td>"
            f"<td>{e(i['path'])}:{i['line']}</td><td>{e(i['author'])}</td><td>{e(i['text'])}</td></tr>"
            for i in d.debt.get("oldest") or []
        )
        parts.append(
            f"<h2>Technical debt</h2><p>{e(_debt_headline(d.debt))}.</p>"
            + (
                "<table><tr><th>age (days)</th><th>marker</th><th>where</th><th>author</th>"
                f"<th>text</th></tr>{rows}</table>"
                if rows
                else ""
            )
        )
    return "".join(parts)
