"""``prodshield status build``: the status page as a static site (for GitHub Pages).

The same template and charts as the live page; assets are copied beside ``index.html`` and every
link is relative, so the folder works from any path and offline.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from prodshield.config import LoadedConfig
from prodshield.monitor.aggregates import AggregateCache
from prodshield.monitor.read import ReadModel
from prodshield.store import Store
from prodshield.web.context import STATIC, Templates, WebContext
from prodshield.web.metrics import WebMetrics
from prodshield.web.pages import status_context
from prodshield.web.public import feed_xml
from prodshield.web.rollup import rollup_pending
from prodshield.web.security import Guard
from prodshield.web.services import Services


@dataclass
class SiteReport:
    out: Path
    pages: int
    services: int
    files: list[Path]


def build_site(
    loaded: LoadedConfig,
    store: Store,
    out: Path,
    *,
    per_page: int = 100,
    rollup: bool = True,
    base_url: str | None = None,
) -> SiteReport:
    """Render the status page (every page of services) and its assets into ``out``.

    ``base_url`` is the address the site is published at (its feed's links are absolute then);
    without it they are relative to the feed, which sits beside ``index.html``."""
    if rollup:
        rollup_pending(store)
    model = ReadModel(store, loaded.config, AggregateCache(store, ttl=3600.0))
    ctx = WebContext(
        loaded=loaded,
        store=store,
        model=model,
        guard=Guard("static-site-has-no-login"),
        services=Services(),
        templates=Templates(),
        metrics=WebMetrics(),
    )
    out.mkdir(parents=True, exist_ok=True)
    static_out = out / "static"
    static_out.mkdir(exist_ok=True)
    files: list[Path] = []
    for asset in STATIC.iterdir():
        if asset.is_file():
            shutil.copyfile(asset, static_out / asset.name)
            files.append(static_out / asset.name)
    first = status_context(ctx, 1, per_page)
    pages = first["overview"]["pages"]
    for page in range(1, pages + 1):
        data = first if page == 1 else status_context(ctx, page, per_page)
        html = ctx.render(
            "status.html", **data, static_site=True, static="static/", root="index.html"
        )
        if pages > 1:
            html = html.replace('href="?page=1"', 'href="index.html"')
            for n in range(2, pages + 1):
                html = html.replace(f'href="?page={n}"', f'href="page-{n}.html"')
        target = out / ("index.html" if page == 1 else f"page-{page}.html")
        target.write_text(html, encoding="utf-8")
        files.append(target)
    summary = {
        "generated_at": first["generated_at"],
        "headline": first["headline"],
        "level": first["level"],
        "detail": first["headline_detail"],
        "services": first["overview"]["total"],
        "counts": first["overview"]["counts"],
        "open_incidents": len(first["open_incidents"]),
        "maintenance": [
            {k: m[k] for k in ("name", "description", "start", "end", "ongoing", "services")}
            for m in first["maintenance"]
        ],
    }
    (out / "status.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    files.append(out / "status.json")
    feed = feed_xml(
        model,
        base_url=base_url.rstrip("/") if base_url else ".",
        title=f"{ctx.title}: incidents and updates",
        feed_path="/feed.atom",
    )
    (out / "feed.atom").write_text(feed, encoding="utf-8")
    files.append(out / "feed.atom")
    return SiteReport(out=out, pages=pages, services=first["overview"]["total"], files=files)
