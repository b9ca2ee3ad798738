"""Journey: a repository set up with `prodshield init --github-actions --install <a wheel built
from this checkout>`, its three generated workflows run by tests/support/workflow_runner.py as a
hosted runner would (bash steps, the runner's variables, the cache between runs, SARIF upload),
GitHub's API played by tests/support/standins/github.py through GITHUB_API_URL.

The install step really runs: the session builds one wheel from this checkout and prepares one
interpreter whose site-packages already see the test environment's dependencies, so the
workflow's `python -m pip install "$PRODSHIELD_INSTALL"` installs or finds the wheel without
downloading anything (PIP_NO_INDEX, PIP_NO_DEPS in the runner's environment)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from prodshield.notify.worker import LEASE_S
from support.standins.flaky_target import FlakyTarget, flaky_target
from support.standins.github import GitHubStandin
from support.workflow_runner import Kill, RunResult, WorkflowRunner

ROOT = Path(__file__).resolve().parents[2]
REPO = "acme/shop"
TOKEN = "test-token"
MONITOR = "production-monitoring.yml"
DIGEST = "log-intelligence.yml"
AUDIT = "security-audit.yml"
ISSUES = rf"^/repos/{REPO}/issues$"
AWS_KEY = "AKIA" + "QYLPMN5HHHFPZAM2"


@dataclass
class Toolchain:
    wheel: Path
    python_bin: Path


@pytest.fixture(scope="session")
def toolchain(tmp_path_factory: pytest.TempPathFactory) -> Toolchain:
    """One wheel of this checkout and one interpreter for the whole session."""
    base = tmp_path_factory.mktemp("toolchain")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "-w",
            str(base / "dist"),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    wheel = next((base / "dist").glob("prodshield-*.whl"))
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = Path(sysconfig.get_paths(vars={"base": str(venv), "platbase": str(venv)})["purelib"])
    # the test environment's packages (pip and prodshield's dependencies), after the venv's own
    (site / "zz_journey_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--no-index",
            str(wheel),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return Toolchain(wheel, venv / "bin")


@pytest.fixture
def github() -> Iterator[GitHubStandin]:
    with GitHubStandin.in_thread(tokens=(TOKEN,)) as gh:
        gh.repo(REPO)
        yield gh


def git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=Dev", "-c", "user.email=dev@example.com", *args],
        check=True,
        capture_output=True,
    )


def user_repo(tmp_path: Path, toolchain: Toolchain, shield_yaml: str) -> Path:
    """A user's repository: the wheel vendored, `init --github-actions --install` run with the
    installed prodshield, their shield.yaml, everything committed."""
    repo = tmp_path / "shop"
    (repo / "vendor").mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    shutil.copy(toolchain.wheel, repo / "vendor" / toolchain.wheel.name)
    (repo / "main.py").write_text('print("hello")\n')
    (repo / ".gitignore").write_text("prodshield-state/\n")
    spec = f"./vendor/{toolchain.wheel.name}"
    done = subprocess.run(
        [str(toolchain.python_bin / "prodshield"), "init", "--github-actions", "--install", spec],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert f"pip install {spec}" in done.stdout
    (repo / "shield.yaml").write_text(shield_yaml)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "prodshield workflows")
    return repo


def runner_for(
    repo: Path,
    tmp_path: Path,
    toolchain: Toolchain,
    gh: GitHubStandin,
    variables: dict[str, str] | None = None,
) -> WorkflowRunner:
    return WorkflowRunner(
        repo,
        tmp_path / "github",
        python_bin=toolchain.python_bin,
        secrets={"GITHUB_TOKEN": TOKEN, "PRODSHIELD_MARKER_KEY": "journey-marker-key"},
        # the audit's deploy verification runs its checks back to back (by default 45 s apart)
        variables=variables or {"PRODSHIELD_VERIFY_EVERY": "0"},
        env={
            "GITHUB_API_URL": gh.url,
            # loopback only, and fast: the prepared interpreter already has the dependencies,
            # so the step's `pip install` checks the wheel alone
            "PIP_NO_INDEX": "1",
            "PIP_NO_DEPS": "1",
            "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        },
        repository=REPO,
    )


NOTIFIER = """
notifiers:
  github:
    type: github
    repo: "${GITHUB_REPOSITORY}"
    token: "${GITHUB_TOKEN}"
    api_url: "${GITHUB_API_URL:-https://api.github.com}"
    marker_key: "${PRODSHIELD_MARKER_KEY:-}"
    labels: [incident]
