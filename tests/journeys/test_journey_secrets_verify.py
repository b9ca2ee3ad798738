"""Journey: a developer asks which of the leaked secrets still work. `prodshield audit secrets
--verify` (a subprocess) asks each provider's stand-in on loopback, reports live / inactive /
unverified with a reason, never prints or stores a secret, and fails the gate on a live secret
even when it is baselined, allowed inline or under --fail-on none."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from support import secrets_tokens as tok
from support.standins.providers import ProviderStandins


@pytest.fixture(scope="module")
def standins() -> Iterator[ProviderStandins]:
    with ProviderStandins.in_thread() as s:
        yield s


@pytest.fixture(autouse=True)
def _fresh(standins: ProviderStandins) -> None:
    standins.modes.clear()
    standins.requests.clear()


def _shield(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "prodshield", "audit", *args],
        cwd=cwd, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def _by_kind(stdout: str) -> dict[str, dict[str, str]]:
    return {f["kind"]: f.get("verification") for f in json.loads(stdout)["findings"]}


def test_verify_reports_verdicts_and_a_live_secret_always_fails(
    tmp_path: Path, standins: ProviderStandins
) -> None:
    github, slack, stripe = tok.github_classic(), tok.slack_bot(), tok.stripe_live()
    npm, openai = tok.npm_token(), tok.openai()
    standins.set(github, "live")
    standins.set(slack, "revoked")
    standins.set(npm, "live")
    standins.set(openai, "live")
    standins.mode("stripe", "rate_limited")
    app = tmp_path / "app"
    app.mkdir()
    (app / "settings.py").write_text(
        f"GITHUB = '{github}'\nSLACK = '{slack}'\nSTRIPE = '{stripe}'\n"
        f"NPM = '{npm}'  # prodshield:allow (a fixture, they said)\n"
    )
    (app / "ai.py").write_text(f"OPENAI_KEY = '{openai}'\n")
    (tmp_path / "shield.yaml").write_text(standins.shield_yaml())

    # The baseline accepts the OpenAI key: a working key is reported all the same.
    proc = _shield(tmp_path, "baseline", "app/ai.py", "--reason", "demo key", "-o", "base.json")
    assert proc.returncode == 0, proc.stderr
    proc = _shield(
        tmp_path, "secrets", "app", "--format", "json", "--fail-on", "none",
        "--baseline", "base.json",
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr  # live secrets fail even under --fail-on none
    assert "live secret" in proc.stderr and "revoke and rotate" in proc.stderr
    verdicts = _by_kind(proc.stdout)
    assert verdicts["github_pat_classic"]["status"] == "live"
    assert verdicts["github_pat_classic"]["reason"] == "authenticates as octo-dev"
    assert verdicts["slack_bot_token"] == {
        "status": "inactive", "provider": "slack", "reason": "ok=false, token_revoked",
    }  # fmt: skip
    assert verdicts["stripe_secret_key"]["status"] == "unverified"
    assert "rate limited" in verdicts["stripe_secret_key"]["reason"]
    assert verdicts["npm_token"]["status"] == "live"  # the allow comment does not hide it
    assert verdicts["openai_api_key"]["status"] == "live"  # nor does the baseline
    # The secrets went to their own providers only, and nowhere in the output or files.
    assert standins.received("github") == [github] and standins.received("slack") == [slack]
    for secret in (github, slack, stripe, npm, openai):
        assert secret not in proc.stdout + proc.stderr
        assert secret not in (tmp_path / "base.json").read_text()

    # Dead, throttled or unreachable only: --fail-on none passes; nothing is called inactive
    # that the provider did not refuse.
    standins.set(github, "revoked")
    standins.set(npm, "revoked")
    standins.set(openai, "revoked")
    standins.mode("slack", "error")
    proc = _shield(tmp_path, "secrets", "app", "--format", "json", "--fail-on", "none")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    verdicts = _by_kind(proc.stdout)
    assert verdicts["slack_bot_token"]["status"] == "unverified"
    assert verdicts["github_pat_classic"]["status"] == "inactive"
    assert "npm_token" not in verdicts  # allowed inline and not live: stays silent

    # Markdown and SARIF carry the verdicts too.
    standins.set(github, "live")
    proc = _shield(tmp_path, "secrets", "app", "--format", "markdown", "--fail-on", "none")
    assert proc.returncode == 1 and "LIVE (authenticates as octo-dev)" in proc.stdout
    proc = _shield(tmp_path, "secrets", "app", "--format", "sarif", "--fail-on", "none")
    results = json.loads(proc.stdout)["runs"][0]["results"]
    live = [r for r in results if r["properties"].get("verification", {}).get("status") == "live"]
    assert [r["ruleId"] for r in live] == ["github-pat-classic"]


def test_verification_is_opt_in(tmp_path: Path, standins: ProviderStandins) -> None:
    token = tok.github_classic()
    standins.set(token, "live")
    (tmp_path / "app.env").write_text(f"GITHUB_TOKEN={token}\n")
    standins.requests.clear()
    # No shield.yaml: nothing is sent anywhere, and the report has no verdicts.
    proc = _shield(tmp_path, "secrets", "app.env", "--format", "json", "--fail-on", "none")
    assert proc.returncode == 0 and "verification" not in proc.stdout
    # enabled in shield.yaml, and switched off for one run with --no-verify.
    (tmp_path / "shield.yaml").write_text(standins.shield_yaml())
    proc = _shield(tmp_path, "secrets", "app.env", "--no-verify", "--fail-on", "none")
    assert proc.returncode == 0 and standins.requests == []
    proc = _shield(tmp_path, "secrets", "app.env", "--fail-on", "none")
    assert proc.returncode == 1 and "LIVE" in proc.stdout
    assert standins.received("github") == [token]
    assert token not in proc.stdout


def test_the_full_audit_gate_verifies_and_never_suppresses_a_live_secret(
    tmp_path: Path, standins: ProviderStandins
) -> None:
    live, dead = tok.github_classic(), tok.slack_bot()
    standins.set(live, "live")
    app = tmp_path / "app"
    app.mkdir()
    (app / "deploy.py").write_text(
        f"CHAT = '{dead}'\n\nTOKEN = '{live}'  # prodshield:allow (rotated, they said)\n"
    )
    (tmp_path / "shield.yaml").write_text(standins.shield_yaml())
    args = ["app", "--only", "secrets", "--format", "json", "--no-store"]

    proc = _shield(tmp_path, *args)
    assert proc.returncode == 1, proc.stderr
    findings = {f["line"]: f for f in json.loads(proc.stdout)["findings"]}
    assert findings[3]["severity"] == "critical"
    assert "LIVE (github: authenticates as octo-dev)" in findings[3]["message"]
    assert "inactive (slack: ok=false, invalid_auth)" in findings[1]["message"]
    assert live not in proc.stdout and dead not in proc.stdout
    # The run is stored (shield.yaml's store): the verdict is in it, the secrets are not.
    proc = _shield(tmp_path, *args[:-1])
    assert proc.returncode == 1, proc.stderr
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("prodshield.db*"))
    assert b"LIVE (github: authenticates as octo-dev)" in stored
    assert live.encode() not in stored and dead.encode() not in stored

    # Allowing the whole rule in shield.yaml silences the dead token, not the live one.
    config = standins.shield_yaml().replace("audit:\n", "audit:\n  allow_rules: [secrets.leak]\n")
    (tmp_path / "shield.yaml").write_text(config)
    proc = _shield(tmp_path, *args)
    assert proc.returncode == 1
    assert [f["line"] for f in json.loads(proc.stdout)["findings"]] == [3]
    # Without verification the allow list and the inline comment are honoured as before.
    proc = _shield(tmp_path, *args, "--no-verify")
    assert proc.returncode == 0 and json.loads(proc.stdout)["findings"] == []


def test_stdin_is_verified_too(tmp_path: Path, standins: ProviderStandins) -> None:
    token = tok.gitlab()
    standins.set(token, "live")
    (tmp_path / "shield.yaml").write_text(standins.shield_yaml())
    text = f"2026-12-04 deploy used {token}  # prodshield:allow\n"
    proc = subprocess.run(
        [sys.executable, "-m", "prodshield", "audit", "secrets", "-", "--format", "json"],
        cwd=tmp_path, input=text, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    [finding] = json.loads(proc.stdout)["findings"]
    assert finding["verification"]["status"] == "live"
    assert "reported although suppressed" in finding["verification"]["reason"]
    assert standins.received("gitlab") == [token] and token not in proc.stdout


def test_the_verdict_table_fits_80_columns_with_every_word_whole(
    tmp_path: Path, standins: ProviderStandins
) -> None:
    """Issue 25: at 80 columns the table leaves out the confidence and puts places and verdicts
    that would be cut on lines of their own; a rule, a severity, a path, a redacted value or a
    verdict is never cut."""
    github, slack, stripe = tok.github_classic(), tok.slack_bot(), tok.stripe_live()
    standins.set(github, "live")
    standins.set(slack, "revoked")
    standins.mode("stripe", "rate_limited")
    deep = tmp_path / "services" / "payments" / "config"
    deep.mkdir(parents=True)
    password = "postgres://admin:S3cr3tPassw0rdXyz@db.internal.example.com:5432/orders"
    for folder in (tmp_path, deep):
        (folder / "settings.py").write_text(
            f"GITHUB = '{github}'\nSLACK = '{slack}'\nSTRIPE = '{stripe}'\nDB = '{password}'\n"
        )
    (tmp_path / "app.log").write_text(f"2026-01-01 ERROR connect failed url={password}\n")
    (tmp_path / "shield.yaml").write_text(standins.shield_yaml())
    proc = subprocess.run(
        [sys.executable, "-m", "prodshield", "audit", "secrets", "settings.py", "services",
         "--log", "app.log", "--verify", "--fail-on", "none"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
        env={**os.environ, "COLUMNS": "80"},
    )  # fmt: skip
    assert proc.returncode == 1, proc.stdout + proc.stderr  # the live GitHub token
    out = proc.stdout
    assert all(len(line) <= 80 for line in out.splitlines()), out
    assert "┃" not in out and "│" not in out, out  # the CLI's plain grid, no heavy box
    header = next(line for line in out.splitlines() if "severity" in line)
    # the places and verdicts would be cut inside a path: they go on lines under their finding
    assert header.split() == ["severity", "rule", "value"], out
    assert "location: file settings.py:1; file services/payments/config/settings.py:1" in out, out
    for word in (
        "github-pat-classic", "slack-bot-token", "stripe-secret-key", "url-password",
        "critical", "LIVE", "inactive", "unverified", "token_revoked", "octo-dev",
    ):  # fmt: skip
        assert re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", out), (word, out)
    for secret in (github, slack, stripe, "S3cr3tPassw0rdXyz"):
        assert secret not in out + proc.stderr
