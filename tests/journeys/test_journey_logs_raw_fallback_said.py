"""Journey: a file no format recognises is read as ``raw``, and the user is told so, once.

Before, ``logs scan`` on such a file said ``no findings (N lines scanned)`` and nothing else:
with no time and no level read, ``--since`` and ``error_logged`` silently did nothing. Now
``logs scan``, ``logs digest``, ``logs parse`` and ``logs templates`` (which said nothing) each
say it in one stderr line per file; a
file in a known format, or one read with ``--log-format``, gets no such line.
"""

from __future__ import annotations

from pathlib import Path

from support.cli import prodshield, shell_env
from support.serve_process import TOKEN, serve, wait_for

NOTE = "no known layout: read as raw, no time or level; set format: in shield.yaml or --log-format"
UNKNOWN = "".join(f"@@ frame {i} ## widget spun {i} times ~~ ok\n" for i in range(60))
SYSLOG = "".join(
    f"Dec  4 10:00:{i:02d} web1 sshd[42]: Accepted publickey for deploy from 10.0.0.{i}\n"
    for i in range(30)
)


def test_scan_digest_and_parse_say_a_file_was_read_as_raw(tmp_path: Path) -> None:
    (tmp_path / "odd.log").write_text(UNKNOWN)
    (tmp_path / "auth.log").write_text(SYSLOG)
    env = shell_env(drop=("PRODSHIELD_",), TZ="UTC")
    runs = [
        ("logs", "scan", "odd.log", "auth.log", "--no-store"),
        ("logs", "digest", "odd.log", "auth.log", "--no-store", "--since", "3650d"),
        ("logs", "parse", "odd.log", "auth.log"),
        ("logs", "templates", "odd.log", "auth.log"),
    ]
    for argv in runs:
        out = prodshield(tmp_path, *argv, env=env)
        assert out.returncode == 0, (argv, out.stderr)
        said = [line for line in out.stderr.splitlines() if NOTE in line]
        assert said == [f"odd.log: {NOTE}"], (argv, out.stderr)

    forced = prodshield(
        tmp_path, "logs", "scan", "odd.log", "--log-format", "raw", "--no-store", env=env
    )
    assert forced.returncode == 0 and NOTE not in forced.stderr, forced.stderr


def test_serve_says_a_followed_source_is_read_as_raw(tmp_path: Path) -> None:
    """``serve`` said it once in its log only: ``/readyz`` now lists it as a note (the service is
    ready, not degraded), and a source in a known format gets no note."""
    (tmp_path / "odd.log").write_text(UNKNOWN)
    (tmp_path / "auth.log").write_text(SYSLOG)
    config = (
        "storage: sqlite:///{db}\n"
        f'serve: {{port: {{port}}, token: "{TOKEN}"}}\n'
        "logs:\n  window: 1s\n  sources:\n"
        f"    - {{name: odd, path: {tmp_path / 'odd.log'}}}\n"
        f"    - {{name: auth, path: {tmp_path / 'auth.log'}}}\n"
    )
    odd = str(tmp_path / "odd.log")
    with serve(tmp_path / "srv", config, env={"TZ": "UTC"}) as srv:

        def noted() -> bool:
            return bool(srv.get("/readyz").json().get("notes"))

        wait_for("the note on /readyz", noted, timeout=90)
        ready = srv.get("/readyz").json()
        assert ready["status"] == "ready", ready
        assert ready["notes"] == {f"logs:{odd}": NOTE.removesuffix(" or --log-format")}, ready
        said = [line for line in srv.output().splitlines() if "read as raw" in line]
        assert len(said) == 1 and odd in said[0], said
