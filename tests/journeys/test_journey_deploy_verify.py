"""`prodshield deploy verify`: after `deploy mark`, did the deploy make things worse? A real
loopback target that breaks after the deploy, `monitor once` writing results, `logs scan` a new
critical line and `audit` a planted key; the verdict's exit code, table, JSON and Markdown, and a
deploy that broke nothing passing."""

from __future__ import annotations

import json
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path

from support.cli import prodshield, wide_env
from support.net import http_server

BROKEN = {"on": False}


class _Target(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(500 if BROKEN["on"] else 200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")


def _config(tmp_path: Path, port: int) -> None:
    (tmp_path / "shield.yaml").write_text(
        "storage: sqlite:///store.db\n"
        "environments: {production: {}, staging: {}}\n"
        "checks:\n"
        f"  - {{name: api, type: http, url: 'http://127.0.0.1:{port}/health',"
        " environments: [production], service: shop}\n"
        f"  - {{name: other, type: http, url: 'http://127.0.0.1:{port}/x',"
        " environments: [staging], service: blog}\n"
        "logs:\n  sources: [{name: app, path: app.log, format: python, service: shop}]\n"
    )
    (tmp_path / "app.log").write_text("")


def _run(tmp_path: Path, *args: str) -> tuple[int, str, str]:
    out = prodshield(tmp_path, *args, env=wide_env())
    return out.returncode, out.stdout, out.stderr


def _now() -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())


def test_a_deploy_that_broke_the_service_fails_verification(tmp_path: Path) -> None:
    BROKEN["on"] = False
    with http_server(_Target) as port:
        _config(tmp_path, port)
        for _ in range(3):
            assert _run(tmp_path, "monitor", "once")[0] == 0
        code, out, err = _run(
            tmp_path,
            "deploy",
            "mark",
            "--version",
            "v2.4.1",
            "--service",
            "shop",
            "--env",
            "production",
        )
        assert code == 0, err
        time.sleep(1.1)  # the results below are after the marker
        BROKEN["on"] = True
        for _ in range(4):
            _run(tmp_path, "monitor", "once")
        with (tmp_path / "app.log").open("a") as fh:
            fh.write(f"{_now()},000 CRITICAL shop: java.lang.OutOfMemoryError: Java heap space\n")
        _run(tmp_path, "logs", "scan")

        code, out, err = _run(tmp_path, "deploy", "verify", "--format", "json")
        assert code == 1, (out, err)
        verdict = json.loads(out)
        assert verdict["verdict"] == "fail" and verdict["deploy"]["version"] == "v2.4.1"
        assert verdict["complete"] is False and verdict["checks"] == 1  # staging's blog is not shop
        found = {(s["area"], s["verdict"], s["subject"]) for s in verdict["signals"]}
        assert ("monitor", "fail", "api [production]") in found, found
        assert any(a == "incidents" and v == "fail" for a, v, _ in found), found
        assert ("logs", "fail", "out_of_memory") in found, found
        rate = next(s for s in verdict["signals"] if "results failed" in s["message"])
        assert rate["message"].startswith("4 of 4 results failed after the deploy"), rate
        assert "0 of 3 before" in rate["message"], rate
        assert not any(s["subject"].startswith("other") for s in verdict["signals"])

        # the table a person reads, and the Markdown a pull request or step summary shows; the
        # broken check counts once (down, its failure rate and its open incident are one check
        # failing), as `monitor status` shows one check down and `monitor report` 4 failures
        code, out, _ = _run(tmp_path, "deploy", "verify")
        assert code == 1
        assert out.startswith("deploy #1 v2.4.1 (shop in production) at ")
        assert (
            ": FAIL: 1 of 1 check failed (4 of 4 results failed), 1 new log finding (high or "
            "critical); 0 warnings; " in out
        ), out
        status = json.loads(_run(tmp_path, "monitor", "status", "--format", "json")[1])
        down = [c["check"] for c in status["checks"] if c["state"] == "down"]
        assert sorted(down) == ["api", "other"]  # staging's blog: not this deploy's scope
        report = json.loads(
            _run(tmp_path, "monitor", "report", "--env", "production", "--format", "json")[1]
        )
        assert [(c["check"], c["failures"]) for c in report["checks"]] == [("api", 4)], report
        code, out, _ = _run(tmp_path, "deploy", "verify", "--format", "markdown")
        assert code == 1
        assert out.startswith("### Deploy verification: FAIL\n")
        assert "| fail | monitor | `api [production]` | `down since the deploy` |" in out

        # the fix goes out: a second deploy that breaks nothing (the service recovers after it)
        # passes (exit 0)
        assert _run(tmp_path, "deploy", "mark", "--version", "v2.4.2", "--service", "shop")[0] == 0
        time.sleep(1.1)
        BROKEN["on"] = False
        for _ in range(3):
            _run(tmp_path, "monitor", "once")
        code, out, err = _run(tmp_path, "deploy", "verify", "--format", "json")
        assert code == 0, (out, err)
        verdict = json.loads(out)
        assert verdict["verdict"] == "pass" and verdict["deploy"]["version"] == "v2.4.2"
        assert not [s for s in verdict["signals"] if s["verdict"] in ("fail", "warn")], verdict
        # the first deploy's verdict stays what it was, its window ending at the second deploy
        code, out, _ = _run(tmp_path, "deploy", "verify", "--deploy", "1")
        assert code == 1 and "(cut short by deploy #2 at " in out, out
        # its incident, resolved after the second deploy, was open when its window ended
        code, out, _ = _run(tmp_path, "deploy", "verify", "--deploy", "1", "--format", "json")
        incident = next(s for s in json.loads(out)["signals"] if s["area"] == "incidents")
        assert incident["verdict"] == "fail" and incident["check"] == "api [production]"
        assert incident["message"].startswith("open when the window ended (resolved after it)")


def test_a_failed_audit_after_the_deploy_fails_it(
    tmp_path: Path,
) -> None:
    BROKEN["on"] = False
    with http_server(_Target) as port:
        _config(tmp_path, port)
        assert _run(tmp_path, "deploy", "mark", "--version", "v3")[0] == 0
        time.sleep(1.1)
        tree = tmp_path / "release"
        tree.mkdir()
        (tree / "settings.py").write_text('AWS_ACCESS_KEY_ID = "AKIAQYLPMN5HHHFPZAM2"\n')
        assert _run(tmp_path, "audit", str(tree))[0] == 1
        code, out, err = _run(tmp_path, "deploy", "verify", "--format", "json")
        assert code == 1, (out, err)
        signals = json.loads(out)["signals"]
        assert signals[0]["area"] == "audit" and signals[0]["verdict"] == "fail", signals
        # no check ran after the deploy: said, not taken for a pass
        assert any("no check result after the deploy" in s["message"] for s in signals)


def test_verify_says_what_is_missing_in_one_line(tmp_path: Path) -> None:
    with http_server(_Target) as port:
        _config(tmp_path, port)
        code, _, err = _run(tmp_path, "deploy", "verify")
        assert code == 2 and "no deploy marker to verify" in err and "Traceback" not in err
        code, out, _ = _run(tmp_path, "deploy", "mark", "--version", "v1")
        assert code == 0 and "prodshield deploy verify --deploy 1 --wait" in out, out
        # nothing ran since: a pass on no evidence says so, and that the window is still open
        code, out, _ = _run(tmp_path, "deploy", "verify")
        assert code == 0
        assert ": PASS: nothing failed (no check result after the deploy to judge); " in out, out
        assert out.rstrip().endswith("the verdict may still change (--wait waits for its end)")
        code, _, err = _run(tmp_path, "deploy", "verify", "--window", "5s")
        assert code == 2 and "--window '5s': give 1m to 6h" in err, err
        code, _, err = _run(tmp_path, "deploy", "verify", "--deploy", "99")
        assert code == 2 and "no deploy marker #99" in err, err
        # a marker recorded ahead of time has no window yet (it said '-593 s after the deploy')
        later = str(time.time() + 600)
        assert _run(tmp_path, "deploy", "mark", "--version", "v2", "--at", later)[0] == 0
        code, _, err = _run(tmp_path, "deploy", "verify", "--deploy", "2")
        assert code == 2 and "deploy #2 is 9m" in err and "in the future: nothing to verify" in err


def test_log_times_without_a_zone_are_the_machines_local_time(tmp_path: Path) -> None:
    """On a machine an hour ahead of UTC (TZ=WAT-1), the app writes its local time with no zone
    (Python's asctime, as nginx's error log and syslog do): a critical line from before the
    deploy is not blamed on it, and one from after it is (read as UTC, both were the other way)."""
    BROKEN["on"] = False
    env = wide_env(TZ="WAT-1")  # POSIX form: UTC+1 without needing the tz database

    def local(epoch: float) -> str:  # the wall clock at UTC+1
        return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(epoch + 3600))

    with http_server(_Target) as port:
        _config(tmp_path, port)
        now = time.time()
        deployed = now - 600
        with (tmp_path / "app.log").open("a") as fh:
            fh.write(f"{local(deployed - 3300)},000 CRITICAL shop: java.lang.OutOfMemoryError\n")
            fh.write(
                f"{local(now - 60)},000 ERROR shop: could not connect to server: Connection "
                'refused. Is the server running on host "db" and accepting TCP/IP connections?\n'
            )
        mark = ("deploy", "mark", "--version", "v7", "--service", "shop", "--at", str(deployed))
        assert prodshield(tmp_path, *mark, env=env).returncode == 0
        assert prodshield(tmp_path, "monitor", "once", env=env).returncode == 0
        assert prodshield(tmp_path, "logs", "scan", env=env).returncode in (0, 1)
        out = prodshield(
            tmp_path, "deploy", "verify", "--window", "30m", "--format", "json", env=env
        )
        verdict = json.loads(out.stdout)
        logs = {s["subject"]: s["verdict"] for s in verdict["signals"] if s["area"] == "logs"}
        assert "out_of_memory" not in logs, logs  # 65 min before the deploy, not 5 min after
        assert logs.get("db_connection_failure") == "fail", logs  # 1 min ago, not in an hour
        assert verdict["verdict"] == "fail" and out.returncode == 1


