"""The pieces the generated workflows rely on, from the command line: `init --github-actions
--install`, `audit --report` (several formats from one run) and `logs scan|digest` reading
logs.sources when no files are given. The workflows themselves run in tests/journeys/."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from prodshield import __version__
from support.cli import clean_env


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = clean_env(cwd)
    return subprocess.run(
        [sys.executable, "-m", "prodshield", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
    )


def workflows(root: Path) -> dict[str, dict[Any, Any]]:
    folder = root / ".github" / "workflows"
    return {p.name: yaml.safe_load(p.read_text()) for p in sorted(folder.glob("*.yml"))}


def install_steps(doc: dict[str, Any]) -> list[str]:
    steps = next(iter(doc["jobs"].values()))["steps"]
    return [s["run"] for s in steps if "pip install" in s.get("run", "")]


def test_default_install_pins_the_version_that_wrote_the_files(tmp_path: Path) -> None:
    r = cli("init", "--github-actions", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    docs = workflows(tmp_path)
    assert sorted(docs) == [
        "log-intelligence.yml",
        "production-monitoring.yml",
        "security-audit.yml",
    ]
    for name, doc in docs.items():
        assert doc["env"]["PRODSHIELD_INSTALL"] == f"prodshield=={__version__}", name
        assert install_steps(doc) == ['python -m pip install "$PRODSHIELD_INSTALL"'], name
    assert (tmp_path / "shield.yaml").exists()
    # this checkout is installed editable (a local folder no runner can reach): the pinned
    # version, and init says it must be installable
    (warning,) = [line for line in r.stderr.splitlines() if line.startswith("warning:")]
    assert f"install prodshield=={__version__} from the package index" in warning
    assert "--install" in warning


GIT = "https://github.com/acme/prodshield"
COMMIT = "3f2c9e1b0d5e6f708192a3b4c5d6e7f8091a2b3c"


@pytest.mark.parametrize(
    ("direct_url", "spec"),
    [
        # pip install git+https://github.com/acme/prodshield@v0.3.1
        (
            {
                "url": GIT,
                "vcs_info": {"vcs": "git", "commit_id": COMMIT, "requested_revision": "v0.3.1"},
            },
            f"prodshield @ git+{GIT}@{COMMIT}",
        ),
        # pip install git+https://github.com/acme/prodshield (a branch): pinned to the commit
        (
            {"url": GIT, "vcs_info": {"vcs": "git", "commit_id": COMMIT}},
            f"prodshield @ git+{GIT}@{COMMIT}",
        ),
        # pip install https://files.example.com/prodshield-0.3.1-py3-none-any.whl
        (
            {
                "url": "https://files.example.com/prodshield-0.3.1-py3-none-any.whl",
                "archive_info": {"hash": "sha256=00ff"},
            },
            "prodshield @ https://files.example.com/prodshield-0.3.1-py3-none-any.whl#sha256=00ff",
        ),
        # nothing a runner can reach: the pinned version
        ({"url": "file:///home/me/prodshield", "dir_info": {"editable": True}}, None),
        ({"url": "file:///tmp/x.whl", "archive_info": {}}, None),
        (
            {
                "url": "https://token@github.com/acme/p",
                "vcs_info": {"vcs": "git", "commit_id": COMMIT},
            },
            None,
        ),
        ({"url": GIT, "vcs_info": {"vcs": "git"}}, None),
        ({"url": "https://example.com/index/", "dir_info": {}}, None),
        ("not json", None),
        (None, None),
    ],
)
def test_the_default_install_is_where_prodshield_came_from(
    direct_url: object, spec: str | None
) -> None:
    """PEP 610: pip writes direct_url.json for what it installed from a URL; a VCS URL at its
    commit or an archive URL with its hash installs on a runner, a local folder does not."""
    from prodshield.templates.github_actions import install_from_direct_url

    text = (
        direct_url if isinstance(direct_url, str) or direct_url is None else json.dumps(direct_url)
    )
    chosen = install_from_direct_url(text, "0.3.1")
    if spec is None:
        assert chosen.spec == "prodshield==0.3.1"
        assert chosen.warning and "--install" in chosen.warning
    else:
        assert (chosen.spec, chosen.warning) == (spec, None)


@pytest.mark.parametrize(
    "spec",
    [
        "prodshield==0.3.1",
        "prodshield[extra]===0.3.1",
        "git+https://github.com/acme/prodshield@v0.3.1",
        "git+https://github.com/acme/prodshield@3f2c9e1b",
        "prodshield @ git+https://github.com/acme/prodshield@v0.3.1",
        "./vendor/prodshield-0.3.1-py3-none-any.whl",
        "https://example.com/dl/prodshield-0.3.1-py3-none-any.whl#sha256=00ff",
    ],
)
def test_pinned_specs_go_into_every_workflow_verbatim(tmp_path: Path, spec: str) -> None:
    r = cli("init", "--github-actions", "--install", spec, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    for doc in workflows(tmp_path).values():
        assert doc["env"]["PRODSHIELD_INSTALL"] == spec


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("prodshield", "unpinned name"),
        ("prodshield>=0.3", "not pinned"),
        ("prodshield==0.*", "not pinned"),
        ("git+https://github.com/acme/prodshield", "tag or commit"),
        ("git+https://github.com/acme/prodshield@main", "branch"),
        ("https://example.com/simple/prodshield/", "wheel or sdist"),
    ],
)
def test_unpinned_specs_are_refused_with_one_line(tmp_path: Path, spec: str, says: str) -> None:
    r = cli("init", "--github-actions", "--install", spec, cwd=tmp_path)
    assert r.returncode == 2
    assert says in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert "Traceback" not in r.stderr
    assert not (tmp_path / ".github").exists()


def test_audit_after_names_the_deploy_workflow(tmp_path: Path) -> None:
    r = cli("init", "--github-actions", cwd=tmp_path)
    audit = workflows(tmp_path)["security-audit.yml"]
    on = audit[True]  # YAML 1.1 reads the key `on` as a boolean
    assert "workflow_run" not in on, "no deploy workflow assumed by default"
    assert set(on) == {"deployment_status", "workflow_dispatch"}
    perms = audit["jobs"]["audit"]["permissions"]
    assert perms == {"contents": "read", "actions": "read", "security-events": "write"}
    r = cli("init", "--github-actions", "--force", "--audit-after", "Ship it", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    on = workflows(tmp_path)["security-audit.yml"][True]
    assert on["workflow_run"] == {"workflows": ["Ship it"], "types": ["completed"]}


def test_audit_writes_every_report_from_one_run(tmp_path: Path) -> None:
    (tmp_path / "settings.py").write_text("DEBUG = True\nAPI = 'AKIA" + "QYLPMN5HFIQR7XYZ'\n")
    r = cli(
        "audit",
        ".",
        "--no-store",
        "--no-process-env",
        "--report",
        "sarif:out/audit.sarif",
        "--report",
        "markdown:out/audit.md",
        "--format",
        "json",
        cwd=tmp_path,
    )
    assert r.returncode == 1, r.stderr
    sarif = json.loads((tmp_path / "out" / "audit.sarif").read_text())
    md = (tmp_path / "out" / "audit.md").read_text()
    stdout = json.loads(r.stdout)
    rule_ids = {res["ruleId"] for res in sarif["runs"][0]["results"]}
    assert rule_ids and all(rid in md for rid in rule_ids)
    assert len(sarif["runs"][0]["results"]) == len(stdout["findings"])
    assert "out/audit.sarif, out/audit.md" in r.stderr

    bad = cli("audit", ".", "--no-store", "--report", "pdf:x.pdf", cwd=tmp_path)
    assert bad.returncode == 2 and "unknown format 'pdf'" in bad.stderr


ACCESS = '203.0.113.9 - - [04/Dec/2026:10:00:0{i} +0000] "POST /login HTTP/1.1" 401 12 "-" "curl"\n'


def test_logs_digest_and_scan_read_the_configured_sources(tmp_path: Path) -> None:
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "web.log").write_text("".join(ACCESS.format(i=i) for i in range(8)))
    (tmp_path / "logs" / "other.txt").write_text("not a source\n")
    (tmp_path / "shield.yaml").write_text(
        "version: 1\nstorage: sqlite:///ps.db\n"
        "logs:\n  sources:\n    - {name: web, path: logs/*.log, format: nginx}\n"
        "    - {name: gone, path: missing/*.log}\n"
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    r = cli(
        "logs", "digest", "-c", str(tmp_path / "shield.yaml"), "--format", "json", cwd=elsewhere
    )
    assert r.returncode == 0, r.stderr
    digest = json.loads(r.stdout)
    assert digest["stats"]["events"] == 8
    r = cli("logs", "scan", "-c", "shield.yaml", "--format", "json", cwd=tmp_path)
    assert r.returncode in (0, 1), r.stderr
    assert json.loads(r.stdout)["stats"]["events"] == 8


def test_logs_without_files_or_sources_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "shield.yaml").write_text(
        "version: 1\nlogs:\n  sources:\n    - {name: app, path: nothing/*.log}\n"
    )
    r = cli("logs", "digest", cwd=tmp_path)
    assert r.returncode == 2
    assert "no log file found for logs.sources (app: nothing/*.log)" in r.stderr
    (tmp_path / "shield.yaml").write_text("version: 1\n")
    r = cli("logs", "scan", cwd=tmp_path)
    assert r.returncode == 2 and "has no logs.sources" in r.stderr


@pytest.mark.parametrize(
    ("origin", "https"),
    [
        ("https://github.com/acme/prodshield.git", "https://github.com/acme/prodshield.git"),
        ("git@github.com:acme/prodshield.git", "https://github.com/acme/prodshield.git"),
        ("https://user:tok@github.com/acme/prodshield.git", None),  # credentials: not written
        ("/srv/mirrors/prodshield", None),  # a local path a runner cannot fetch
    ],
)
def test_an_editable_checkout_gives_its_origin_at_its_commit(
    tmp_path: Path, origin: str, https: str | None
) -> None:
    """``pip install -e .`` of a clone: the workflows install the clone's commit from its origin
    (as https), with a warning to push it; a remote a runner cannot use gives the pinned version."""
    from prodshield.templates.github_actions import install_from_direct_url

    checkout = tmp_path / "prodshield"
    checkout.mkdir()

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(checkout), *args], check=True, capture_output=True, text=True
        ).stdout.strip()

    git("init", "-q")
    (checkout / "README.md").write_text("prodshield\n")
    git("add", "README.md")
    git("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "one")
    git("remote", "add", "origin", origin)
    commit = git("rev-parse", "HEAD")
    text = json.dumps({"url": f"file://{checkout}", "dir_info": {"editable": True}})
    chosen = install_from_direct_url(text, "0.3.1")
    if https is None:
        assert chosen.spec == "prodshield==0.3.1"
        # the warning says why, never the credentials an origin URL holds
        assert chosen.warning and "because" in chosen.warning and "--install SPEC" in chosen.warning
        assert "tok@" not in chosen.warning, chosen.warning
        return
    assert chosen.spec == f"prodshield @ git+{https}@{commit}"
    assert chosen.warning and "push that commit" in chosen.warning
    assert "uncommitted" not in chosen.warning
    (checkout / "README.md").write_text("changed\n")
    dirty = install_from_direct_url(text, "0.3.1")
    assert dirty.spec == chosen.spec and dirty.warning and "uncommitted" in dirty.warning


def test_the_audit_verifies_the_deploy_with_enough_runs_for_every_comparison() -> None:
    """The default check runs of security-audit.yml's deploy verification are enough for each
    comparison `deploy verify` makes (a failure rate, a p95 response time) and stay in the job's
    five minutes; the runs notify nothing (a copy of the monitor's store)."""
    import re

    from prodshield.templates.github_actions import WorkflowOptions, render
    from prodshield.verification import MIN_LATENCIES, MIN_RESULTS

    text = render("security-audit.yml", WorkflowOptions(install="prodshield==1.0"))
    env = next(iter(yaml.safe_load(text)["jobs"].values()))["env"]
    runs = int(re.findall(r"'(\d+)'", env["VERIFY_RUNS"])[0])
    every = int(re.findall(r"'(\d+)'", env["VERIFY_EVERY"])[0])
    assert runs >= max(MIN_RESULTS, MIN_LATENCIES), runs
    assert (runs - 1) * every <= 150, (runs, every)
    assert "prodshield monitor once -c shield.yaml --no-notify" in text


def test_the_subprocesses_run_the_checkout_under_test(tmp_path: Path) -> None:
    """The clean environment ``cli`` gives its subprocess keeps ``PYTHONPATH``: the command that
    runs is this checkout's, the one this test imported, not the package installed beside the
    interpreter."""
    import prodshield

    shown = subprocess.run(
        [sys.executable, "-c", "import prodshield; print(prodshield.__file__)"],
        cwd=tmp_path,
        env=clean_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert Path(shown.stdout.strip()).resolve() == Path(prodshield.__file__).resolve()


def test_init_over_a_shield_yaml_without_storage_names_the_default(tmp_path: Path) -> None:
    """No `storage:` line keeps the store at the default, outside the workflows' cache: said,
    without a line number that would point at something else."""
    (tmp_path / "shield.yaml").write_text("version: 1\nchecks: []\n")
    done = cli("init", "--github-actions", "--install", "prodshield==1.0.0", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    warnings = [line for line in done.stderr.splitlines() if line.startswith("warning: ")]
    # (and the digest's --post github, which no notifier answers: its own warning)
    assert [w for w in warnings if "--post github" not in w] == [
        "warning: shield.yaml: no storage: (the default 'sqlite:///prodshield.db') does not "
        "follow PRODSHIELD_STORAGE, so the workflows' cache never holds the store and failure "
        'counts restart every run; write storage: "${PRODSHIELD_STORAGE:-sqlite:///prodshield.db}"'
    ], done.stderr


def test_a_check_reading_a_variable_is_told_to_get_it_not_a_default(tmp_path: Path) -> None:
    """A review: for a check's URL the warning suggested `"${API_URL:-unset}"` first, which makes
    every run request `unset/health` and open incidents; a value the step uses needs the
    variable, while serve's and notifiers' values may take a default; serve.token, which only
    `serve` reads, is no problem at all."""
    (tmp_path / "shield.yaml").write_text(
        'storage: "${PRODSHIELD_STORAGE:-sqlite:///prodshield.db}"\n'
        'serve: {token: "${PRODSHIELD_TOKEN}", public_url: "${STATUS_URL}"}\n'
        "checks:\n"
        '  - {name: api, type: http, url: "${API_URL}/health"}\n'
    )
    done = cli("init", "--github-actions", "--install", "prodshield==1.0.0", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    warnings = [line for line in done.stderr.splitlines() if line.startswith("warning: ")]
    api = [w for w in warnings if "reads ${API_URL}" in w]
    url = [w for w in warnings if "reads ${STATUS_URL}" in w]
    assert api and url, done.stderr
    assert "PRODSHIELD_TOKEN" not in done.stderr
    assert "add API_URL to that step's env" in api[0] and "${API_URL:-" not in api[0], api[0]
    assert "secrets.API_URL" in api[0]
    assert 'write "${STATUS_URL:-}"' in url[0], url[0]


def test_a_variable_only_the_audit_lacks_is_no_problem_where_the_audit_leaves_it_unread(
    tmp_path: Path,
) -> None:
    """The audit step is not given GITHUB_TOKEN, but `audit` leaves the notifiers and the checks
    unread (since 2c0f440): a notifier's "${GITHUB_TOKEN}" loads there as written, so init no
    longer asks for "${GITHUB_TOKEN:-unset}". A notifier's variable the monitor's step lacks is
    still said, naming that step and not the audit's, with the edit that lets it deliver."""
    (tmp_path / "shield.yaml").write_text(
        'storage: "${PRODSHIELD_STORAGE:-sqlite:///prodshield.db}"\n'
        "checks:\n"
        '  - {name: api, type: http, url: "${API_URL}/health"}\n'
        "notifiers:\n"
        '  github: {type: github, repo: "${GITHUB_REPOSITORY}", token: "${GITHUB_TOKEN}"}\n'
        '  slack: {type: slack, webhook_url: "${SLACK_WEBHOOK}"}\n'
    )
    done = cli("init", "--github-actions", "--install", "prodshield==1.0.0", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    warnings = [line for line in done.stderr.splitlines() if line.startswith("warning: ")]
    assert "GITHUB_TOKEN" not in done.stderr, done.stderr
    slack = [w for w in warnings if "reads ${SLACK_WEBHOOK}" in w]
    api = [w for w in warnings if "reads ${API_URL}" in w]
    assert len(slack) == 1 and len(api) == 1 and len(warnings) == 2, done.stderr
    # the monitor's, the digest's (--post reads every notifier), the deploy's and the
    # verification's steps read them; the audit's does not
    for w in (slack[0], api[0]):
        assert "the step 'Run every check once' of production-monitoring.yml" in w, w
        assert "(and 3 other steps)" in w, w
    assert "add SLACK_WEBHOOK to that step's env" in slack[0], slack[0]
    assert "secrets.SLACK_WEBHOOK" in slack[0] and ":-unset" not in slack[0], slack[0]


def test_the_github_notifier_init_gives_for_the_digest_loads_in_every_step(
    tmp_path: Path,
) -> None:
    """The notifier the digest's --post warning gives to add is taken as it is: no warning."""
    (tmp_path / "shield.yaml").write_text(
        'storage: "${PRODSHIELD_STORAGE:-sqlite:///prodshield.db}"\nchecks: []\n'
    )
    done = cli("init", "--github-actions", "--install", "prodshield==1.0.0", cwd=tmp_path)
    (post,) = [w for w in done.stderr.splitlines() if "--post github" in w]
    given = post.split("add under notifiers: ", 1)[1]
    assert given.startswith("github: {") and 'token: "${GITHUB_TOKEN}"' in given, post
    text = (tmp_path / "shield.yaml").read_text() + f"notifiers:\n  {given}\n"
    (tmp_path / "shield.yaml").write_text(text)
    again = cli(
        "init", "--github-actions", "--force", "--install", "prodshield==1.0.0", cwd=tmp_path
    )
    assert again.returncode == 0 and "warning" not in again.stderr, again.stderr