"""


def monitor_yaml(url: str, *, failures: int = 3, successes: int = 2) -> str:
    return (
        f"""version: 1
storage: "${{PRODSHIELD_STORAGE:-sqlite:///prodshield.db}}"
defaults:
  timeout: 5s
  failure_threshold: {failures}
  success_threshold: {successes}
checks:
  - name: shop-api
    type: http
    url: "{url}/health"
    conditions: ["[STATUS] == 200"]
    alerts: [github]
"""
        + NOTIFIER
    )


def run_ok(runner: WorkflowRunner, workflow: str, **kwargs: object) -> RunResult:
    result = runner.run(workflow, **kwargs)  # type: ignore[arg-type]
    assert result.conclusion == "success", result.log()
    return result


def only_issue(gh: GitHubStandin) -> dict[str, Any]:
    issues = gh.issues(REPO)
    assert len(issues) == 1, [i["title"] for i in issues]
    return issues[0]


# --- production-monitoring.yml --------------------------------------------------------------


@pytest.fixture
def target() -> Iterator[FlakyTarget]:
    with flaky_target([], then="503") as t:
        yield t


def test_monitor_six_runs_open_one_issue_then_comment_and_close_it(
    tmp_path: Path, toolchain: Toolchain, github: GitHubStandin, target: FlakyTarget
) -> None:
    repo = user_repo(tmp_path, toolchain, monitor_yaml(target.url))
    runner = runner_for(repo, tmp_path, toolchain, github)
    for n in range(3):
        result = run_ok(runner, MONITOR, event="schedule")
        assert "some checks failed" in result.step("Run every check once").output
        assert len(github.issues(REPO)) == (1 if n == 2 else 0), result.log()
    issue = only_issue(github)
    assert issue["state"] == "open" and "shop-api" in issue["title"]
    target.then = "ok"
    for _ in range(3):
        run_ok(runner, MONITOR, event="schedule")
    issue = only_issue(github)
    assert issue["state"] == "closed"
    comments = github.comments(REPO, issue["number"])
    assert len(comments) == 1 and "resolved" in comments[0]["body"]
    assert github.count("POST", ISSUES) == 1
    assert target.hits == ["503"] * 3 + ["ok"] * 3
    # each run installed the vendored wheel and saved its state under its own key
    assert len(list(runner.cache.iterdir())) == 6


SERVER_SHIELD = """version: 1
storage: "sqlite:///prodshield.db"
serve:
  token: "${{PRODSHIELD_TOKEN}}"
defaults:
  failure_threshold: 2
checks:
  - name: shop-api
    type: http
    url: "{url}/health"
    conditions: ["[STATUS] == 200"]
