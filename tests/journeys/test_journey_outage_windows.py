"""The demo's outage pattern, accelerated: one incident and one GitHub issue per outage window.

The journey: a loopback HTTP target answers 503 for 4 s of every 9 s (the demo's orders endpoint
fails 40 s of every 150 s); `prodshield serve` checks it every second (incidents after 2 failures,
resolved after 2 successes, the default flap settings) and reports to the GitHub stand-in (the real
wire format). Through eight outage windows it must open exactly one `down` incident per window
(none flapping, none opened on a success), resolve each, and open and close one GitHub issue per
window; no duration is negative or reversed in the store, the JSON API or the issues.
"""

from __future__ import annotations

import re
import sqlite3
import subprocess
import time
from pathlib import Path
from typing import Any

from support.serve import TOKEN, get, read_bound, start_serve, stop_serve, wait_ready
from support.standins.github import GitHubStandin
from support.standins.periodic_target import PeriodicTarget

GH_TOKEN = "ghp_" + "J" * 36
REPO = "acme/shop"
PERIOD, OUTAGE = 9.0, 4.0
WINDOWS = 8


NEGATIVE = re.compile(r"(?<![\w-])-\d+(?:\.\d+)?\s*(?:ms|s|m|h|d)\b|lasted -|after -")


def test_one_incident_and_one_issue_per_outage_window(tmp_path: Path) -> None:
    target = PeriodicTarget(PERIOD, OUTAGE)
    with GitHubStandin.in_thread(tokens=(GH_TOKEN,)) as gh:
        gh.repo(REPO)
        config = tmp_path / "shield.yaml"
        config.write_text(
            f"""
storage: "sqlite:///{tmp_path / "store.db"}"
serve: {{token: "{TOKEN}"}}
defaults: {{failure_threshold: 2, success_threshold: 2}}
environments:
  production: {{vars: {{base: "{target.url}"}}}}
notifiers:
  github: {{type: github, repo: {REPO}, token: "{GH_TOKEN}", api_url: "{gh.url}"}}
checks:
  - name: orders
    type: http
    url: "{{base}}/api/orders"
    environments: [production]
    interval: 1s
    timeout: 1s
    conditions: ["[STATUS] == 200"]
"""
        )
        proc = start_serve(
            config,
            port=0,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=tmp_path,
        )
        try:
            port, _ = read_bound(proc)
            wait_ready(port, proc)
            # Eight whole outage windows, each followed by enough passing results to resolve it.
            deadline = time.time() + WINDOWS * PERIOD + 60
            while time.time() < deadline:
                seen = target.outage_windows(2)
                now_window, phase = divmod(time.time() - target.started, PERIOD)
                done = {w for w in seen if w < now_window and phase >= 3.0}
                if len(done) >= WINDOWS:
                    break
                time.sleep(0.5)
            windows = {w for w in target.outage_windows(2) if w < now_window}
            assert len(windows) >= WINDOWS, (windows, target.served[-5:])
            # every incident resolved and its issue closed (the outbox delivers within seconds)
            deadline = time.time() + 40
            while time.time() < deadline:
                api = get(port, "/api/v1/incidents?limit=100")["incidents"]
                mine = [i for i in api if target.window_of(i["opened_at"]) in windows]
                closed = [i for i in gh.issues(REPO) if i["state"] == "closed"]
                if (
                    len(mine) >= len(windows)
                    and all(i["status"] == "resolved" for i in mine)
                    and len(closed) >= len(windows)
                ):
                    break
                time.sleep(0.5)
        finally:
            _, err = stop_serve(proc, timeout=30)
            target.close()
        assert proc.returncode == 0, err[-2000:]

        # The JSON API: one down incident per outage window, durations never negative.
        by_window: dict[int, list[dict[str, Any]]] = {}
        for inc in api:
            assert inc["kind"] == "down", inc  # a periodic outage is no flapping
            assert inc["duration_s"] >= 0, inc
            if inc["resolved_at"] is not None:
                assert inc["resolved_at"] >= inc["opened_at"], inc
            by_window.setdefault(target.window_of(inc["opened_at"]), []).append(inc)
        for window in windows:
            assert len(by_window.get(window, [])) == 1, (window, by_window)
            assert by_window[window][0]["status"] == "resolved"
        assert set(by_window) <= windows | {max(windows) + 1}, (by_window.keys(), windows)

        # The store: the same, and every incident opened on a failing result.
        db = sqlite3.connect(tmp_path / "store.db")
        try:
            rows = db.execute(
                "SELECT id, kind, opened_at, resolved_at FROM incidents ORDER BY id"
            ).fetchall()
            failing_ts = {ts for (ts,) in db.execute("SELECT ts FROM check_results WHERE ok = 0")}
        finally:
            db.close()
        assert len(rows) == len(api)
        for _id, kind, opened_at, resolved_at in rows:
            assert kind == "down" and opened_at in failing_ts
            assert resolved_at is None or resolved_at >= opened_at

        # GitHub: one issue per incident, opened and closed once, no negative duration in any text.
        issues = gh.issues(REPO)
        in_windows = [i for i in issues if i["state"] == "closed"]
        assert len(in_windows) == len(windows), [i["title"] for i in issues]
        assert len(issues) <= len(windows) + 1  # a window in progress at the stop may have one
        for issue in issues:
            assert issue["title"] == "[production] orders is down", issue["title"]
            texts = [issue["body"], *(c["body"] for c in gh.comments(REPO, issue["number"]))]
            for text in texts:
                assert not NEGATIVE.search(text), text
                assert "{base}" not in text
            if issue["state"] == "closed":
                assert sum("recovered" in t for t in texts) == 1
        assert gh.count("POST", r"/issues$") == len(issues)
