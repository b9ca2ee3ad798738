"""Journey: an incident's timeline and its written updates, as an operator meets them.

`prodshield serve` (a subprocess) checks a shop that refuses connections every second: the
incident opens and the same failure repeats. The shop comes back and the incident resolves. The
operator writes updates from the CLI (`incident update`) and the API; `GET
/api/v1/incidents/{id}` returns them in order, with who wrote them. In Chromium, signed in
through the login form, the dashboard's incident page shows the run of identical failures as
one line, "\u00d7 N, until ..." (N counted from the store file), followed by the recovery, and
the updates on the timeline.
"""

from __future__ import annotations

import shutil
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from support.alerting import TOKEN, api, cli, serving, target_up, wait
from support.net import refused_port

CHROMIUM = "/usr/bin/chromium"
TIMES = "\u00d7"  # the multiplication sign the timeline writes before a count


def _write_config(tmp_path: Path, target_port: int) -> None:
    (tmp_path / "shield.yaml").write_text(
        "storage: sqlite:///store.db\n"
        f'serve: {{port: 0, token: "{TOKEN}"}}\n'
        "defaults: {failure_threshold: 1, success_threshold: 1}\n"
        "checks:\n"
        f"  - {{name: shop, type: http, url: 'http://127.0.0.1:{target_port}/', timeout: 1s,"
        " interval: 1s}\n"
    )


def _check(port: int) -> dict[str, Any]:
    status, body = api(port, "/api/v1/checks/shop")
    assert status == 200, body
    [env] = body["environments"]
    return dict(env)


def _incident(port: int, incident_id: int) -> dict[str, Any]:
    status, body = api(port, f"/api/v1/incidents/{incident_id}")
    assert status == 200, body
    return dict(body)


def _timeline_in_chromium(port: int, incident_id: int) -> list[dict[str, Any]]:
    """The incident page's timeline as Chromium renders it, after signing in with the form."""
    sync_api = pytest.importorskip("playwright.sync_api")
    assert shutil.which(CHROMIUM), f"{CHROMIUM} is missing"
    site = f"http://127.0.0.1:{port}"
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox"])
        try:
            page = browser.new_page()
            page.goto(f"{site}/login?next=/dashboard/incidents/{incident_id}")
            page.fill("#token", TOKEN)
            page.click("button[type=submit]")
            page.wait_for_url(f"{site}/dashboard/incidents/{incident_id}")
            entries = page.evaluate(
                """() => [...document.querySelectorAll('ol.timeline > li')].map(li => ({
                    type: li.dataset.type,
                    failed: li.classList.contains('tl-failed'),
                    text: li.querySelector('.tl-text').innerText,
                    count: li.querySelector('.tl-count')?.innerText ?? null,
                    visible: li.getBoundingClientRect().height > 0,
                }))"""
            )
        finally:
            browser.close()
    return list(entries)


def test_timeline_collapses_repeated_failures_and_the_api_returns_written_updates(
    tmp_path: Path,
) -> None:
    target_port = refused_port()  # held, not listening: down until target_up
    _write_config(tmp_path, target_port)
    with serving(tmp_path) as serve:
        port = serve.port
        opened = wait(
            lambda: api(port, "/api/v1/incidents?status=open")[1]["incidents"],
            "the shop's incident to open",
        )
        incident_id = int(opened[0]["id"])
        # the same refusal, again and again
        wait(lambda: _check(port)["consecutive_failures"] >= 6, "six failures in a row", 90)
        with target_up(target_port):
            wait(
                lambda: _incident(port, incident_id)["status"] == "resolved",
                "the incident to resolve once the shop answers",
                90,
            )

        done = cli(
            tmp_path, "incident", "update", str(incident_id),
            "Root cause: the load balancer lost its pool.", "--by", "alice",
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == f"update posted on incident #{incident_id}"
        status, body = api(
            port,
            f"/api/v1/incidents/{incident_id}/updates",
            {"text": "Pool alerts added; closing this out.", "by": "bob"},
        )
        assert status == 200, body
        missing = cli(tmp_path, "incident", "update", "999", "hello")
        assert missing.returncode == 2 and missing.stderr.strip() == "error: no incident 999"

        shown = _incident(port, incident_id)
        assert [(u["text"], u["by"], u["origin"]) for u in shown["updates"]] == [
            ("Root cause: the load balancer lost its pool.", "alice", "operator"),
            ("Pool alerts added; closing this out.", "bob (via operator)", "operator"),
        ]
        assert shown["updates"][0]["ts"] <= shown["updates"][1]["ts"] <= time.time()
        assert api(port, "/api/v1/incidents/999")[0] == 404

        timeline = _timeline_in_chromium(port, incident_id)

    # the failed results after the incident opened, from the store itself
    with sqlite3.connect(tmp_path / "store.db") as db:
        failed, last = db.execute(
            "SELECT count(*), max(ts) FROM check_results"
            " WHERE check_name = 'shop' AND ok = 0 AND ts >= ? AND ts <= ?",
            (shown["opened_at"], shown["resolved_at"]),
        ).fetchone()
    assert failed >= 5

    results = [e for e in timeline if e["type"] == "result"]
    after = timeline[[e["type"] for e in timeline].index("opened") + 1 :]
    runs = [e for e in after if e["type"] == "result" and e["failed"]]
    # one line for the whole run of identical refusals, saying how many and until when
    assert len(runs) == 1, timeline
    [run] = runs
    assert run["text"].startswith("failed:") and "refused" in run["text"], run
    until = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(last))
    assert run["count"] == f"{TIMES} {failed}, until {until}", (run, failed, until)
    assert len(results) < failed
    assert all(e["visible"] for e in timeline)
    # then the recovery, and the story in order: opened, the failures, resolved, the updates
    kinds = [e["type"] for e in timeline]
    assert kinds.index("opened") < kinds.index("resolved") < kinds.index("update")
    assert [e["text"] for e in timeline if e["type"] == "update"] == [
        "alice: Root cause: the load balancer lost its pool.",
        "bob (via operator): Pool alerts added; closing this out.",
    ]
    assert any(not e["failed"] and e["text"].startswith("ok") for e in results), results
    log = (tmp_path / "serve.log").read_text()
    assert "Traceback" not in log, log[-3000:]