"""


def test_init_says_what_an_existing_shield_yaml_lacks_for_the_workflows(
    tmp_path: Path, toolchain: Toolchain, github: GitHubStandin, target: FlakyTarget
) -> None:
    """A shield.yaml written for a server (its own storage, serve.token from the environment):
    init names each line the workflows cannot run with, and not serve.token, which only `serve`
    reads (the monitor step runs with PRODSHIELD_TOKEN unset); its edits make the store stay in
    the cache."""
    repo = tmp_path / "shop"
    (repo / "vendor").mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    shutil.copy(toolchain.wheel, repo / "vendor" / toolchain.wheel.name)
    (repo / "shield.yaml").write_text(SERVER_SHIELD.format(url=target.url))
    done = subprocess.run(
        [
            str(toolchain.python_bin / "prodshield"),
            "init",
            "--github-actions",
            "--install",
            f"./vendor/{toolchain.wheel.name}",
        ],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "COLUMNS": "80"},
    )
    assert done.returncode == 0, done.stderr
    warnings = [line for line in done.stderr.splitlines() if line.startswith("warning: ")]
    assert len(warnings) == 2, done.stderr
    assert warnings[0].startswith(
        "warning: shield.yaml:2: storage: 'sqlite:///prodshield.db' "
        "does not follow PRODSHIELD_STORAGE"
    ), warnings
    assert 'write storage: "${PRODSHIELD_STORAGE:-sqlite:///prodshield.db}"' in warnings[0]
    assert "serve.token" not in done.stderr  # only `serve` reads it
    assert "log-intelligence.yml runs --post github" in warnings[1], warnings
    assert "(no notifiers at all)" in warnings[1]
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "prodshield workflows")
    runner = runner_for(repo, tmp_path, toolchain, github)
    unedited = run_ok(runner, MONITOR, event="schedule")  # PRODSHIELD_TOKEN is not set
    assert "some checks failed" in unedited.step("Run every check once").output
    assert "PRODSHIELD_TOKEN" not in unedited.log()

    # the edits the warnings name, made as a user would
    text = (repo / "shield.yaml").read_text()
    text = text.replace(
        '"sqlite:///prodshield.db"', '"${PRODSHIELD_STORAGE:-sqlite:///prodshield.db}"'
    )
    # the notifier the digest's warning gives: its token with no default, which the audit step
    # does not set but never reads (the audit leaves notifiers unread): no warning for it
    text += 'notifiers:\n  github: {type: github, repo: "${GITHUB_REPOSITORY}", token: "${GITHUB_TOKEN}"}\n'
    (repo / "shield.yaml").write_text(text)
    git(repo, "commit", "-q", "-am", "shield.yaml for the workflows")
    again = subprocess.run(
        [
            str(toolchain.python_bin / "prodshield"),
            "init",
            "--github-actions",
            "--force",
            "--install",
            f"./vendor/{toolchain.wheel.name}",
        ],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert again.returncode == 0 and "warning" not in again.stderr, again.stderr
    outputs = []
    for _ in range(2):
        result = run_ok(runner, MONITOR, event="schedule")
        outputs.append(result.step("Run every check once").output)
        assert "some checks failed" in outputs[-1]
    # the store is in the cache: the second run counted on from the first, so the incident opened
    latest = max(runner.cache.iterdir(), key=lambda p: p.stat().st_mtime_ns)
    assert (latest / "prodshield.db").is_file()
    assert "incident #1 opened" not in outputs[0] and "incident #1 opened" in outputs[1], outputs


def test_monitor_a_lost_cache_never_duplicates_the_issue(
    tmp_path: Path, toolchain: Toolchain, github: GitHubStandin, target: FlakyTarget
) -> None:
    repo = user_repo(tmp_path, toolchain, monitor_yaml(target.url, failures=1, successes=1))
    runner = runner_for(repo, tmp_path, toolchain, github)
    # an earlier outage, opened and closed, so the store's incident ids move on
    for state in ("503", "ok", "503"):
        target.then = state
        run_ok(runner, MONITOR, event="schedule")
    earlier, current = sorted(github.issues(REPO), key=lambda i: i["number"])
    assert earlier["state"] == "closed" and current["state"] == "open"
    runner.delete_cache()
    # a fresh store opens its own incident; the marker (signed with the secret key) finds the
    # issue of the outage in progress, whatever number the lost store had given it
    result = run_ok(runner, MONITOR, event="schedule")
    assert "Cache not found" in result.step("Restore monitor state").output
    assert len(github.issues(REPO)) == 2
    target.then = "ok"
    run_ok(runner, MONITOR, event="schedule")
    issues = sorted(github.issues(REPO), key=lambda i: i["number"])
    assert [i["number"] for i in issues] == [earlier["number"], current["number"]]
    assert all(i["state"] == "closed" for i in issues)
    assert github.count("POST", ISSUES) == 2


def test_monitor_a_run_killed_half_way_loses_and_doubles_nothing(
    tmp_path: Path, toolchain: Toolchain, github: GitHubStandin, target: FlakyTarget
) -> None:
    repo = user_repo(tmp_path, toolchain, monitor_yaml(target.url, failures=1, successes=1))
    runner = runner_for(repo, tmp_path, toolchain, github)
    # the first run opens the issue; GitHub creates it, and the step dies before the answer
    github.hang_after("POST", ISSUES)
    killed = runner.run(
        MONITOR,
        event="schedule",
        kill=Kill("Run every check once", lambda: github.count("POST", ISSUES) >= 1),
    )
    github.release()
    step = killed.step("Run every check once")
    assert step.killed and killed.conclusion == "failure", killed.log()
    assert killed.step("Save monitor state").outcome == "success"  # `if: always()`
    only_issue(github)
    # the next run takes over the notification the killed one held once its short lease is
    # over (scheduled runs are 5 minutes apart; here the test waits the lease out, which a run's
    # bounded --notify-wait, 10 s by default, no longer does) and finds the issue that was made;
    # the run after closes it
    time.sleep(LEASE_S + 1)
    run_ok(runner, MONITOR, event="schedule")
    target.then = "ok"
    run_ok(runner, MONITOR, event="schedule")
    issue = only_issue(github)
    assert issue["state"] == "closed"
    assert github.count("POST", ISSUES) == 1
    bodies = [c["body"] for c in github.comments(REPO, issue["number"])]
    assert len(bodies) == 1 and "resolved" in bodies[0], bodies
    assert target.hits == ["503", "503", "ok"]


def test_monitor_a_broken_shield_yaml_or_store_fails_the_job(
    tmp_path: Path, toolchain: Toolchain, github: GitHubStandin
) -> None:
    broken = monitor_yaml("http://127.0.0.1:9").replace("timeout: 5s", "timeout: soon")
    repo = user_repo(tmp_path, toolchain, broken)
    runner = runner_for(repo, tmp_path, toolchain, github)
    result = runner.run(MONITOR, event="schedule")
    assert result.conclusion == "failure"
    step = result.step("Run every check once")
    assert step.rc == 2 and "shield.yaml:" in step.output, step.output
    assert any("exited 2" in a for a in result.annotations)
    # exit 3: the store cannot be reached
    unreachable = monitor_yaml("http://127.0.0.1:9").replace(
        '"${PRODSHIELD_STORAGE:-sqlite:///prodshield.db}"',
        '"postgresql://prodshield@127.0.0.1:1/prodshield"',
    )
    assert unreachable != monitor_yaml("http://127.0.0.1:9")
    (repo / "shield.yaml").write_text(unreachable)
    git(repo, "commit", "-q", "-am", "store on a server that is down")
    result = runner.run(MONITOR, event="schedule")
    assert result.conclusion == "failure"
    step = result.step("Run every check once")
    assert step.rc == 3 and "connection failed" in step.output, step.output
    assert any("exited 3" in a for a in result.annotations)
    assert github.issues(REPO) == []


# --- log-intelligence.yml -------------------------------------------------------------------


def test_digest_of_the_configured_sources_is_posted_and_in_the_summary(
    tmp_path: Path, toolchain: Toolchain, github: GitHubStandin
) -> None:
    access = "".join(
        f'198.51.100.7 - - [04/Dec/2026:06:00:{sec:02d} +0000] "POST /login HTTP/1.1" 401 19 "-" "curl/8"\n'
        for sec in range(30)
    ) + "".join(
        f'203.0.113.5 - - [04/Dec/2026:06:{m:02d}:30 +0000] "GET /api/orders HTTP/1.1" 200 512 "-" "shop"\n'
        for m in range(30)
    )
    app = (
        "2026-12-04 06:10:00,000 INFO orders: order 1 placed\n"
        "2026-12-04 06:20:00,000 CRITICAL db: could not connect to server: Connection refused\n"
    )
    config = (
        "version: 1\n"
        'storage: "sqlite:///prodshield.db"\n'
        "logs:\n"
        "  sources:\n"
        "    - {name: nginx, path: logs/access.log, format: nginx}\n"
        "    - {name: app, path: logs/app/*.log}\n"
    ) + NOTIFIER
    repo = user_repo(tmp_path, toolchain, config)
    (repo / "logs" / "app").mkdir(parents=True)
    (repo / "logs" / "access.log").write_text(access)
    (repo / "logs" / "app" / "orders.log").write_text(app)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "yesterday's logs")
    runner = runner_for(repo, tmp_path, toolchain, github)
    result = run_ok(runner, DIGEST, event="schedule")
    assert result.summary.startswith("# Log digest"), result.log()
    assert "/api/orders" in result.summary  # from the nginx source
    assert "198.51.100.7" in result.summary  # the brute-forcer, from the nginx source
    assert "db_connection_failure" in result.summary  # the critical line, from the app source
    assert "logs/app/orders.log" in result.summary
    issue = only_issue(github)
    assert issue["title"].startswith("Log digest")
    assert "db_connection_failure" in issue["body"] and "/api/orders" in issue["body"]
    assert [p.name for p in result.artifacts["log-digest"]] == ["digest.md"]


def test_the_shield_yaml_init_writes_lets_the_digest_read_logs_brought_into_the_checkout(
    tmp_path: Path, toolchain: Toolchain, github: GitHubStandin
) -> None:
    """`init --github-actions` in a repository with no shield.yaml: the one it writes reads its
    log sources from the checkout's logs/ (it read /var/log/..., which a runner never has, so the
    daily digest exited 2 every day even after the "Fetch the logs" step brought the files in).
    A shield.yaml of one's own with a server path gets a warning naming its line."""
    repo = tmp_path / "shop"
    (repo / "vendor").mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    shutil.copy(toolchain.wheel, repo / "vendor" / toolchain.wheel.name)
    init = [
        str(toolchain.python_bin / "prodshield"), "init", "--github-actions",
        "--install", f"./vendor/{toolchain.wheel.name}",
    ]  # fmt: skip
    done = subprocess.run(init, cwd=repo, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "warning" not in done.stderr, done.stderr
    written = (repo / "shield.yaml").read_text()
    assert "path: logs/nginx/access.log*" in written and "/var/log" not in written
    # what the "Fetch the logs" step brings: yesterday's files under logs/
    (repo / "logs" / "nginx").mkdir(parents=True)
    (repo / "logs" / "app").mkdir()
    (repo / "logs" / "nginx" / "access.log").write_text(
        "".join(
            f'203.0.113.5 - - [04/Dec/2026:06:{m:02d}:30 +0000] "GET /api/orders HTTP/1.1" '
            f'{500 if m % 3 == 0 else 200} 512 "-" "shop"\n'
            for m in range(30)
        )
    )
    (repo / "logs" / "app" / "orders.log").write_text(
        "2026-12-04 06:20:00,000 CRITICAL db: could not connect to server: Connection refused\n"
    )
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "workflows and yesterday's logs")
    result = run_ok(runner_for(repo, tmp_path, toolchain, github), DIGEST, event="schedule")
    assert "/api/orders" in result.summary, result.log()  # the nginx source
    assert "db_connection_failure" in result.summary  # the app source
    assert only_issue(github)["title"].startswith("Log digest")

    (repo / "shield.yaml").write_text(
        written.replace("path: logs/app/*.log", "path: /var/log/app/*.log")
    )
    line = next(
        n for n, text in enumerate(written.splitlines(), 1) if "path: logs/app/*.log" in text
    )
    again = subprocess.run(
        [*init, "--force"], cwd=repo, capture_output=True, text=True, timeout=60,
        env={**os.environ, "COLUMNS": "80"},
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    warnings = [w for w in again.stderr.splitlines() if w.startswith("warning: ")]
    assert warnings == [
        f"warning: shield.yaml:{line}: logs.sources[1].path is /var/log/app/*.log, a path on the "
        "server: the step 'Daily digest' of log-intelligence.yml runs on a fresh runner, so it "
        "exits 2 (no log file found) until its 'Fetch the logs' step brings the files into the "
        "checkout and the path points there, e.g. path: logs/app/*.log"
    ], again.stderr


# --- security-audit.yml ---------------------------------------------------------------------

AUDIT_YAML = """version: 1
storage: "sqlite:///prodshield.db"
audit:
  paths: ["."]
  exclude: ["vendor/*"]
  fail_on: high
"""
DEPLOYED = {"deployment_status": {"state": "success"}, "deployment": {"environment": "production"}}


def test_audit_passes_a_clean_tree_and_fails_a_planted_key_with_valid_sarif(
    tmp_path: Path, toolchain: Toolchain, github: GitHubStandin
) -> None:
    repo = user_repo(tmp_path, toolchain, AUDIT_YAML)
    runner = runner_for(repo, tmp_path, toolchain, github)
    skipped = runner.run(
        AUDIT, event="deployment_status", payload={"deployment_status": {"state": "failure"}}
    )
    assert skipped.conclusion == "skipped"
    after_failed_deploy = runner.run(
        AUDIT, event="workflow_run", payload={"workflow_run": {"conclusion": "failure"}}
    )
    assert after_failed_deploy.conclusion == "skipped"

    clean = run_ok(runner, AUDIT, event="deployment_status", payload=DEPLOYED)
    assert clean.step("Gate").outcome == "skipped"
    (sarif,) = clean.sarif_uploads
    assert sarif["runs"][0]["results"] == [], json.dumps(sarif["runs"][0]["results"])[:2000]
    assert "passed" in clean.summary.lower()
    assert sorted(p.name for p in clean.artifacts["prodshield-audit"]) == [
        "prodshield-audit.md",
        "prodshield-audit.sarif",
    ]

    (repo / "deploy.env").write_text(f"AWS_ACCESS_KEY_ID={AWS_KEY}\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "oops")
    planted = runner.run(AUDIT, event="workflow_dispatch", payload={"inputs": {"fail_on": "high"}})
    assert planted.conclusion == "failure", planted.log()
    assert planted.step("Audit (gate)").outcome == "success"  # exit 1 is left to the Gate
    assert planted.step("Upload SARIF to code scanning").outcome == "success"
    assert planted.step("Gate").outcome == "failure"
    (sarif,) = planted.sarif_uploads
    results = sarif["runs"][0]["results"]
    files = {
        loc["physicalLocation"]["artifactLocation"]["uri"]
        for r in results
        for loc in r.get("locations", [])
    }
    assert "deploy.env" in files, results
    assert AWS_KEY not in json.dumps(sarif) and AWS_KEY not in planted.summary
    assert "deploy.env" in planted.summary


def test_the_runner_gives_a_step_the_variables_github_gives(
    tmp_path: Path, toolchain: Toolchain, github: GitHubStandin
) -> None:
    """The emulation itself: a workflow of the user's own using the same runner."""
    repo = user_repo(tmp_path, toolchain, AUDIT_YAML)
    (repo / ".github" / "workflows" / "probe.yml").write_text(
        """name: probe
on: workflow_dispatch
env:
  FROM_WORKFLOW: "w"
jobs:
  probe:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
      - id: one
        env:
          TOKEN: ${{ secrets.GITHUB_TOKEN }}
          REPO: ${{ github.repository }}
        run: |
          test "$GITHUB_WORKSPACE" = "$PWD" && test -f main.py
          test -d "$RUNNER_TEMP" && test "$GITHUB_EVENT_NAME" = workflow_dispatch
          test "$TOKEN" = test-token && test "$REPO" = acme/shop && test "$FROM_WORKFLOW" = w
          python -c "import prodshield"
          echo "answer=42" >> "$GITHUB_OUTPUT"
          echo "hello summary" >> "$GITHUB_STEP_SUMMARY"
      - if: steps.one.outputs.answer == '42'
        run: false
      - name: after a failure
        run: echo never
      - name: always
        if: always()
        run: echo "ran ${{ env.FROM_WORKFLOW }}"
"""
    )
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "probe")
    runner = runner_for(repo, tmp_path, toolchain, github)
    result = runner.run("probe.yml")
    outcomes = [s.outcome for s in result.steps]
    assert outcomes == ["success"] * 3 + ["failure", "skipped", "success"], result.log()
    assert result.summary == "hello summary\n"
    assert result.step("always").output.strip() == "ran w"
    assert os.path.isdir(result.workspace / ".git")


def test_the_audit_records_the_deploy_and_the_monitor_issue_names_it(
    tmp_path: Path, toolchain: Toolchain, github: GitHubStandin, target: FlakyTarget
) -> None:
    """The post-deploy audit marks the deploy (sha, environment) and stores its run in the
    monitor's cached store; the monitor's next run opens an issue whose Evidence names both."""
    config = monitor_yaml(target.url, failures=1).replace(
        "checks:\n", "environments: {production: {}}\nchecks:\n"
    ).replace(
        "    alerts: [github]\n", "    alerts: [github]\n    environments: [production]\n"
    ) + AUDIT_YAML.replace("version: 1\n", "").replace('storage: "sqlite:///prodshield.db"\n', "")
    # the audit step has no token in its environment (it would find it there) and leaves the
    # notifiers unread: their "${GITHUB_TOKEN}" stays as written, no default needed
    repo = user_repo(tmp_path, toolchain, config)
    (repo / "settings.py").write_text("DEBUG = True\n")  # the audit's finding in this deploy
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "debug on")
    runner = runner_for(repo, tmp_path, toolchain, github)
    sha = "d3adb33fc0ffee0123456789abcdef0123456789"
    deployed = {
        "deployment_status": {"state": "success"},
        "deployment": {"environment": "production", "sha": sha},
    }
    audit = runner.run(AUDIT, event="deployment_status", payload=deployed)
    assert audit.step("Record the deploy").outcome == "success", audit.log()
    assert audit.step("Audit (gate)").outcome == "success", audit.log()
    assert audit.step("Save the audit's records").outcome == "success", audit.log()
    assert [e.name.rsplit("-", 1)[0] for e in runner.cache.iterdir()] == ["prodshield-audit"]

    result = run_ok(runner, MONITOR, event="schedule")
    assert "some checks failed" in result.step("Run every check once").output
    body = only_issue(github)["body"]
    assert "Evidence" in body, body
    assert f"version {sha} deployed to production" in body, body
    assert "settings.py" in body, body  # the audit's finding, new in this deploy


