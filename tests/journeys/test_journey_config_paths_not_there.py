"""Journey: paths and addresses shield.yaml names that cannot work are said by `config check`
with file:line, and `serve` says what is wrong in the user's words: an audit folder that does
not exist (/readyz degraded, no internal names in its log), a log file that never existed
("not found", not "deleted while followed"), a chaos proxy `listen` without a port."""

from __future__ import annotations

from pathlib import Path

from support.cli import prodshield
from support.serve_process import TOKEN, serve, wait_for

CONFIG = (
    """\
storage: "sqlite:///{db}"
serve: {port: {port}, token: "@TOKEN@"}
audit:
  paths: ["../tree-nope"]
  schedule: "0 3 * * *"
logs:
  sources:
    - name: app
      path: app.log
      follow: true
"""
).replace("@TOKEN@", TOKEN)


def test_config_check_names_what_is_not_there(tmp_path: Path) -> None:
    text = CONFIG.replace("{port}", "0").replace("{db}", str(tmp_path / "s.db"))
    proxy = (
        'chaos:\n  proxies:\n    - {name: pg, listen: "127.0.0.1", upstream: "127.0.0.1:5432"}\n'
    )
    (tmp_path / "shield.yaml").write_text(text + proxy)
    bad = prodshield(tmp_path, "config", "check")
    assert bad.returncode == 2, bad.stdout + bad.stderr
    assert bad.stderr.splitlines()[0] == (
        "shield.yaml:13:18: chaos.proxies[0].listen: '127.0.0.1' has no port: write host:port, "
        "e.g. 127.0.0.1:25432"
    ), bad.stderr

    (tmp_path / "shield.yaml").write_text(text)
    done = prodshield(tmp_path, "config", "check")
    assert done.returncode == 0, done.stderr
    warnings = [line for line in done.stderr.splitlines() if line.startswith("warning: ")]
    assert warnings == [
        "warning: shield.yaml:4:11: audit.paths[0]: ../tree-nope: no such file or folder "
        "(the audit cannot run until it exists)",
        "warning: shield.yaml:9:7: logs.sources[0].path: app.log: no such file yet "
        "(logs scan reads nothing from it; serve waits for it to appear)",
    ], done.stderr


def test_serve_says_what_is_not_there_in_user_words(tmp_path: Path) -> None:
    with serve(tmp_path / "srv", CONFIG) as srv:
        log = tmp_path / "srv" / "app.log"

        def problems() -> dict[str, str]:
            answer = srv.get("/readyz").json()
            return dict(answer.get("problems", {}))

        wait_for("the audit and the log to be said", lambda: len(problems()) >= 2, timeout=60)
        found = problems()
        assert found["audit"].startswith("the scheduled audit could not run: "), found
        assert "tree-nope" in found["audit"], found
        assert found[f"logs:{log}"] == "not found (waiting for it to appear)", found
        out = srv.output()
        assert "the scheduled audit failed: " in out, out
        assert "AuditService" not in out and "_once" not in out and "NotFound" not in out, out

        log.write_text("2026-12-07 01:00:00,000 INFO shop: started\n")
        wait_for("the log to be found", lambda: f"logs:{log}" not in problems(), timeout=30)
        log.unlink()
        wait_for("the log to be missed", lambda: f"logs:{log}" in problems(), timeout=30)
        assert problems()[f"logs:{log}"] == "deleted while followed (waiting for it to come back)"
