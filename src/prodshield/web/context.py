"""What every endpoint needs, built once by :func:`~prodshield.web.app.create_app`."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from starlette.requests import Request

from prodshield.config import LoadedConfig
from prodshield.config.types import format_elapsed
from prodshield.monitor.heartbeats import WAITING, WAITING_LABEL
from prodshield.monitor.incident_machine import WARNING_KINDS
from prodshield.monitor.incidents import shown_name
from prodshield.monitor.read import ReadModel
from prodshield.store import Store
from prodshield.text import for_page, percent, reclip
from prodshield.web.charts import (
    heartbeat_bar,
    response_chart,
    spark_counts,
    uptime_bars,
)
from prodshield.web.cost import span
from prodshield.web.markdown import markdown_html
from prodshield.web.metrics import WebMetrics
from prodshield.web.microcache import ResponseCache
from prodshield.web.security import Guard
from prodshield.web.services import Services
from prodshield.web.work import PageWork, Probe, write_work

if TYPE_CHECKING:  # imported by the first page rendered (``Templates``), not at every start
    import jinja2

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"


def _ago(ts: float | None) -> str:
    if ts is None:
        return "never"
    return _duration(max(0.0, time.time() - ts)) + " ago"


def _duration(seconds: float | None) -> str:
    """``1m 5s``, ``2h 3m`` (`format_elapsed`, as the CLI's `incident list` says an incident's
    duration); never negative (a clock step or a bad row shows as ``0s``)."""
    if seconds is None:
        return "-"
    return format_elapsed(seconds)


def _utc(ts: float | str | None) -> str:
    """A time to the second in UTC, from a Unix time or ISO 8601 text (a stored digest's)."""
    if ts is None or ts == "":
        return "-"
    if isinstance(ts, str):
        try:
            parsed = datetime.fromisoformat(ts)
        except ValueError:
            return ts
        ts = (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(ts))


def _pct(value: float | None) -> str:
    return percent(value)


def _ms(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.1f} ms" if value < 10 and value != int(value) else f"{value:.0f} ms"


def _bytes(value: float | None) -> str:
    if value is None:
        return "-"
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} PiB"


KINDS = {
    "manual": "reported",
    "down": "down",
    "degraded": "degraded",
    "certificate": "certificate expiring",
    "heartbeat": "heartbeat missed",
    "flapping": "flapping",
    "slo": "error budget burn",
}


def _kind(kind: str | None) -> str:
    """An incident kind as a reader says it (``certificate`` -> "certificate expiring")."""
    kind = kind or "down"
    return KINDS.get(kind, kind.replace("_", " "))


AREAS = {
    "critical": "critical patterns",
    "security": "security",
    "performance": "performance",
    "trend": "trends",
}


def _area(category: str | None) -> str:
    """A log finding's category as the detector family it names (not a second severity)."""
    return AREAS.get(category or "", category or "-")


def _headline(incident: Any) -> str:
    """An incident's title where its environment is already shown beside it (a badge): the
    ``[production] `` the notifications' titles start with is left out."""

    def value(key: str) -> Any:
        # a typed view (monitor.views.IncidentView) on the pages, a dict in the static site
        if isinstance(incident, Mapping):
            return incident.get(key)
        return getattr(incident, key, None)

    title = str(value("title") or "")
    env = value("environment")
    prefix = f"[{env}] " if env else ""
    return title[len(prefix) :] if prefix and title.startswith(prefix) else title