def test_the_audit_verifies_the_deploy_against_the_monitors_results(
    tmp_path: Path, toolchain: Toolchain, github: GitHubStandin, target: FlakyTarget
) -> None:
    """After a deployment the audit job runs every check a few times in a throwaway copy of the
    monitor's store and `deploy verify` compares them with the monitor's results before the
    deploy: the verdict is in the job summary and a deploy that broke the check fails the job.
    The copy notifies nothing (the monitor's next run opens the one issue) and is never saved."""
    config = monitor_yaml(target.url, failures=2).replace(
        "checks:\n", "environments: {production: {}}\nchecks:\n"
    ).replace(
        "    alerts: [github]\n", "    alerts: [github]\n    environments: [production]\n"
    ) + AUDIT_YAML.replace("version: 1\n", "").replace('storage: "sqlite:///prodshield.db"\n', "")
    config = config.replace('"${GITHUB_TOKEN}"', '"${GITHUB_TOKEN:-not-needed-by-the-audit}"')
    repo = user_repo(tmp_path, toolchain, config)
    runner = runner_for(
        repo,
        tmp_path,
        toolchain,
        github,
        variables={"PRODSHIELD_VERIFY_RUNS": "3", "PRODSHIELD_VERIFY_EVERY": "1"},
    )
    target.then = "ok"
    for _ in range(3):  # the monitor's results before the deploys
        run_ok(runner, MONITOR, event="schedule")

    def deployed(sha: str) -> dict[str, Any]:
        return {
            "deployment_status": {"state": "success"},
            "deployment": {"environment": "production", "sha": sha},
        }

    runner.variables["PRODSHIELD_VERIFY_EVERY"] = "31"  # runs over a minute: the whole window
    good = run_ok(runner, AUDIT, event="deployment_status", payload=deployed("a" * 40))
    runner.variables["PRODSHIELD_VERIFY_EVERY"] = "1"
    assert good.step("Verify the deploy").outcome == "success", good.log()
    assert good.step("Verification gate").outcome == "skipped"
    assert "### Deploy verification: PASS" in good.summary, good.summary
    # the window ends at the last run and is over when the verdict is given
    assert "after the deploy (window over) against 60 min before; 1 check" in good.summary, (
        good.summary
    )

    target.then = "503"  # the next deploy breaks the service
    bad = runner.run(AUDIT, event="deployment_status", payload=deployed("b" * 40))
    assert bad.conclusion == "failure", bad.log()
    assert bad.step("Audit (gate)").outcome == "success" and bad.step("Gate").outcome == "skipped"
    assert bad.step("Verification gate").outcome == "failure"
    assert any("deploy made things worse" in a for a in bad.annotations), bad.annotations
    summary = bad.summary
    assert (
        "### Deploy verification: FAIL" in summary
        and f"deploy #2 `{'b' * 40}` (in `production`)" in summary
    )
    # compared with the monitor's three passing runs, not with the first verification's
    assert "3 of 3 results failed after the deploy (100.0%); 0 of 3 before (0.0%)" in summary
    assert "| fail | monitor | `shop-api [production]` | `down since the deploy` |" in summary
    # the copy opened an incident (failure_threshold 2) but delivered nothing
    assert "| fail | incidents |" in summary, summary
    assert github.issues(REPO) == []
    kept = sorted(e.name.rsplit("-", 1)[0] for e in runner.cache.iterdir())
    assert kept == ["prodshield-audit"] * 2 + ["prodshield-state"] * 3, kept

    # the monitor's own runs open the one issue, from its own store
    for _ in range(2):
        run_ok(runner, MONITOR, event="schedule")
    assert "shop-api" in only_issue(github)["title"]


