"""Incidents end to end: a real flaky target, the monitor, the outbox and the GitHub stand-in.

Each scenario runs `prodshield monitor once` as separate processes (the GitHub Actions mode) or
`prodshield monitor run` as a daemon, and asserts on the issues the stand-in holds.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from support.standins.flaky_target import flaky_target
from support.standins.github import GitHubStandin

TOKEN = "ghp_" + "T" * 36
REPO = "acme/hive"


def write_config(
    tmp: Path,
    target_url: str,
    api_url: str,
    extra: str = "",
    defaults: str = "",
    notifier: str = "",
) -> Path:
    cfg = tmp / "shield.yaml"
    cfg.write_text(f"""
storage: "sqlite:///{tmp / "state.db"}"
defaults: {{interval: 1s, timeout: 1s, failure_threshold: 3, success_threshold: 2{defaults}}}
environments:
  production: {{vars: {{base_url: "{target_url}"}}}}
notifiers:
  gh: {{type: github, repo: {REPO}, token: "${{GITHUB_TOKEN}}", api_url: "{api_url}", labels: [incident]{notifier}}}
checks:
  - name: api-health
    type: http
    url: "{{base_url}}/health"
    environments: [production]
    conditions: ["[STATUS] == 200"]
{extra}""")
    return cfg


def once(cfg: Path, wait: str = "10s") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "prodshield",
            "monitor",
            "once",
            "-c",
            str(cfg),
            "--notify-wait",
            wait,
        ],
        env={**os.environ, "GITHUB_TOKEN": TOKEN},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_scripted_outage_in_a_sequence_of_one_shot_runs(tmp_path: Path) -> None:
    script = ["503", "503", "503", "hang", "hang", "ok", "ok"]
    with flaky_target(script) as target, GitHubStandin.in_thread(tokens=(TOKEN,)) as gh:
        gh.repo(REPO)  # the repository exists
        cfg = write_config(tmp_path, target.url, gh.url)
        timeline = []
        for run in range(1, 8):
            proc = once(cfg)
            assert proc.returncode in (0, 1), proc.stderr
            issues = gh.issues(REPO)
            timeline.append((run, len(issues), issues[0]["state"] if issues else None))
        assert timeline[:2] == [(1, 0, None), (2, 0, None)]
        assert [t[1] for t in timeline[2:]] == [
            1,
            1,
            1,
            1,
            1,
        ]  # opened at the third failure, never again
        assert (
            timeline[5][2] == "open" and timeline[6][2] == "closed"
        )  # closed at the second success
        (issue,) = gh.issues(REPO)
        assert issue["title"] == "[production] api-health is down"
        assert {lab["name"] for lab in issue["labels"]} >= {"incident", "production"}
        assert "[STATUS] (503) == 200" in issue["body"]
        comments = [c["body"] for c in gh.comments(REPO, issue["number"])]
        changed = [c for c in comments if "error changed" in c]
        assert len(changed) == 1 and "timeout" in changed[0]
        resolved = [c for c in comments if "recovered" in c]
        assert len(resolved) == 1 and "of downtime" in resolved[0]
        assert target.hits == script


def test_scripted_outage_in_daemon_mode(tmp_path: Path) -> None:
    script = ["503", "503", "503", "hang", "hang"]
    with flaky_target(script) as target, GitHubStandin.in_thread(tokens=(TOKEN,)) as gh:
        gh.repo(REPO)  # the repository exists
        cfg = write_config(tmp_path, target.url, gh.url)
        proc = subprocess.Popen(
            [sys.executable, "-m", "prodshield", "monitor", "run", "-c", str(cfg)],
            env={**os.environ, "GITHUB_TOKEN": TOKEN},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            deadline = time.time() + 90
            while time.time() < deadline:
                issues = gh.issues(REPO)
                if issues and issues[0]["state"] == "closed":
                    break
                time.sleep(0.5)
        finally:
            proc.send_signal(signal.SIGTERM)
            _out, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
        (issue,) = gh.issues(REPO)
        assert issue["state"] == "closed"
        comments = [c["body"] for c in gh.comments(REPO, issue["number"])]
        assert sum("error changed" in c for c in comments) == 1
        assert sum("recovered" in c for c in comments) == 1


def test_killed_while_notifying_still_one_issue(tmp_path: Path) -> None:
    with flaky_target([], then="503") as target, GitHubStandin.in_thread(tokens=(TOKEN,)) as gh:
        gh.repo(REPO)  # the repository exists
        cfg = write_config(tmp_path, target.url, gh.url)
        assert once(cfg).returncode == 1
        assert once(cfg).returncode == 1
        gh.hang_after("POST", rf"/repos/{REPO}/issues$")
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "prodshield",
                "monitor",
                "once",
                "-c",
                str(cfg),
                "--notify-wait",
                "3s",
            ],
            env={**os.environ, "GITHUB_TOKEN": TOKEN},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        deadline = time.time() + 60
        while not gh.issues(REPO) and time.time() < deadline:  # created, answer held back
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)  # the issue exists, the outbox does not know
        proc.wait(10)
        gh.release()
        assert len(gh.issues(REPO)) == 1
        time.sleep(9)  # the killed run's claim (wait + 5 s) expires
        assert once(cfg).returncode == 1
        assert once(cfg).returncode == 1
        assert len(gh.issues(REPO)) == 1
        assert gh.count("POST", rf"/repos/{REPO}/issues$") == 1


def test_rate_limited_then_bad_gateway_then_created_once(tmp_path: Path) -> None:
    with flaky_target([], then="503") as target, GitHubStandin.in_thread(tokens=(TOKEN,)) as gh:
        gh.repo(REPO)  # the repository exists
        cfg = write_config(tmp_path, target.url, gh.url, notifier=", backoff: 1s, max_backoff: 2s")
        gh.rate_limited("POST", rf"/repos/{REPO}/issues$", reset_in=2)
        gh.fail("POST", rf"/repos/{REPO}/issues$", 502)
        for _ in range(3):
            once(cfg, wait="30s")
        issues = gh.issues(REPO)
        assert len(issues) == 1
        posts = [r for r in gh.requests if r.method == "POST" and r.path.endswith("/issues")]
        assert [r.status for r in posts] == [403, 502, 201]
        assert posts[1].at >= posts[0].at + 1.0  # waited for the reset


def test_maintenance_window_suppresses_then_opens(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    inside = (
        f"maintenance:\n  - {{start: '{(now - timedelta(hours=1)).isoformat()}', "
        f"end: '{(now + timedelta(hours=1)).isoformat()}', environments: [production]}}\n"
    )
    with flaky_target([], then="503") as target, GitHubStandin.in_thread(tokens=(TOKEN,)) as gh:
        gh.repo(REPO)  # the repository exists
        cfg = write_config(tmp_path, target.url, gh.url, extra=inside)
        for _ in range(4):
            once(cfg)
        assert gh.issues(REPO) == []
        past = (
            f"maintenance:\n  - {{start: '{(now - timedelta(hours=3)).isoformat()}', "
            f"end: '{(now - timedelta(hours=2)).isoformat()}', environments: [production]}}\n"
        )
        gh.repo(REPO)  # the repository exists
        cfg = write_config(tmp_path, target.url, gh.url, extra=past)
        for _ in range(3):
            once(cfg)
        assert len(gh.issues(REPO)) == 1


def test_flapping_target_is_one_incident(tmp_path: Path) -> None:
    with flaky_target([], then="flip") as target, GitHubStandin.in_thread(tokens=(TOKEN,)) as gh:
        gh.repo(REPO)  # the repository exists
        cfg = write_config(
            tmp_path, target.url, gh.url, defaults=", flap_threshold: 4, flap_window: 10m"
        )
        for _ in range(10):
            once(cfg)
        issues = gh.issues(REPO)
        assert len(issues) == 1
        assert issues[0]["title"] == "[production] api-health is flapping"


def test_monitor_report_cli_after_an_outage(tmp_path: Path) -> None:
    with (
        flaky_target(["503", "503", "503"]) as target,
        GitHubStandin.in_thread(tokens=(TOKEN,)) as gh,
    ):
        gh.repo(REPO)
        cfg = write_config(tmp_path, target.url, gh.url)
        for _ in range(5):
            once(cfg)
    env = {**os.environ, "GITHUB_TOKEN": TOKEN}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "prodshield",
            "monitor",
            "report",
            "-c",
            str(cfg),
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    import json

    data = json.loads(proc.stdout)
    (check,) = data["checks"]
    assert (check["results"], check["failures"], check["incidents"]) == (5, 3, 1)
    assert data["mttr_s"] is not None and data["mttr_s"] > 0
    html = tmp_path / "r.html"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "prodshield",
            "monitor",
            "report",
            "-c",
            str(cfg),
            "--format",
            "html",
            "-o",
            str(html),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert proc.returncode == 0 and "<svg" in html.read_text()