def _target(incident: Any) -> tuple[str, str]:
    """What an incident is about and the dashboard page to link it to ("": none): a check's
    incident links to its check; a manual one has no page; a service SLO incident reads
    ``payments (service)`` and links to the check whose results opened it, whose page shows the
    service's SLO (its target ``service:NAME`` is no check)."""

    def value(key: str) -> Any:
        # a typed view (monitor.views.IncidentView) on the pages, a dict in tests and exports
        if isinstance(incident, Mapping):
            return incident.get(key)
        return getattr(incident, key, None)

    check, kind = str(value("check")), str(value("kind") or "")
    if kind == "manual":
        return check, ""
    label = shown_name(check, kind)
    if label != check:
        opened_by = (value("refs") or {}).get("policy_check")
        if not opened_by:
            return label, ""
        environment = value("environment")
        env = f"?environment={quote(environment, safe='')}" if environment else ""
        return label, f"/dashboard/checks/{_segment(opened_by)}{env}"
    return label, f"/dashboard/checks/{_segment(check)}"


def _state(status: str) -> str:
    """A check's state in words (``waiting``: a heartbeat never pinged)."""
    return WAITING_LABEL if status == WAITING else status


def _segment(value: object) -> str:
    """One URL path segment: every reserved character quoted, ``/`` included (a check named
    ``a/b`` or ``../x`` links to itself, not to another path)."""
    return quote(str(value), safe="")


def make_templates() -> jinja2.Environment:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=jinja2.select_autoescape(["html", "xml"]),
        # every value a page shows comes without controls or bidirectional overrides: a log
        # line's U+202E would reverse the rest of its row on the page
        finalize=for_page,
        extensions=["jinja2.ext.do"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        ago=_ago,
        duration=_duration,
        utc=_utc,
        pct=_pct,
        bytes=_bytes,
        kind=_kind,
        ms=_ms,
        state=_state,
        headline=_headline,
        target=_target,
    )
    env.filters.update(segment=_segment, area=_area, markdown=markdown_html, span=span, clip=reclip)
    env.globals.update(
        uptime_bars=uptime_bars,
        spark=spark_counts,
        response_chart=response_chart,
        heartbeat_bar=heartbeat_bar,
        warning_kinds=WARNING_KINDS,
    )
    return env


class Templates:
    """The pages' Jinja environment (:func:`make_templates`), made when the first page renders:
    a ``serve`` that only follows logs and answers ``/metrics`` never imports jinja2."""

    def __init__(self) -> None:
        self._env: jinja2.Environment | None = None

    @property
    def env(self) -> jinja2.Environment:
        if self._env is None:
            self._env = make_templates()
        return self._env

    def get_template(self, name: str) -> jinja2.Template:
        return self.env.get_template(name)


@dataclass
class WebContext:
    loaded: LoadedConfig
    store: Store
    model: ReadModel
    guard: Guard
    services: Services
    templates: Templates
    metrics: WebMetrics
    responses: ResponseCache = field(default_factory=ResponseCache)
    scrapes: ResponseCache = field(default_factory=lambda: ResponseCache(0.0))
    """``/metrics`` (public, megabytes for thousands of checks): never older than the last render,
    but requests that arrive while one renders get the previous body instead of a render each."""
    work: PageWork = field(default_factory=PageWork)
    """The heavy pages' bounded pool (:mod:`prodshield.web.work`): ``await ctx.work.run(fn)``."""
    writes: PageWork = field(default_factory=write_work)
    """The write routes' bounded pool (:func:`prodshield.web.work.write_work`):
    ``await ctx.writes.run(fn)`` for anything that writes to the store."""
    probe: Probe = field(default_factory=Probe)
    """``/readyz``'s store check, on a thread of its own."""
    started_at: float = field(default_factory=time.time)
    ready: bool = False
    bound: tuple[str, int] | None = None
    """The (host, port) ``serve`` listens on, once bound (``serve.port: 0`` picks the port)."""

    @property
    def title(self) -> str:
        return self.loaded.config.serve.title

    def render(self, name: str, **context: Any) -> str:
        context.setdefault("title", self.title)
        context.setdefault("static", "/static/")
        context.setdefault("root", "/")
        return self.templates.get_template(name).render(**context)


def ctx_of(request: Request) -> WebContext:
    ctx: WebContext = request.app.state.ctx
    return ctx
