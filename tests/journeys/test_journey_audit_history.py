"""Journey: `prodshield audit history` after a few audits of a tree that gains, then loses, a
leaked key (CLI as a subprocess, the store the audits wrote); `audit PATH` keeps working,
also for a folder named `history`; a TLS audit that reached no endpoint is stored without a
verdict (history, the dashboard and the API say "nothing checked", never "passed")."""

from __future__ import annotations

import json
import ssl
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from starlette.testclient import TestClient

from prodshield.config import load_config
from prodshield.store import open_store
from prodshield.web import create_app
from support.certs import self_signed
from support.cli import prodshield, shell_env
from support.net import hold_again, refused_port, take_held
from support.web_seed import TOKEN, login

AWS_KEY = "AKIA" + "QYLPMN5HHHFPZAM2"


def _cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return prodshield(cwd, *args, env=shell_env(drop=("PRODSHIELD_CONFIG",), COLUMNS="80"))


def test_history_shows_runs_and_what_is_new_or_fixed(tmp_path: Path) -> None:
    (tmp_path / "shield.yaml").write_text("audit:\n  paths: [app]\n")
    app = tmp_path / "app"
    app.mkdir()
    (app / "main.py").write_text("print('hello')\n")

    empty = _cli(tmp_path, "audit", "history")
    assert empty.returncode == 0 and "no audit runs stored yet" in empty.stdout

    assert _cli(tmp_path, "audit", "--no-process-env").returncode == 0  # run 1: clean
    (app / "deploy.env").write_text(f"AWS_ACCESS_KEY_ID={AWS_KEY}\n")
    (app / "deploy.env").chmod(0o600)
    assert _cli(tmp_path, "audit", "--no-process-env").returncode == 1  # run 2: a leak
    (app / "deploy.env").unlink()
    (app / "settings.py").write_text("DEBUG = True\n")
    third = _cli(tmp_path, "audit", "--no-process-env", "--fail-on", "critical")  # run 3
    assert third.returncode == 0, third.stdout + third.stderr

    done = _cli(tmp_path, "audit", "history", "--format", "json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    runs = data["runs"]
    assert [r["id"] for r in runs] == [3, 2, 1]
    assert [r["passed"] for r in runs] == [True, False, True]
    assert [r["fail_on"] for r in runs] == ["critical", "high", "high"]
    assert runs[2]["total"] == 0 and runs[2]["new"] is None and runs[2]["fixed"] is None
    assert runs[1]["new"] == runs[1]["total"] > 0 and runs[1]["fixed"] == 0
    assert runs[1]["by_severity"]["critical"] >= 1
    assert runs[0]["new"] == 1 and runs[0]["fixed"] == runs[1]["total"]
    latest = data["latest"]
    assert latest["id"] == 3 and latest["previous"] == 2
    assert [f["rule"] for f in latest["new"]] == ["config.django-debug"]
    assert {f["path"] for f in latest["fixed"]} == {"deploy.env"}
    assert AWS_KEY not in done.stdout

    table = _cli(tmp_path, "audit", "history")
    assert table.returncode == 0
    lines = table.stdout.splitlines()
    assert all(len(line) <= 80 for line in lines), table.stdout
    header = next(line for line in lines if "when (UTC)" in line)
    for col in ("run", "gate", "result", "crit", "high", "med", "low", "new", "fixed"):
        assert col in header.split(), header
    assert "run 3 against run 2: 1 new" in table.stdout
    assert "config.django-debug" in table.stdout and "deploy.env" in table.stdout

    limited = json.loads(_cli(tmp_path, "audit", "history", "-n", "1", "-f", "json").stdout)
    assert [r["id"] for r in limited["runs"]] == [3] and limited["runs"][0]["previous"] == 2


def test_audit_paths_still_work_next_to_the_subcommand(tmp_path: Path) -> None:
    folder = tmp_path / "history"
    folder.mkdir()
    (folder / "settings.py").write_text("DEBUG = True\n")
    done = _cli(
        tmp_path, "audit", "./history", "--no-process-env", "-f", "json", "--fail-on", "critical"
    )
    assert done.returncode == 0, done.stderr
    assert [f["rule"] for f in json.loads(done.stdout)["findings"]] == ["config.django-debug"]
    plain = _cli(folder, "audit", ".", "--no-process-env", "--format", "json")
    assert [f["rule"] for f in json.loads(plain.stdout)["findings"]] == ["config.django-debug"]


def test_history_without_a_config_says_how_to_get_one(tmp_path: Path) -> None:
    done = _cli(tmp_path, "audit", "history")
    assert done.returncode == 2
    assert "no config" in done.stderr and "Traceback" not in done.stderr


@contextmanager
def _tls_server(folder: Path, port: int) -> Iterator[None]:
    """A self-signed TLS endpoint on ``port`` (a ``refused_port()``) that completes handshakes
    and closes; the port is held again (refusing) after the block."""
    cert, key = self_signed(folder)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    listener = take_held(port)
    assert listener is not None, f"{port} is not a refused_port()"
    listener.listen(16)

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            try:
                with context.wrap_socket(conn, server_side=True):
                    pass
            except (OSError, ssl.SSLError):
                conn.close()

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield
    finally:
        hold_again(listener)  # wakes accept() and stops listening


def test_a_tls_run_that_reached_nothing_is_stored_without_a_verdict(tmp_path: Path) -> None:
    """`audit tls` while the endpoint is down exits 3 ("nothing checked"); the run it stores is
    neither passed nor a clean slate: history says "nothing checked", counts nothing new or
    fixed for it, and the next run is compared with the last run that did check; the
    dashboard's Audit tab says so too."""
    (tmp_path / "shield.yaml").write_text("storage: sqlite:///store.db\n")
    port = refused_port()  # down between the runs that reach it, and never anyone else's
    target = f"127.0.0.1:{port}"
    with _tls_server(tmp_path, port):
        first = _cli(tmp_path, "audit", "tls", target)  # run 1: graded, the gate fails
    assert first.returncode == 1, first.stdout + first.stderr
    assert "tls.self-signed" in first.stdout
    down = _cli(tmp_path, "audit", "tls", target)  # run 2: nothing listens
    assert down.returncode == 3, down.stdout + down.stderr
    with _tls_server(tmp_path, port):
        again = _cli(tmp_path, "audit", "tls", target)  # run 3: the same findings
    assert again.returncode == 1, again.stdout + again.stderr

    data = json.loads(_cli(tmp_path, "audit", "history", "-f", "json").stdout)
    runs = {r["id"]: r for r in data["runs"]}
    assert runs[2]["passed"] is None and runs[2]["nothing_checked"] is True, runs[2]
    assert runs[2]["new"] is None and runs[2]["fixed"] is None, runs[2]
    assert runs[3]["passed"] is False and runs[3]["nothing_checked"] is False
    assert runs[3]["previous"] == 1 and runs[3]["new"] == 0 and runs[3]["fixed"] == 0, runs[3]
    assert data["latest"]["previous"] == 1 and data["latest"]["fixed"] == []

    table = _cli(tmp_path, "audit", "history").stdout
    row = next(line for line in table.splitlines() if line.split()[:1] == ["2"])
    assert "nothing checked" in row and "passed" not in row and "FAILED" not in row, table
    assert "run 3 against run 1: nothing new, nothing fixed" in table

    down = _cli(tmp_path, "audit", "tls", target)  # run 4: the newest checked nothing
    assert down.returncode == 3
    table = _cli(tmp_path, "audit", "history").stdout
    assert "run 4 checked nothing (no endpoint could be reached)" in table, table

    loaded = load_config(tmp_path / "shield.yaml", env={})
    store = open_store(loaded.config.storage, base_dir=loaded.base_dir)
    try:
        with TestClient(create_app(loaded, store, token=TOKEN), base_url="http://127.0.0.1") as c:
            login(c)
            page = c.get("/dashboard/audit").text
            api = c.get(
                "/api/v1/findings?source=audit", headers={"Authorization": f"Bearer {TOKEN}"}
            )
    finally:
        store.close()
    assert "Nothing checked" in page and "Gate passed" not in page, page
    audit_run = api.json()["audit"]["run"]
    assert audit_run["id"] == 4 and audit_run["passed"] is None, audit_run
