"""What the status page offers beyond its HTML: an Atom feed of incidents and their written
updates, and SVG badges (a check's or an environment's state, its 30-day uptime) for READMEs.
Both are public, like the status page, and show only what it shows."""

from __future__ import annotations

import hashlib
import re
import time
from typing import Any
from xml.sax.saxutils import escape as xml_escape

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from prodshield.text import for_page, percent
from prodshield.web.context import ctx_of

QUOTE = {'"': "&quot;"}
FEED_DAYS = 90
FEED_INCIDENTS = 50


_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
"""Characters XML 1.0 does not allow (one in a feed makes the whole feed unreadable)."""


def escape(text: str, entities: dict[str, str] | None = None) -> str:
    """Text for the feed or a badge: control characters and bidirectional overrides shown as
    inert marks (as on the status page, `text.for_page`), then anything else XML forbids dropped,
    then ``&``, ``<``, ``>`` (and ``entities``) escaped. An update holding a terminal escape made
    the feed invalid XML."""
    clean = _NOT_XML.sub("", str(for_page(text)))
    return xml_escape(clean, entities or {})


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def feed_xml(
    model: Any,
    *,
    base_url: str,
    title: str,
    feed_path: str = "/status/feed.atom",
    now: float | None = None,
) -> str:
    """Atom 1.0: one entry per incident (opened, resolved) and one per written update.

    ``base_url`` is where the status page is (its entries link to ``#incident-N`` there) and
    ``feed_path`` the feed's own path under it. A relative ``base_url`` (a static site whose
    address is not known) keeps the links relative, which readers resolve against the feed's own
    address; the feed's ``<id>``, which Atom wants absolute and permanent, is then a URN made
    from the title."""
    now = time.time() if now is None else now
    incidents = model.with_updates(
        model.incidents(since=now - FEED_DAYS * 86400, limit=FEED_INCIDENTS)
    )
    base = base_url.rstrip("/")
    entries: list[tuple[float, str]] = []
    for i in incidents:
        where = f" [{i.environment}]" if i.environment else ""
        name = f"{i.check}{where}"
        state = "resolved" if i.status == "resolved" else "ongoing"
        summary = (i.title or f"{name}: {i.kind}") + f" ({state})"
        if i.postmortem:
            summary += f". Post-mortem: {i.postmortem}"
        updates = i.updates or []
        last = max([i.opened_at, i.resolved_at or 0.0, *(u["ts"] for u in updates)])
        entries.append(
            (
                last,
                _entry(
                    f"{base}/#incident-{i.id}",
                    f"urn:prodshield:incident:{i.id}",
                    f"Incident: {summary}",
                    i.opened_at,
                    last,
                    summary,
                    related=i.postmortem,
                ),
            )
        )
        for n, u in enumerate(updates, 1):
            entries.append(
                (
                    u["ts"],
                    _entry(
                        f"{base}/#incident-{i.id}",
                        f"urn:prodshield:incident:{i.id}:update:{n}",
                        f"Update on {name}: {u['text'][:80]}",
                        u["ts"],
                        u["ts"],
                        u["text"],
                    ),
                )
            )
    entries.extend(_maintenance_entries(model, base, now))
    entries.sort(key=lambda e: e[0], reverse=True)
    updated = entries[0][0] if entries else now
    head = (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<feed xmlns="http://www.w3.org/2005/Atom">\n'
        f"<title>{escape(title)}</title>\n"
        f'<link href="{escape(base)}/" rel="alternate"/>\n'
        f'<link href="{escape(base)}{feed_path}" rel="self"/>\n'
        f"<id>{escape(_feed_id(base, feed_path, title))}</id>\n"
        f"<updated>{_iso(updated)}</updated>\n"
        "<author><name>prodshield</name></author>\n"
    )
    return head + "".join(e[1] for e in entries) + "</feed>\n"