def test_a_later_deploy_ends_the_window_and_the_next_compares_with_the_one_it_replaced(
    tmp_path: Path,
) -> None:
    """v1 fixes a broken service, v2 goes out inside v1's window and breaks it again: v1 is not
    blamed for what followed v2 (its window ends there, and says so), and v2 is compared with
    v1's healthy results, not with the outage before v1 (where 4 of 4 failing would be no worse
    than the hour before)."""
    BROKEN["on"] = True
    with http_server(_Target) as port:
        _config(tmp_path, port)
        for _ in range(4):
            _run(tmp_path, "monitor", "once")
        scope = ("--service", "shop", "--env", "production")
        assert _run(tmp_path, "deploy", "mark", "--version", "v1", *scope)[0] == 0
        time.sleep(1.1)
        BROKEN["on"] = False
        for _ in range(3):
            assert _run(tmp_path, "monitor", "once")[0] == 0
        assert _run(tmp_path, "deploy", "mark", "--version", "v2", *scope)[0] == 0
        time.sleep(1.1)
        BROKEN["on"] = True
        for _ in range(4):
            _run(tmp_path, "monitor", "once")

        code, out, err = _run(tmp_path, "deploy", "verify", "--deploy", "1", "--format", "json")
        first = json.loads(out)
        assert code == 0 and first["verdict"] == "pass", (out, err)
        assert first["next_deploy"]["version"] == "v2" and first["complete"] is True
        assert first["after"]["until"] == first["next_deploy"]["deployed_at"]
        code, out, _ = _run(tmp_path, "deploy", "verify", "--deploy", "1")
        assert code == 0 and "(cut short by deploy #2 at " in out, out

        code, out, _ = _run(tmp_path, "deploy", "verify", "--format", "json")
        second = json.loads(out)
        assert code == 1 and second["deploy"]["version"] == "v2", out
        assert second["previous_deploy"]["version"] == "v1"
        assert second["before"]["from"] == second["previous_deploy"]["deployed_at"]
        rate = next(s for s in second["signals"] if "results failed" in s["message"])
        assert rate["verdict"] == "fail" and rate["message"].startswith("4 of 4 results"), rate
        assert rate["message"].endswith("0 of 3 before (0.0%)"), rate
        code, out, _ = _run(tmp_path, "deploy", "verify")
        assert "before (since deploy #1); " in out, out
