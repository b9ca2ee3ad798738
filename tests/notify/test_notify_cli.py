"""``prodshield notify test NAME`` end to end: a real process, the GitHub stand-in, the store."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

from prodshield.notify import outbox
from prodshield.store import open_store
from support.standins.github import GitHubStandin

REPO = "acme/platform"
TOKEN = "ghp_" + "Z9y8X7w6V5u4T3s2R1q0" * 2


def write_config(path: Path, store_url: str, api_url: str) -> Path:
    path.write_text(
        f'storage: "{store_url}"\n'
        "notifiers:\n"
        "  gh:\n"
        "    type: github\n"
        f"    repo: {REPO}\n"
        '    token: "${GITHUB_TOKEN}"\n'
        f'    api_url: "{api_url}"\n'
        "    labels: [incident]\n"
        "    max_attempts: 2\n"
        "    backoff: 100ms\n"
    )
    return path


async def prodshield(*args: str, token: str = TOKEN) -> tuple[int, str, str]:
    env = {**os.environ, "GITHUB_TOKEN": token, "NO_COLOR": "1"}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "prodshield",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_notify_test_opens_and_closes_an_issue(store_url: str, tmp_path: Path) -> None:
    async with GitHubStandin(tokens=(TOKEN,)) as gh:
        gh.repo(REPO)
        config = write_config(tmp_path / "shield.yaml", store_url, gh.url)
        code, out, err = await prodshield("notify", "test", "gh", "-c", str(config))
        assert code == 0, out + err
        assert "sent to gh (attempt 1)" in out
        [issue] = gh.issues(REPO)
        assert issue["title"] == "prodshield test notification"
        assert issue["state"] == "closed"
        assert {lb["name"] for lb in issue["labels"]} == {"prodshield", "incident"}
        assert "prodshield notify test gh" in issue["body"]
        assert "<!-- prodshield:subject=test:" in issue["body"]
    store = open_store(store_url)
    try:
        st = outbox.status(store)
    finally:
        store.close()
    assert st.counts == {"gh": {"pending": 0, "sent": 1, "dead": 0}}


async def test_notify_test_failures_exit_1_or_2_without_leaking_the_token(
    tmp_path: Path,
) -> None:
    store_url = f"sqlite:///{tmp_path / 'store.db'}"
    async with GitHubStandin(tokens=(TOKEN,)) as gh:
        gh.repo(REPO)
        config = write_config(tmp_path / "shield.yaml", store_url, gh.url)
        bad = "ghp_" + "B" * 36
        code, out, err = await prodshield("notify", "test", "gh", "-c", str(config), token=bad)
        assert code == 1
        assert "401 Bad credentials: the token is invalid or expired" in out
        assert bad not in out + err
        assert gh.issues(REPO) == []

        # Always failing with 502: the retry budget (2) runs out inside --wait.
        gh.fail("GET", r"/issues$", 502, times=5)
        code, out, err = await prodshield("notify", "test", "gh", "-c", str(config), "--wait", "10")
        assert code == 1 and "gave up after 2 attempts" in out, out + err

        code, out, err = await prodshield("notify", "test", "nobody", "-c", str(config))
        assert code == 2 and "no notifier 'nobody'" in err and "configured: gh" in err
        assert "Traceback" not in err

        # Failed tests were reported above: nothing is left to retry later, and nothing counts
        # as an undelivered (dead) event in `notify status` (nor in /metrics: the same rows).
        code, out, err = await prodshield("notify", "status", "-c", str(config), "-f", "json")
        assert code == 0, out + err
        status = json.loads(out)
        assert status["totals"] == {"pending": 0, "sent": 0, "dead": 0}, status
        assert status["dead"] == []
    store = open_store(store_url)
    try:
        assert outbox.status(store).counts == {}
    finally:
        store.close()


async def test_a_providers_answer_is_printed_as_text(store_url: str, tmp_path: Path) -> None:
    """A Slack error code that reads like console markup ('[/x]') was an internal error."""
    from aiohttp import web

    async def post(request: web.Request) -> web.Response:
        return web.json_response({"ok": False, "error": "[/x] [bold]"})

    app = web.Application()
    app.router.add_post("/api/chat.postMessage", post)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    port = runner.addresses[0][1]
    try:
        (tmp_path / "shield.yaml").write_text(
            f'storage: "{store_url}"\n'
            "notifiers:\n"
            "  ops: {type: slack, token: xoxb-1-2-abc, channel: '#ops', "
            f"api_url: 'http://127.0.0.1:{port}/api', max_attempts: 1}}\n"
        )
        code, out, err = await prodshield(
            "notify", "test", "ops", "-c", str(tmp_path / "shield.yaml")
        )
    finally:
        await runner.cleanup()
    assert code == 1, out + err
    assert "not sent to ops: Slack chat.postMessage: [/x] [bold]" in out
    assert "internal error" not in err


async def test_a_delivered_test_prints_a_one_line_summary(store_url: str, tmp_path: Path) -> None:
    """Success printed the provider's answer as a Python dict ({'channel': ...})."""
    from aiohttp import web

    async def post(request: web.Request) -> web.Response:
        return web.json_response({"ok": True, "channel": "C1", "ts": "1.2"})

    app = web.Application()
    app.router.add_post("/api/chat.postMessage", post)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    port = runner.addresses[0][1]
    try:
        (tmp_path / "shield.yaml").write_text(
            f'storage: "{store_url}"\n'
            "notifiers:\n"
            "  ops: {type: slack, token: xoxb-1-2-abc, channel: '#ops', "
            f"api_url: 'http://127.0.0.1:{port}/api', max_attempts: 1}}\n"
        )
        code, out, err = await prodshield(
            "notify", "test", "ops", "-c", str(tmp_path / "shield.yaml")
        )
    finally:
        await runner.cleanup()
    assert code == 0, out + err
    assert out.strip() == "sent to ops (attempt 1): channel=C1 ts=1.2", out