def test_the_digest_and_the_audit_give_the_monitor_issue_its_evidence(
    tmp_path: Path, toolchain: Toolchain, github: GitHubStandin, target: FlakyTarget
) -> None:
    """The daily digest finds a 5xx burst on one endpoint of the shop's access log, the
    post-deploy audit a planted finding; each workflow keeps its records in its own cache entry.
    A monitor run that started before them and saved its state after them (the cache race that
    lost the audit's deploy marker) changes nothing: the monitor's next run merges both, and the
    one issue it opens for the failing check names the endpoint, the audit finding and the
    deploy in its Evidence section."""
    config = (
        monitor_yaml(target.url, failures=1)
        .replace("checks:\n", "environments: {production: {}}\nchecks:\n")
        .replace("    alerts: [github]\n", "    alerts: [github]\n    environments: [production]\n")
        .replace('"${GITHUB_TOKEN}"', '"${GITHUB_TOKEN:-not-needed-by-the-audit}"')
    )
    config += (
        "logs:\n"
        "  sources:\n"
        "    - {name: shop-access, service: shop-api, environment: production,\n"
        "       path: logs/access.log, format: nginx}\n"
    ) + AUDIT_YAML.replace("version: 1\n", "").replace('storage: "sqlite:///prodshield.db"\n', "")
    repo = user_repo(tmp_path, toolchain, config)
    lines = [
        f'203.0.113.5 - - [04/Dec/2026:06:{m:02d}:30 +0000] "GET /api/orders HTTP/1.1" 200 512 "-" "shop"'
        for m in range(30)
    ] + [
        f'203.0.113.9 - - [04/Dec/2026:06:20:{s:02d} +0000] "POST /api/checkout HTTP/1.1" 502 0 "-" "shop"'
        for s in range(12)
    ]
    lines.sort(key=lambda line: line.split("[", 1)[1][:26])
    (repo / "logs").mkdir()
    (repo / "logs" / "access.log").write_text("\n".join(lines) + "\n")
    (repo / "settings.py").write_text("DEBUG = True\n")  # the audit's finding in this deploy
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "the shop, its logs, debug on")
    runner = runner_for(repo, tmp_path, toolchain, github)

    target.then = "ok"
    run_ok(runner, MONITOR, event="schedule")  # a healthy run: the monitor's state exists
    (before_audit,) = runner.cache.iterdir()
    sha = "0123456789abcdef0123456789abcdef01234567"
    audit = runner.run(
        AUDIT,
        event="deployment_status",
        payload={
            "deployment_status": {"state": "success"},
            "deployment": {"environment": "production", "sha": sha},
        },
    )
    assert audit.step("Record the deploy").outcome == "success", audit.log()
    digest = run_ok(runner, DIGEST, event="schedule")
    assert "/api/checkout" in digest.summary, digest.log()
    saved = sorted(e.name.rsplit("-", 1)[0] for e in runner.cache.iterdir())
    assert saved == ["prodshield-audit", "prodshield-logs", "prodshield-state"], saved
    # a monitor run that restored its state before the audit and the digest saves it after them
    # (as the newest entry); before, the audit wrote into this entry and its marker was lost
    stale = runner.cache / "prodshield-state-9999999"
    shutil.copytree(before_audit, stale)
    os.utime(stale)

    target.then = "503"
    result = run_ok(runner, MONITOR, event="schedule")
    merged = result.step("Run every check once").output
    assert "prodshield-audit/prodshield.db: merged 1 deploy marker, 1 audit run" in merged, merged
    assert "the last log scan" in merged, merged
    incidents = [i for i in github.issues(REPO) if "shop-api" in i["title"]]
    assert len(incidents) == 1, [i["title"] for i in github.issues(REPO)]
    body = incidents[0]["body"]
    assert "### Evidence" in body, body
    assert "5xx burst on POST /api/checkout" in body, body  # the digest's finding
    assert "/api/orders" not in body
    assert "settings.py" in body, body  # the audit's finding, new in this deploy
    assert f"version {sha} deployed to production" in body, body
    # merged once: the next run adds nothing, and the issue gets no second copy
    again = run_ok(runner, MONITOR, event="schedule")
    assert (
        "merged 0 deploy markers, 0 audit runs (0 findings), 0 log findings"
        in again.step("Run every check once").output
    )
    assert len([i for i in github.issues(REPO) if "shop-api" in i["title"]]) == 1