def _feed_id(base: str, feed_path: str, title: str) -> str:
    if "://" in base:
        return base + feed_path
    digest = hashlib.sha256(title.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return f"urn:prodshield:feed:{digest}"


def _maintenance_entries(model: Any, base: str, now: float) -> list[tuple[float, str]]:
    """One entry per maintenance run the status page shows: published when it came within its
    ``announce`` (so a reader sees it ahead), updated when it started."""
    out = []
    windows = model.config.maintenance
    for m in model.maintenance(now):
        announce = windows[m["window"]].announce
        published = min(now, max(m["start"] - announce, 0.0))
        updated = m["start"] if m["ongoing"] else published
        when = f"{_utc(m['start'])} to {_utc(m['end'])}"
        services = ", ".join(
            s["name"] + (f" [{s['environment']}]" if s["environment"] else "")
            for s in m["services"]
        )
        state = "in progress" if m["ongoing"] else "scheduled"
        text = f"{m['name']} ({state}, {when})" + (
            f": {m['description']}" if m["description"] else ""
        )
        text += f". Services: {services or 'all'}. Not counted against uptime."
        out.append(
            (
                updated,
                _entry(
                    f"{base}/#maintenance",
                    f"urn:prodshield:maintenance:{m['name']}:{int(m['start'])}",
                    f"Maintenance {state}: {m['name']} ({when})",
                    published,
                    updated,
                    text,
                ),
            )
        )
    return out


def _utc(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(ts))


def _entry(
    link: str,
    urn: str,
    title: str,
    published: float,
    updated: float,
    text: str,
    *,
    related: str | None = None,
) -> str:
    extra = f'<link rel="related" href="{escape(related, QUOTE)}"/>\n' if related else ""
    return (
        "<entry>\n"
        f"<title>{escape(title)}</title>\n"
        f'<link href="{escape(link, QUOTE)}"/>\n' + extra + f"<id>{escape(urn)}</id>\n"
        f"<published>{_iso(published)}</published>\n"
        f"<updated>{_iso(updated)}</updated>\n"
        f'<summary type="text">{escape(text)}</summary>\n'
        "</entry>\n"
    )


# --- badges ------------------------------------------------------------------------------------

COLOURS = {
    "up": "#12b76a",
    "degraded": "#f79009",
    "down": "#f04438",
    "unknown": "#98a2b3",
}
WORDS = {"up": "up", "degraded": "degraded", "down": "down", "unknown": "unknown"}


def _width(text: str) -> int:
    # Verdana-ish 11 px: about 6.5 px a character, plus padding
    return int(len(text) * 6.5) + 12


def badge_svg(label: str, value: str, colour: str) -> str:
    """A flat two-part badge (label | value) that renders without fonts loaded from anywhere."""
    lw, vw = _width(label), _width(value)
    total = lw + vw
    label_x, value_x = lw / 2, lw + vw / 2
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{total}" height="20" role="img" '
        f'aria-label="{escape(label)}: {escape(value)}">'
        f"<title>{escape(label)}: {escape(value)}</title>"
        f'<rect width="{lw}" height="20" fill="#555"/>'
        f'<rect x="{lw}" width="{vw}" height="20" fill="{colour}"/>'
        '<g fill="#fff" text-anchor="middle" font-family="Verdana,DejaVu Sans,sans-serif" '
        'font-size="11">'
        f'<text x="{label_x}" y="14">{escape(label)}</text>'
        f'<text x="{value_x}" y="14" class="value">{escape(value)}</text>'
        "</g></svg>"
    )


def uptime_colour(uptime: float | None) -> str:
    """The badge colour of an uptime in percent (as every uptime figure is, 0 to 100)."""
    if uptime is None:
        return COLOURS["unknown"]
    if uptime >= 99.9:
        return COLOURS["up"]
    if uptime >= 99.0:
        return "#a6d94a"
    if uptime >= 95.0:
        return COLOURS["degraded"]
    return COLOURS["down"]


def _svg(body: str) -> Response:
    return Response(
        body,
        media_type="image/svg+xml",
        headers={"cache-control": "max-age=60", "content-security-policy": "default-src 'none'"},
    )


def _status_svg(label: str, status: str) -> Response:
    status = status if status in COLOURS else "unknown"
    return _svg(badge_svg(label, WORDS[status], COLOURS[status]))


def _uptime_svg(label: str, uptime: float | None) -> Response:
    value = percent(uptime, "no data")
    return _svg(badge_svg(label, value, uptime_colour(uptime)))


async def _check_badge(request: Request, what: str) -> Response:
    """A check's badge, ``status`` or ``uptime``, in one environment with ``?environment=``."""
    ctx = ctx_of(request)
    name = request.path_params["name"]
    env = request.query_params.get("environment")
    found = await ctx.work.run(ctx.model.badge, name, env)
    if found is None:
        return _svg(badge_svg(name[:40], "not found", COLOURS["unknown"]))
    if what == "status":
        label = name if env is None else f"{name} ({env})"
        return _status_svg(label[:60], found.status)
    label = "uptime 30d" if env is None else f"uptime 30d ({env})"
    return _uptime_svg(label[:60], found.uptime_30d)


async def status_badge(request: Request) -> Response:
    return await _check_badge(request, "status")


async def uptime_badge(request: Request) -> Response:
    return await _check_badge(request, "uptime")


async def environment_badge(request: Request) -> Response:
    """An environment's state (the worst of its checks) or its 30-day uptime (the lowest)."""
    ctx = ctx_of(request)
    env = request.path_params["environment"]
    what = request.path_params["what"]
    if what not in ("status", "uptime"):
        return Response("not found", status_code=404)
    found = await ctx.work.run(ctx.model.badge, None, env)
    if found is None:
        return _svg(badge_svg(env[:40], "not found", COLOURS["unknown"]))
    if what == "status":
        return _status_svg(env[:60], found.status)
    return _uptime_svg(f"{env[:50]} uptime 30d", found.uptime_30d)


async def feed(request: Request) -> Response:
    ctx = ctx_of(request)
    base = ctx.loaded.config.serve.public_url or str(request.base_url)
    title = f"{ctx.title}: incidents and updates"

    def build() -> bytes:
        return feed_xml(ctx.model, base_url=base, title=title).encode()

    key = ("feed", base)
    body = ctx.responses.fresh(key) or await ctx.work.run(ctx.responses.get, key, build)
    return Response(body, media_type="application/atom+xml", headers={"cache-control": "no-cache"})


routes = [
    Route("/status/feed.atom", feed, methods=["GET"]),
    Route("/badge/env/{environment}/{what}.svg", environment_badge, methods=["GET"]),
    Route("/badge/{name}/uptime.svg", uptime_badge, methods=["GET"]),
    Route("/badge/{name}.svg", status_badge, methods=["GET"]),
]
