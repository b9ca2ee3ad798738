"""Journey: the words a newcomer reads on the command line (issue 25's trial). Help names what a
value is and fits 80 columns; summaries count in English; `config check` warns about the
template's placeholders; the demo leaves nothing in the current folder."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from support.cli import grid_cell, prodshield, shell_env
from support.net import free_port

# Every command a user can ask for help about (groups and leaves).
COMMANDS = [
    [],
    ["init"],
    ["config", "check"],
    ["monitor", "once"],
    ["monitor", "run"],
    ["monitor", "status"],
    ["monitor", "heartbeats"],
    ["monitor", "report"],
    ["logs", "parse"],
    ["logs", "templates"],
    ["logs", "scan"],
    ["logs", "digest"],
    ["audit"],
    ["audit", "run"],
    ["audit", "tls"],
    ["audit", "secrets"],
    ["audit", "history"],
    ["chaos", "proxy"],
    ["chaos", "toxic", "add"],
    ["chaos", "toxic", "remove"],
    ["chaos", "run"],
    ["notify", "status"],
    ["serve"],
    ["demo"],
    ["debt"],
    ["db", "upgrade"],
    ["deploy", "mark"],
    ["deploy", "list"],
    ["deploy", "verify"],
    ["incident", "open"],
    ["incident", "update"],
    ["incident", "resolve"],
    ["incident", "postmortem"],
    ["incident", "ack"],
    ["status", "build"],
    ["status", "subscribers"],
]


def _cli(cwd: Path, *args: str, columns: int = 80) -> subprocess.CompletedProcess[str]:
    env = shell_env(drop=("PRODSHIELD_", "GITHUB_"), COLUMNS=str(columns))
    return prodshield(cwd, *args, env=env, installed=True)  # the installed command


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "prodshield")
def test_help_names_values_and_fits_80_columns(tmp_path: Path, command: list[str]) -> None:
    done = _cli(tmp_path, *command, "--help")
    assert done.returncode == 0, done.stderr
    text = done.stdout
    assert "usage:" in text.lower()
    # type names are not metavars; required arguments are not {braced}
    assert not re.search(r"<(bool|str|int|float|path|list\[[^\]]*\])>", text), text
    assert not re.search(r"\{[a-z_]+\}", text), text
    assert all(len(line) <= 80 for line in text.splitlines()), text
    assert "Examples:" in text, text  # every command shows how it is used


def test_help_metavars_read_like_a_person_wrote_them(tmp_path: Path) -> None:
    parse = _cli(tmp_path, "logs", "parse", "--help").stdout
    assert "Usage: prodshield logs parse [OPTIONS] FILE..." in parse
    assert re.search(r"^\s+--save\s{2,}Resume", parse, re.M), parse  # a flag: no value
    once = _cli(tmp_path, "monitor", "once", "--help").stdout
    assert "--notify-wait DURATION" in once and "--format [table|json]" not in once
    audit = _cli(tmp_path, "audit", "run", "--help").stdout
    assert "Usage: prodshield audit run [OPTIONS] [PATH...]" in audit
    for shown in ("--tls HOST:PORT", "-c, --config FILE", "--fail-on SEVERITY", "--exclude GLOB"):
        assert shown in audit, shown
    assert "severity ." not in " ".join(audit.split())
    # a flag takes no value: nothing follows it but its description
    assert re.search(r"^\s+--fix\s{2,}Apply", audit, re.M), audit
    # a wide terminal keeps the boxed panels, with the same names
    wide = _cli(tmp_path, "audit", "run", "--help", columns=140).stdout
    assert "HOST:PORT" in wide and "<list[str]>" not in wide
    # a service is a name where it names one (deploy markers, incidents), a URL where it is one
    for command in (["deploy", "mark"], ["deploy", "list"], ["incident", "open"]):
        text = _cli(tmp_path, *command, "--help").stdout
        assert "--service SERVICE" in text and "--service URL" not in text, text
    assert "--service URL" in _cli(tmp_path, "chaos", "breaker", "--help").stdout


def test_config_check_counts_in_english_and_warns_about_placeholders(tmp_path: Path) -> None:
    assert _cli(tmp_path, "init", ".").returncode == 0
    done = _cli(tmp_path, "config", "check")
    assert done.returncode == 0, done.stderr
    assert "1 notifier," in done.stdout and "1 chaos proxy;" in done.stdout
    assert "1 notifiers" not in done.stdout and "1 chaos proxies" not in done.stdout
    # the example's log file may not exist here: that is a warning of its own, and the token's
    warning = next(line for line in done.stderr.splitlines() if "notifiers.github.token" in line)
    assert re.match(
        r"warning: shield\.yaml:\d+:\d+: notifiers\.github\.token: GITHUB_TOKEN is not set, so "
        r"the template's placeholder 'unset' is used",
        warning,
    ), warning
    assert "note: shield.yaml:" in done.stderr and "GITHUB_REPOSITORY is not set" in done.stderr
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PRODSHIELD_", "GITHUB_"))}
    given = subprocess.run(
        [sys.executable, "-m", "prodshield", "config", "check"],
        cwd=tmp_path,
        env={**env, "GITHUB_TOKEN": "ghp_" + "a" * 36, "GITHUB_REPOSITORY": "acme/shop"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert given.returncode == 0, given.stderr
    # the placeholders' warnings are gone (the example's log files may still be missing here)
    left = [line for line in given.stderr.splitlines() if line.startswith("warning:")]
    assert all("matches no file yet" in line for line in left), given.stderr
    assert "GITHUB_TOKEN" not in given.stderr and "ghp_" not in given.stdout + given.stderr


def test_the_demo_leaves_nothing_in_the_current_folder(tmp_path: Path) -> None:
    here = tmp_path / "repo"
    here.mkdir()
    done = _cli(here, "demo", "--port", "0", "--duration", "3")
    assert done.returncode == 0, done.stderr
    assert list(here.iterdir()) == []
    config_line = next(line for line in done.stdout.splitlines() if line.startswith("config: "))
    folder = Path(config_line.split()[1]).parent
    assert not folder.is_relative_to(here)
    assert "removed when the demo stops; --dir DIR keeps them" in config_line
    assert not folder.exists() and "demo stopped" in done.stdout
    kept = _cli(here, "demo", "--port", "0", "--duration", "3", "--dir", str(tmp_path / "keep"))
    assert kept.returncode == 0, kept.stderr
    assert (tmp_path / "keep" / "shield.yaml").is_file()


def test_tables_fit_80_columns_without_cutting_key_columns(tmp_path: Path) -> None:
    (tmp_path / "shield.yaml").write_text(
        "storage: sqlite:///store.db\n"
        "environments: {production-eu-west: {}}\n"
        "checks:\n"
        "  - {name: db_connection_pool_primary, type: tcp, host: 127.0.0.1, port: 9,"
        " timeout: 2s, environments: [production-eu-west]}\n"
        "  - {name: nightly-backup-of-the-orders, type: heartbeat, period: 24h}\n"
    )
    once = _cli(tmp_path, "monitor", "once")
    status = _cli(tmp_path, "monitor", "status")
    for done in (once, status):
        lines = done.stdout.splitlines()
        assert all(len(line) <= 80 for line in lines), done.stdout
        # a name too long for whole words beside it wraps in its own column, never cut
        assert grid_cell(done.stdout, "db_conn", "env") == "db_connection_pool_primary"
        assert grid_cell(done.stdout, "nightly", "env") == "nightly-backup-of-the-orders"
        assert "production-eu-west" in done.stdout
        assert "…" not in done.stdout
    # ...so the other columns keep their words and numbers whole
    assert {"refused", "0.00%", "result", "pinged"} <= set(status.stdout.split()), status.stdout
    assert "waiting" in status.stdout and "waiting for the first ping" in status.stdout
    # a heartbeat never pinged has no "ok" last result
    wide = _cli(tmp_path, "monitor", "status", columns=140)
    backup = next(line for line in wide.stdout.splitlines() if "nightly-backup" in line)
    assert "never pinged" in backup and " ok " not in backup, backup

    (tmp_path / "app.log").write_text(
        "2026-12-04 20:01:00 CRITICAL could not connect to database: connection refused\n"
    )
    scan = _cli(tmp_path, "logs", "scan", "app.log")
    assert "db_connection_failure" in scan.stdout and "…" not in scan.stdout
    assert "(s)" not in scan.stdout
    found = json.loads(_cli(tmp_path, "logs", "scan", "app.log", "--format", "json").stdout)
    assert [f["message"] for f in found["findings"]] == ["1 database connection failure"]
    # the last-seen time is never split over two lines
    assert re.search(r"db_connection_failure .* 12-04 20:01", scan.stdout), scan.stdout
    assert all(len(line) <= 80 for line in scan.stdout.splitlines()), scan.stdout

    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "settings.py").write_text("DEBUG = True\n")
    audit = _cli(tree, "audit", ".", "--no-process-env")
    assert audit.returncode == 1
    assert all(len(line) <= 80 for line in audit.stdout.splitlines()), audit.stdout
    heading = next(line for line in audit.stdout.splitlines() if "config.django-debug" in line)
    assert heading.split() == ["high", "config.django-debug", "settings.py:1"]
    assert "  fix: " in audit.stdout


def test_debt_on_a_fresh_repository(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()

    def git(*args: str) -> None:
        subprocess.run(
            ["git", "-c", "user.email=dev@example.com", "-c", "user.name=Dev", *args],
            cwd=repo,
            check=True,
            capture_output=True,
        )

    git("init", "-q")
    (repo / "app.py").write_text("x = 1\n")
    git("add", "app.py")
    git("commit", "-qm", "first")
    empty = _cli(repo, "debt", ".")
    assert empty.returncode == 0, empty.stderr
    assert empty.stdout.startswith("0 debt markers in 1 tracked file of ")
    assert "┃" not in empty.stdout and "count" not in empty.stdout  # no empty tables
    (repo / "app.py").write_text("x = 1\n# TODO: read x from the config\n")
    git("commit", "-qam", "todo")
    one = _cli(repo, "debt", ".")
    assert one.stdout.startswith("1 debt marker in 1 tracked file of ")
    row = next(line for line in one.stdout.splitlines() if "app.py:2" in line)
    assert row.split()[0] == "0"  # committed today: 0 days, not "-"


def test_logs_templates_fits_80_columns_with_whole_ids_and_times(tmp_path: Path) -> None:
    lines = [
        f'198.51.100.{i} - - [04/Dec/2026:20:{i:02d}:00 +0000] "GET /api/orders/{i} HTTP/1.1" '
        f'200 512 "-" "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36"'
        for i in range(1, 40)
    ]
    (tmp_path / "access.log").write_text("\n".join(lines) + "\n")
    done = _cli(tmp_path, "logs", "templates", "access.log")
    assert done.returncode == 0, done.stderr
    assert all(len(line) <= 80 for line in done.stdout.splitlines()), done.stdout
    listed = _cli(tmp_path, "logs", "templates", "access.log", "--format", "json")
    (only,) = json.loads(listed.stdout)["templates"]
    row = next(line for line in done.stdout.splitlines() if only["id"] in line)
    # the id whole, the count, first and last seen on the template's first line, nothing cut
    assert row.split()[:2] == [only["id"], "39"]
    assert "12-04 20:01" in row and "12-04 20:39" in row
    assert "…" not in done.stdout
    assert done.stdout.rstrip().endswith("1 template, 39 events")
    assert done.stderr.startswith("read 1 file, 39 lines, 39 events")
    wide = _cli(tmp_path, "logs", "templates", "access.log", columns=160)
    assert "example" in wide.stdout and "GET /api/orders/1 HTTP/1.1" in wide.stdout


def test_config_check_warns_about_secrets_written_in_the_file(tmp_path: Path) -> None:
    token, header = "xoxb-1-2-" + "s3cr3t" * 4, "Bearer " + "h3ad3r" * 4
    (tmp_path / "shield.yaml").write_text(
        "storage: sqlite:///store.db\n"
        "notifiers:\n"
        f"  ops: {{type: slack, token: {token}, channel: '#ops'}}\n"
        "  hook:\n"
        "    type: webhook\n"
        "    url: https://hooks.example.com/in\n"
        "    secret: ${HOOK_SECRET:-}\n"
        f"    headers: {{Authorization: '{header}'}}\n"
    )
    done = _cli(tmp_path, "config", "check")
    assert done.returncode == 0, done.stderr  # a warning, not an error
    warnings = [line for line in done.stderr.splitlines() if "is written in the file" in line]
    assert warnings == [
        "warning: shield.yaml:3:29: notifiers.ops.token is written in the file; secrets belong "
        "in the environment (write ${VAR} and set VAR)",
        "warning: shield.yaml:8:30: notifiers.hook.headers.Authorization is written in the "
        "file; secrets belong in the environment (write ${VAR} and set VAR)",
    ], done.stderr
    assert token not in done.stdout + done.stderr and header not in done.stdout + done.stderr
    assert "hooks.example.com" not in done.stderr  # a plain url is no secret


def test_a_variable_of_a_check_without_environments_is_an_error(tmp_path: Path) -> None:
    # the trial's issue body said Target: `{base_url}/health.json`: the check had no environments
    (tmp_path / "shield.yaml").write_text(
        "storage: sqlite:///store.db\n"
        "environments:\n"
        "  production: {vars: {base_url: 'http://127.0.0.1:9'}}\n"
        "  staging: {vars: {base_url: 'http://127.0.0.1:9'}}\n"
        "checks:\n"
        "  - name: website\n"
        "    type: http\n"
        "    url: '{base_url}/health.json'\n"
        "  - name: api\n"
        "    type: http\n"
        "    url: 'http://127.0.0.1:9/{not_a_variable}'\n"
    )
    done = _cli(tmp_path, "config", "check")
    assert done.returncode == 2
    assert done.stderr.splitlines()[0] == (
        "shield.yaml:8:5: checks[0].url: {base_url} is defined only under environments "
        "(production, staging), but this check runs in none "
        "(add environments: [production, staging])"
    )
    assert "not_a_variable" not in done.stderr  # defined nowhere: literal text, as before


def test_monitor_once_wraps_details_between_words_at_80_columns(tmp_path: Path) -> None:
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            body = b'{"status": "DOWN"}'
            self.send_response(503)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/health"
        (tmp_path / "shield.yaml").write_text(
            "storage: sqlite:///store.db\n"
            "environments: {production: {}, staging: {}}\n"
            "checks:\n"
            f"  - name: nightly-backup-api\n    type: http\n    url: '{url}'\n"
            "    environments: [production, staging]\n"
            "    conditions: ['[STATUS] == 200', '[BODY].replication_state == streaming']\n"
        )
        done = _cli(tmp_path, "monitor", "once")
    finally:
        server.shutdown()
        server.server_close()
    assert done.returncode == 1, done.stderr
    lines = done.stdout.splitlines()
    assert all(len(line) <= 80 for line in lines), done.stdout
    # the placeholder is one word on one line, never folded as `[BODY].replication_sta` / `te`
    assert any("[BODY].replication_state" in line for line in lines), done.stdout
    assert "nightly-backup-api" in done.stdout and "…" not in done.stdout


def test_audit_names_a_variable_once(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEYX\n"
    )
    (tmp_path / ".env").chmod(0o600)
    done = _cli(tmp_path, "audit", ".", "--no-process-env", "--format", "json")
    messages = [f["message"] for f in json.loads(done.stdout)["findings"]]
    dotenv = [m for m in messages if m.startswith("AWS_SECRET_ACCESS_KEY holds")]
    assert dotenv, messages
    # "holds a high-entropy value in plain text", not "... value under AWS_SECRET_ACCESS_KEY ..."
    assert dotenv[0].startswith("AWS_SECRET_ACCESS_KEY holds a high-entropy value in plain text")
    assert all(m.count("AWS_SECRET_ACCESS_KEY") <= 1 for m in messages), messages


def test_chaos_toxic_talks_to_the_api_of_shield_yaml(tmp_path: Path) -> None:
    import signal
    import socket
    import time

    api_port = free_port()  # in shield.yaml before the proxy starts: what `chaos toxic` reads
    (tmp_path / "shield.yaml").write_text(
        "storage: sqlite:///store.db\n"
        "chaos:\n"
        f"  api: {{host: 127.0.0.1, port: {api_port}}}\n"
        "  proxies: [{name: db, listen: '127.0.0.1:0', upstream: '127.0.0.1:9'}]\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PRODSHIELD_", "GITHUB_"))}
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "prodshield"), "chaos", "proxy"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.time() + 30
        while time.time() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", api_port)) == 0:
                    break
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            time.sleep(0.1)
        # no --api: the port is the one in shield.yaml, as `chaos proxy` used it
        added = _cli(tmp_path, "chaos", "toxic", "add", "db", "-t", "latency", "-a", "latency=5")
        assert added.returncode == 0, added.stderr
        listed = _cli(tmp_path, "chaos", "proxy", "list", "--format", "json")
        (db,) = json.loads(listed.stdout)
        assert [t["name"] for t in db["toxics"]] == ["latency_downstream"]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=15)


def test_audit_report_summary_counts_in_english(tmp_path: Path) -> None:
    (tmp_path / "settings.py").write_text("DEBUG = True\n")
    one = _cli(tmp_path, "audit", ".", "--no-process-env", "--format", "sarif", "-o", "a.sarif")
    assert one.stderr.strip() == "audit FAILED: 1 finding (1 high) -> a.sarif", one.stderr
    (tmp_path / "settings.py").write_text("DEBUG = False\n")
    none = _cli(tmp_path, "audit", ".", "--no-process-env", "--format", "sarif", "-o", "a.sarif")
    assert none.stderr.strip() == "audit passed: 0 findings -> a.sarif", none.stderr


def test_notify_status_draws_the_clis_plain_table_in_80_columns(tmp_path: Path) -> None:
    """The outbox table looks like every other table of the CLI: a header row over a rule, no
    heavy box, and it fits 80 columns."""
    assert _cli(tmp_path, "init", ".").returncode == 0
    done = _cli(tmp_path, "notify", "status")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert all(len(line) <= 80 for line in lines), done.stdout
    assert not any(c in done.stdout for c in "┏┃│╇━"), done.stdout
    header = lines.index(next(line for line in lines if "notifier" in line))
    assert lines[header].split() == ["notifier", "pending", "sent", "dead"], done.stdout
    assert set(lines[header + 1].strip()) == {"─"}, done.stdout
    assert lines[header + 2].split() == ["github", "0", "0", "0"], done.stdout


def test_status_subscribers_is_a_table_with_a_header_row(tmp_path: Path) -> None:
    from prodshield.config import load_config
    from prodshield.notify import subscribers as subs
    from prodshield.store import open_store

    (tmp_path / "shield.yaml").write_text(
        "storage: sqlite:///store.db\n"
        "serve:\n"
        "  public_url: https://status.acme.test\n"
        "  subscriptions: {enabled: true, email: mail}\n"
        "notifiers:\n"
        "  mail: {type: email, host: 127.0.0.1, port: 2525, from: s@acme.test, to: [o@acme.test]}\n"
    )
    loaded = load_config(tmp_path / "shield.yaml", env={})
    store = open_store(loaded.config.storage, base_dir=loaded.base_dir)
    try:
        subs.subscribe(store, loaded.config, "email", "[red]ops@acme.test")
    finally:
        store.close()
    done = _cli(tmp_path, "status", "subscribers")
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    assert lines[0].split() == ["id", "kind", "status", "target"], done.stdout
    assert lines[2].split()[1:] == ["email", "pending", "[red]ops@acme.test"], done.stdout
    assert lines[-1] == "1 subscription" and all(len(line) <= 80 for line in lines)


def test_status_build_counts_in_english(tmp_path: Path) -> None:
    (tmp_path / "shield.yaml").write_text(
        "storage: sqlite:///store.db\n"
        "checks:\n"
        "  - {name: shop, type: tcp, host: 127.0.0.1, port: 9, timeout: 1s}\n"
    )
    done = _cli(tmp_path, "status", "build", "--out", "site")
    assert done.returncode == 0, done.stderr
    assert "1 service on 1 page" in done.stdout and "1 services" not in done.stdout, done.stdout


def test_python_dash_m_help_shows_the_examples_too(tmp_path: Path) -> None:
    """`python -m prodshield deploy verify --help` (no console script on the PATH) had none."""
    done = prodshield(tmp_path, "deploy", "verify", "--help", env=shell_env(COLUMNS="80"))
    assert done.returncode == 0 and "Examples:" in done.stdout, done.stdout
    assert "prodshield deploy verify --env production --wait" in done.stdout


def test_config_check_says_a_secrets_default_is_used_without_calling_it_a_placeholder(
    tmp_path: Path,
) -> None:
    """A secret's default written in the file (``${HOOK_SECRET:-dev-secret-1234}``) was
    warned about as "the template's placeholder a default written in the file"."""
    (tmp_path / "shield.yaml").write_text(
        'storage: "sqlite:///prodshield.db"\n'
        "notifiers:\n"
        "  hook:\n"
        "    type: webhook\n"
        '    url: "http://127.0.0.1:9/hook"\n'
        '    secret: "${HOOK_SECRET:-dev-secret-1234}"\n'
        "serve:\n"
        '  token: "${NC_TOKEN:-nc4-token-0123456789abcdef}"\n'
    )
    done = _cli(tmp_path, "config", "check")
    assert done.returncode == 0, done.stderr
    for key, variable, line in (
        ("notifiers.hook.secret", "HOOK_SECRET", 6),
        ("serve.token", "NC_TOKEN", 8),
    ):
        said = f"warning: shield.yaml:{line}:"
        warning = next(row for row in done.stderr.splitlines() if row.startswith(said))
        assert re.fullmatch(
            rf"warning: shield\.yaml:{line}:\d+: {re.escape(key)}: {variable} is not set, so the "
            r"default written in the file \(not shown: it is a secret\) is used; "
            rf"set {variable} in the environment",
            warning,
        ), warning
    assert "placeholder" not in done.stderr, done.stderr
    assert "dev-secret-1234" not in done.stderr + done.stdout
    assert "nc4-token" not in done.stderr + done.stdout
