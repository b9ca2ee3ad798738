"""Journey: an on-call engineer on a laptop (or a workflow step that only builds the status page)
reads incidents without the secrets of the notifiers and checks.

shield.yaml pages through PagerDuty with ``routing_key: ${PAGERDUTY_ROUTING_KEY}`` and has an http
check sending ``Bearer ${API_TOKEN}``. With both exported, `monitor once --no-notify` opens an
incident. With neither exported, `incident list`, `incident show 1`, `monitor status`,
`status build` and `config show` work (they send nothing and probe nothing), while `monitor once`
and `notify test` still stop with exit 2 and the file:line error naming the variable, and
`config check` still reports it. No secret value is ever printed.
"""

from __future__ import annotations

import socket
from pathlib import Path

from support.cli import prodshield, wide_env

PD_KEY = "R0ut1ngKeyN0tT0B3Pr1nt3d0000000a"
API_TOKEN = "ap1-t0ken-n0t-t0-be-pr1nted-0000"
UNSET = (
    "shield.yaml:11:18: notifiers.pd.routing_key: environment variable PAGERDUTY_ROUTING_KEY is "
    "not set (used here as ${PAGERDUTY_ROUTING_KEY}; set it or write "
    "${PAGERDUTY_ROUTING_KEY:-default})"
)


def _config(port: int) -> str:
    return (
        "storage: sqlite:///store.db\n"
        "checks:\n"
        f"  - {{name: orders, type: tcp, host: 127.0.0.1, port: {port}, failure_threshold: 1}}\n"
        "  - name: api\n"
        "    type: http\n"
        f"    url: http://127.0.0.1:{port}/health\n"
        '    headers: {Authorization: "Bearer ${API_TOKEN}"}\n'
        "notifiers:\n"
        "  pd:\n"
        "    type: pagerduty\n"
        '    routing_key: "${PAGERDUTY_ROUTING_KEY}"\n'
        f"    url: http://127.0.0.1:{port}/v2/enqueue\n"
    )


def test_read_only_commands_need_no_secret_and_monitor_once_still_does(tmp_path: Path) -> None:
    target = socket.socket()
    target.bind(("127.0.0.1", 0))  # bound, not listening: connections are refused
    port = target.getsockname()[1]
    (tmp_path / "shield.yaml").write_text(_config(port))
    with_secrets = wide_env(PAGERDUTY_ROUTING_KEY=PD_KEY, API_TOKEN=API_TOKEN)
    without = {
        k: v for k, v in wide_env().items() if k not in ("PAGERDUTY_ROUTING_KEY", "API_TOKEN")
    }
    outputs: list[str] = []
    try:
        opened = prodshield(tmp_path, "monitor", "once", "--no-notify", env=with_secrets)
        outputs += [opened.stdout, opened.stderr]
        assert opened.returncode == 1, opened.stderr
        assert "incident #1 opened: orders down" in opened.stdout

        for args in (
            ("incident", "list"),
            ("incident", "show", "1"),
            ("monitor", "status"),
            ("status", "build", "--out", "site"),
            ("config", "show"),
        ):
            done = prodshield(tmp_path, *args, env=without)
            outputs += [done.stdout, done.stderr]
            assert done.returncode == 0, (args, done.stderr)
            assert "Traceback" not in done.stderr and "PAGERDUTY_ROUTING_KEY" not in done.stderr
        listed = prodshield(tmp_path, "incident", "list", env=without).stdout
        assert "#1" in listed and "orders" in listed
        shown = prodshield(tmp_path, "incident", "show", "1", env=without).stdout
        assert shown.startswith("incident #1: orders down")
        assert (tmp_path / "site" / "index.html").is_file()

        for args in (("monitor", "once"), ("notify", "test", "pd"), ("config", "check")):
            done = prodshield(tmp_path, *args, env=without)
            outputs += [done.stdout, done.stderr]
            assert done.returncode == 2, (args, done.stdout, done.stderr)
            assert UNSET in done.stderr.splitlines(), done.stderr
            assert "environment variable API_TOKEN is not set" in done.stderr
    finally:
        target.close()
    assert not any(PD_KEY in text or API_TOKEN in text for text in outputs)
