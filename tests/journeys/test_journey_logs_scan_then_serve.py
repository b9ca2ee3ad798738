"""Journey: an operator runs ``logs scan`` on the configured sources (its findings are stored),
then starts ``serve``, which follows the same files from their start. The lines both counted are
counted once: the brute force's row says 40 failed logins in its count and its message alike (it
said count 80, message "40 failed logins", and /metrics 80), and a login failing later adds one."""

from __future__ import annotations

from pathlib import Path

from support.cli import prodshield, shell_env
from support.serve_process import TOKEN, serve, wait_for

LAYOUT = '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"'


def _line(second: int, ip: str, request: str, status: int, ua: str = "curl/8") -> str:
    return (
        f'{ip} - - [06/Dec/2026:13:{second // 60:02d}:{second % 60:02d} +0000] "{request} HTTP/1.1" '
        f'{status} 42 "-" "{ua}"\n'
    )


def test_scan_then_serve_counts_each_line_once(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    access = logs / "access.log"
    lines = [_line(i, f"10.0.0.{i % 7}", "GET /api/items", 200) for i in range(30)]
    lines += [_line(30 + i // 4, "198.51.100.23", "POST /login", 401) for i in range(40)]
    lines += [_line(50, "203.0.113.66", "GET /.env", 404, ua="sqlmap/1.7")]
    access.write_text("".join(lines))
    config = (
        "storage: sqlite:///{db}\n"
        f'serve: {{port: {{port}}, token: "{TOKEN}"}}\n'
        "logs:\n  window: 1s\n  sources:\n"
        f"    - {{name: web, path: {access}, log_format: '{LAYOUT}'}}\n"
    )
    srv_dir = tmp_path / "srv"
    srv_dir.mkdir()
    (srv_dir / "shield.yaml").write_text(
        config.replace("{port}", "0").replace("{db}", str(srv_dir / "store.db"))
    )
    scan = prodshield(srv_dir, "logs", "scan", "--format", "json", env=shell_env())
    assert scan.returncode == 0, scan.stderr

    with serve(srv_dir, config) as srv:
        auth = {"Authorization": f"Bearer {TOKEN}"}

        def brute() -> dict[str, object] | None:
            found = srv.get("/api/v1/findings", headers=auth).json()["logs"]
            return next((f for f in found if f["kind"] == "brute_force"), None)

        def serve_read_it_all() -> bool:
            # templates, findings and offsets are stored in one transaction per window: once
            # the templates count every line, the findings of those lines are stored too
            shown = srv.get("/api/v1/templates", headers=auth).json()["templates"]
            return sum(int(t["count"]) for t in shown) == len(lines)

        wait_for("serve to store what it read of the file", serve_read_it_all, timeout=90)
        row = brute()
        assert row is not None
        assert row["count"] == 40 and row["message"] == "40 failed logins from 198.51.100.23", row
        metrics = srv.get("/metrics").body.decode()
        assert 'prodshield_log_findings{kind="brute_force",severity="high"} 40.0' in metrics

        with access.open("a") as fh:
            fh.write(_line(59, "198.51.100.23", "POST /login", 401))
        wait_for("the next failed login", lambda: (brute() or {}).get("count") == 41)
