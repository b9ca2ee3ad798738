"""Journey: a heartbeat job fails and POSTs its output to ``…/fail`` under ``serve`` (a
subprocess). The end of that output, its password masked, its HTML and terminal escapes inert, is
on the check's dashboard page (read in Chromium at 390 px and 1280 px, on the screen), in
``GET /api/v1/checks/NAME`` and ``GET /api/v1/incidents/ID`` (``job``), and in the incident's
notification (it was only in the database)."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from support.cli import prodshield, shell_env
from support.serve_process import TOKEN, Served, http, serve, wait_for

CHROMIUM = "/usr/bin/chromium"
SECRET = "hunter2-Very-Secret-Pass"
OUTPUT = (
    "dumping orders...\n"
    f"PGPASSWORD={SECRET} pg_dump orders\n"
    "<script>alert('job')</script> <img src=x onerror=alert(2)>\n"
    "\x1b[31mpg_dump: error: disk full\x1b[0m\n"
)
CONFIG = (
    "storage: sqlite:///{db}\n"
    f'serve: {{port: {{port}}, token: "{TOKEN}"}}\n'
    "checks:\n"
    "  - {name: nightly-backup, type: heartbeat, period: 1h, interval: 1h,"
    " failure_threshold: 1, alerts: [hook]}\n"
    'notifiers:\n  hook: {type: webhook, url: "http://127.0.0.1:9/hook", timeout: 1s}\n'
)
AUTH = {"Authorization": f"Bearer {TOKEN}"}

playwright_sync = pytest.importorskip("playwright.sync_api")


def _job(srv: Served) -> Any:
    [env] = srv.get("/api/v1/checks/nightly-backup", headers=AUTH).json()["environments"]
    return env["job"]


def _incidents(srv: Served) -> list[dict[str, Any]]:
    return list(srv.get("/api/v1/incidents?status=open", headers=AUTH).json()["incidents"])


def _assert_masked(output: str) -> None:
    assert "disk full" in output and "dumping orders" in output, output
    assert SECRET not in output and "PGPASSWORD=" in output, output


def _look(srv: Served, width: int) -> None:
    with playwright_sync.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": width, "height": 900})
            page.set_default_timeout(15000)
            dialogs: list[str] = []

            def dismiss(dialog: Any) -> None:
                dialogs.append(dialog.message)
                dialog.dismiss()

            page.on("dialog", dismiss)
            page.goto(srv.url + "/dashboard/checks/nightly-backup")
            page.fill("#token", TOKEN)
            page.click("button[type=submit]")
            page.wait_for_url(srv.url + "/dashboard/checks/nightly-backup")
            block = page.locator("pre.job-output")
            text = block.inner_text()
            _assert_masked(text)
            assert "<script>alert('job')</script>" in text  # shown as text, not run
            assert "\x1b" not in text and "␛[31m" in text, repr(text)
            box = block.bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width, box
            assert "exit code" not in page.locator("div.job-run p").inner_text()
            assert "failed" in page.locator("div.job-run p").inner_text()
            assert page.evaluate("document.documentElement.scrollWidth") <= width
            assert not dialogs, dialogs
        finally:
            browser.close()


def test_a_failed_jobs_output_is_shown_where_people_look(tmp_path: Path) -> None:
    tmp_path.joinpath("shield.yaml").write_text(
        CONFIG.replace("{port}", "0").replace("{db}", str(tmp_path / "store.db"))
    )
    env = shell_env(drop=("PRODSHIELD_CONFIG", "PRODSHIELD_TOKEN"))
    listed = prodshield(tmp_path, "monitor", "heartbeats", "--format", "json", env=env)
    assert listed.returncode == 0, listed.stderr
    token = json.loads(listed.stdout)["heartbeats"][0]["url"].rsplit("/", 1)[1]

    with serve(tmp_path, CONFIG) as srv:
        sent = http(f"{srv.url}/heartbeat/{token}/fail", method="POST", data=OUTPUT.encode())
        assert sent.status == 200, sent.body
        wait_for("the job's run", lambda: bool(_job(srv)))
        job = _job(srv)
        assert job["succeeded"] is False and job["exit_code"] is None, job
        _assert_masked(job["output"])
        wait_for("the incident", lambda: bool(_incidents(srv)))
        [incident] = _incidents(srv)
        seen = srv.get(f"/api/v1/incidents/{incident['id']}", headers=AUTH).json()
        _assert_masked(seen["job"]["output"])

        with sqlite3.connect(tmp_path / "store.db") as db:
            rows = db.execute(
                "select payload from outbox where event_type = 'incident.opened'"
            ).fetchall()
        [body] = [json.loads(p)["body"] for (p,) in rows]
        assert "Job output (its end, secrets masked):" in body, body
        _assert_masked(body)

        if not shutil.which(CHROMIUM):
            pytest.skip(f"{CHROMIUM} is not installed")
        for width in (390, 1280):
            _look(srv, width)
