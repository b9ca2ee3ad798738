"""Journey: two shield.yaml keys that used to be accepted and ignored now do what they say.

``environments.NAME.labels`` are added to that environment's incident notifications (here the
GitHub issue's labels, through ``monitor once`` and the GitHub stand-in), and ``logs.baseline`` is
the period ``logs digest`` compares its window against when ``--baseline`` is not given."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from support.net import refused_port
from support.standins.github import GitHubStandin

GH_TOKEN = "ghp_" + "L" * 36
REPO = "acme/shop"


def _cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PRODSHIELD_", "GITHUB_"))}
    return subprocess.run(
        [sys.executable, "-m", "prodshield", *args],
        cwd=cwd,
        env={**env, "GH_TOKEN": GH_TOKEN, "NO_COLOR": "1"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_environment_labels_reach_the_incident_issue(tmp_path: Path) -> None:
    with GitHubStandin.in_thread(tokens=(GH_TOKEN,)) as gh:
        gh.repo(REPO)
        (tmp_path / "shield.yaml").write_text(
            "storage: sqlite:///store.db\n"
            "defaults: {failure_threshold: 1, success_threshold: 1}\n"
            "environments:\n"
            "  production: {labels: [eu-west, customer-facing]}\n"
            "  staging: {}\n"
            "notifiers:\n"
            f'  gh: {{type: github, repo: {REPO}, token: "${{GH_TOKEN}}", api_url: "{gh.url}",'
            " labels: [incident]}\n"
            "checks:\n"
            f"  - {{name: shop, type: tcp, host: 127.0.0.1, port: {refused_port()}, timeout: 1s,"
            " environments: [production, staging]}\n"
        )
        done = _cli(tmp_path, "monitor", "once")
        assert done.returncode in (0, 1), done.stdout + done.stderr
        issues = {i["title"]: {lb["name"] for lb in i["labels"]} for i in gh.issues(REPO)}
    prod = next(v for k, v in issues.items() if "[production]" in k)
    staging = next(v for k, v in issues.items() if "[staging]" in k)
    assert {"production", "eu-west", "customer-facing", "incident"} <= prod, issues
    assert "staging" in staging and not {"eu-west", "customer-facing"} & staging, issues


LOG = (
    # three days before the window: the cache template, seen in a 7-day baseline only
    "2026-11-28T10:00:00Z INFO cache warmed for shard 7 in 120 ms\n"
    "2026-11-28T10:05:00Z INFO cache warmed for shard 8 in 130 ms\n"
    # the hour before the window
    "2026-11-30T09:30:00Z INFO health probe answered ok\n"
    # the window: the last 24 h before the newest line
    "2026-12-01T09:00:00Z INFO cache warmed for shard 9 in 110 ms\n"
    "2026-12-01T09:30:00Z INFO health probe answered ok\n"
    "2026-12-01T10:00:00Z INFO cache warmed for shard 3 in 140 ms\n"
)


def _new_templates(tmp_path: Path, *args: str) -> list[str]:
    done = _cli(tmp_path, "logs", "digest", "app.log", "--format", "json", *args)
    assert done.returncode == 0, done.stderr
    text = json.dumps(json.loads(done.stdout))
    return [t for t in ("cache warmed", "health probe") if f"new log template: {t}" in text]


def test_logs_baseline_is_the_digests_default_baseline(tmp_path: Path) -> None:
    (tmp_path / "app.log").write_text(LOG)
    (tmp_path / "shield.yaml").write_text("storage: sqlite:///store.db\n")
    assert _new_templates(tmp_path) == []  # the default 7 days hold both templates
    (tmp_path / "shield.yaml").write_text("storage: sqlite:///store.db\nlogs: {baseline: 1h}\n")
    assert _new_templates(tmp_path) == ["cache warmed"]  # the last hour holds the probe only
    assert _new_templates(tmp_path, "--baseline", "7d") == []  # the flag still wins
