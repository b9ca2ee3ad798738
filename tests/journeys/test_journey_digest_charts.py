"""Journey: the HTML digest's charts read well in a browser (newcomer trial, cosmetic defects).

`prodshield logs digest --format html` on an access log that spans midnight, with a quiet hour, a
brute force (30 failed logins) and one endpoint that takes 4.2 s. Chromium opens the file: every
label of every chart lies inside its chart (the largest value reads "4,213 ms", not "4"), the
time axis says `Dec 4, 20:00` ... `Dec 5` instead of ISO timestamps, its labels do not overlap,
and the quiet hour is an empty slot rather than missing.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"


def _log() -> str:
    lines = []
    hours = [(4, h) for h in range(20, 24)] + [(5, h) for h in range(0, 5)]
    for day, hour in hours:
        if (day, hour) == (5, 2):
            continue  # a quiet hour
        for minute in range(0, 60, 4):
            path = ("/api/orders", "/api/checkout", "/")[minute % 3]
            lines.append(
                f"203.0.113.{minute % 7 + 1} - - [0{day}/Dec/2026:{hour:02d}:{minute:02d}:00 +0000] "
                f'"GET {path} HTTP/1.1" 200 512 "-" "Mozilla/5.0" 0.0{minute % 9 + 1}0'
            )
    for i in range(5):
        lines.append(
            f'203.0.113.9 - - [05/Dec/2026:01:1{i}:00 +0000] "GET /api/reports/yearly HTTP/1.1" '
            '200 90000 "-" "Mozilla/5.0" 4.213'
        )
    for s in range(30):
        lines.append(
            f'198.51.100.23 - - [04/Dec/2026:23:30:{s:02d} +0000] "POST /login HTTP/1.1" 401 12 '
            '"-" "curl/8.5" 0.010'
        )
    return "\n".join(lines) + "\n"


def test_digest_charts_have_readable_unclipped_labels(tmp_path: Path) -> None:
    if not shutil.which(CHROMIUM):
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} is missing (.ci/apt-packages installs it)")
        pytest.skip(f"{CHROMIUM} is not installed")
    playwright = pytest.importorskip("playwright.sync_api")
    (tmp_path / "access.log").write_text(_log())
    done = subprocess.run(
        [
            str(Path(sys.executable).parent / "prodshield"),
            *("logs", "digest", "access.log", "--format", "html", "-o", "digest.html"),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={k: v for k, v in os.environ.items() if not k.startswith("PRODSHIELD_")},
    )
    assert done.returncode in (0, 1), done.stderr
    html = (tmp_path / "digest.html").read_text()
    assert not re.search(r">\d{4}-\d\d-\d\dT\d\d:\d\d<", html), "ISO timestamps as labels"

    with playwright.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox"])
        try:
            page = browser.new_context(viewport={"width": 1100, "height": 900}).new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto((tmp_path / "digest.html").as_uri())
            # every text of every chart lies inside its chart's box
            outside = page.evaluate(
                """() => [...document.querySelectorAll('svg')].flatMap(svg => {
                    const w = svg.width.baseVal.value, h = svg.height.baseVal.value;
                    return [...svg.querySelectorAll('text')].map(t => {
                        const b = t.getBBox();
                        return {text: t.textContent, x: b.x, right: b.x + b.width, w, bottom: b.y + b.height, h};
                    }).filter(b => b.x < 0 || b.right > b.w + 0.5 || b.bottom > b.h + 0.5);
                })"""
            )
            assert outside == [], outside
            values = page.locator("svg.bars text.value").all_text_contents()
            assert "4,213 ms" in values and "30" in values, values
            ticks = page.locator("svg.timeline text.tick")
            labels = ticks.all_text_contents()
            assert labels[0] == "Dec 4, 20:00" and "Dec 5" in labels, labels
            assert all(re.fullmatch(r"Dec \d+(, \d\d:00)?|\d\d:00", x) for x in labels), labels
            boxes = [
                ticks.nth(i).evaluate(
                    "t => { const b = t.getBBox(); return [b.x, b.x + b.width]; }"
                )
                for i in range(ticks.count())
            ]
            for (_, right), (left, _) in itertools.pairwise(boxes):
                assert left > right, boxes  # no two labels overlap
            # nine hours from 20:00 to 04:00 with 02:00 quiet: nine slots, eight bars
            timeline = page.locator("svg.timeline")
            assert timeline.locator("rect[fill='#a5b4fc']").count() == 8
            titles = timeline.locator("rect title").all_text_contents()
            assert titles[0].startswith("Dec 4, 20:00 UTC: ") and "Dec 5, 03:00 UTC" in titles[-2]
            # the per-endpoint table of the Markdown digest is in the HTML one too
            table = page.locator("table.endpoints")
            assert table.locator("th").all_text_contents() == [
                "endpoint", "requests", "5xx rate", "p50", "p95", "p99",
            ]  # fmt: skip
            slow = table.locator("tr", has_text="GET /api/reports/yearly").locator("td")
            assert slow.all_text_contents()[1:3] == ["5", "0.0%"]
            page.screenshot(path=str(tmp_path / "digest.png"), full_page=True)
            assert errors == []
        finally:
            browser.close()
