"""Journey: ``serve`` follows an auth log where one address fails to log in 30 times. The first
failed logins, read in an earlier window, were stored as an ``auth_failure`` row; when the brute
force formed, ``logs scan`` and ``logs digest`` gave one ``brute_force`` finding (it absorbs the
address's failed logins), but serve's store and dashboard kept the stale ``auth_failure`` row
beside it. Now the brute force's row is the address's only finding there too."""

from __future__ import annotations

from pathlib import Path

from support.serve_process import TOKEN, serve, signed_in_page, wait_for

IP = "203.0.113.77"


def _failed(i: int) -> str:
    return (
        f"Dec  7 03:{i // 60:02d}:{i % 60:02d} web1 sshd[{4000 + i}]: "
        f"Failed password for root from {IP} port {40000 + i} ssh2\n"
    )


def test_serve_shows_one_brute_force_and_no_leftover_auth_failure(tmp_path: Path) -> None:
    log = tmp_path / "auth.log"
    log.write_text("".join(_failed(i) for i in range(5)))
    config = (
        "storage: sqlite:///{db}\n"
        f'serve: {{port: {{port}}, token: "{TOKEN}"}}\n'
        "logs:\n  window: 1s\n  sources:\n"
        f"    - {{name: ssh, path: {log}, format: syslog}}\n"
    )
    srv_dir = tmp_path / "srv"
    srv_dir.mkdir()
    auth = {"Authorization": f"Bearer {TOKEN}"}
    with serve(srv_dir, config, env={"TZ": "UTC"}) as srv:

        def rows() -> list[tuple[str, int]]:
            found = srv.get("/api/v1/findings", headers=auth).json()["logs"]
            return sorted((f["kind"], f["count"]) for f in found if f["source"].get("ip") == IP)

        wait_for("the first failed logins", lambda: rows() == [("auth_failure", 5)], timeout=90)
        with log.open("a") as fh:
            fh.write("".join(_failed(i) for i in range(5, 30)))
        wait_for("the brute force", lambda: ("brute_force", 30) in rows(), timeout=90)
        assert rows() == [("brute_force", 30)], rows()
        text = signed_in_page(srv, "/dashboard/logs")
        assert "brute_force" in text and "auth_failure" not in text, text[-2000:]
