"""Journey: a webhook receiver saves the bodies prodshield posts to it, in a folder the audit scans.
A `log.critical` event's key and subject (``log:secret_in_log:2078cb3e0e1870802f0d``, a kind name
and a finding's digest) were reported as a generic secret by `audit secrets` and `logs scan`, and
failed the audit gate; a real secret after a `secret` or `token` key is still found (CLI as a
subprocess, the files a receiver writes)."""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

from support.cli import prodshield, wide_env

DIGEST = "2078cb3e0e1870802f0d"


def _body(kind: str, digest: str, hour: int) -> str:
    """One body as the webhook notifier posts it (``{"event": ..., "attempt": ...}``)."""
    event = {
        "key": f"log:{kind}:{digest}:{hour}",
        "type": "log.critical",
        "subject": f"log:{kind}:{digest}",
        "title": f"{kind}: generic_secret leaked into the log: 2 secrets",
        "severity": "high",
        "body": f"**{kind}** x2 (`file=app.log, rule=generic-secret`)",
        "fields": {"kind": kind, "count": "2", "source": "file=app.log, rule=generic-secret"},
        "url": None,
        "labels": ["logs"],
    }
    return json.dumps({"event": event, "attempt": 1})


def _json(done: Any) -> dict[str, Any]:
    assert done.returncode in (0, 1), done.stdout + done.stderr
    data = json.loads(done.stdout)
    assert isinstance(data, dict)
    return data


def test_own_event_keys_are_not_secrets_and_real_ones_still_are(tmp_path: Path) -> None:
    kinds = ("secret_in_log", "db_connection_failure", "token_reuse", "password_spraying")
    bodies = [_body(kind, DIGEST, 493452 + i) for i, kind in enumerate(kinds)]
    bodies.append(json.dumps({"subject": f"log:secret_in_log:{DIGEST}"}))
    (tmp_path / "hooks.jsonl").write_text("\n".join(bodies) + "\n")
    env = wide_env()

    audited = prodshield(tmp_path, "audit", "secrets", "hooks.jsonl", env=env)
    assert audited.returncode == 0, audited.stdout + audited.stderr
    assert "No secrets found." in audited.stdout, audited.stdout
    report = _json(prodshield(tmp_path, "audit", "secrets", ".", "--format", "json", env=env))
    assert report["findings"] == [], report["findings"]
    scanned = prodshield(
        tmp_path, "logs", "scan", "hooks.jsonl", "--no-store", "--format", "json", env=env
    )
    found = _json(scanned)["findings"]
    assert not [f for f in found if f["kind"] == "secret_in_log"], found

    # Real high-entropy secrets after secret/token names, in the same shapes, are still found.
    leaked = secrets.token_hex(10)  # 20 hex characters, like the digest above
    mixed = secrets.token_urlsafe(30)
    real = [
        f"secret:{leaked}",
        f"client_secret:{leaked}",
        f"db_pass:{leaked}",
        json.dumps({"secret": leaked}),
        f"secret_in_log: {leaked}",
        f"token: {mixed}",
        f"api_token:{mixed}",
        f"event secret_in_log:{mixed}",
    ]
    (tmp_path / "hooks.jsonl").write_text("\n".join(real) + "\n")
    report = _json(
        prodshield(tmp_path, "audit", "secrets", "hooks.jsonl", "--format", "json", env=env)
    )
    lines = sorted(f["line"] for f in report["findings"])
    assert lines == list(range(1, len(real) + 1)), report["findings"]
    scanned = prodshield(
        tmp_path, "logs", "scan", "hooks.jsonl", "--no-store", "--format", "json", env=env
    )
    (leak,) = [f for f in _json(scanned)["findings"] if f["kind"] == "secret_in_log"]
    places = sorted(p for s in leak["details"]["secrets"] for p in s["places"])
    assert len(places) == len(real), leak
    assert leaked not in scanned.stdout and mixed not in scanned.stdout
