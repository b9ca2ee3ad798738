"""`config show` ("secrets hidden") hides every secret (issue 18).

Before the fix it printed storage, DSN and URL passwords and Authorization headers.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

SECRETS = {
    "storage": "Pg-St0rage-pw",
    "dsn": "Dsn-Passw0rd",
    "redis": "redispw77",
    "http": "basic-pa55",
    "auth": "Bearer eyJhbGciOi.Zm9v.YmFy",
    "apikey": "k3y-1234567890abcdef",
    "hook_auth": "Token hook-secret-123",
    "gh": "ghp_" + "Q" * 36,
    "marker": "marker-key-0123456789",
    "smtp": "smtp-pw-xyz",
    "user_token": "alice-token-0123456789abcdef",
}


def test_config_show_hides_every_secret(tmp_path: Path) -> None:
    s = SECRETS
    (tmp_path / "shield.yaml").write_text(
        textwrap.dedent(
            f"""\
            storage: postgresql://prodshield:{s["storage"]}@db.internal:5432/prodshield
            notifiers:
              gh:
                type: github
                repo: acme/platform
                token: "{s["gh"]}"
                marker_key: "{s["marker"]}"
              hook:
                type: webhook
                url: https://hooks.example/in
                headers:
                  Authorization: "{s["hook_auth"]}"
              mail:
                type: email
                host: smtp.example
                sender: a@example.com
                to: [b@example.com]
                username: ops
                password: "{s["smtp"]}"
            serve:
              users:
                alice: "{s["user_token"]}"
            checks:
              - name: db
                type: postgres
                dsn: postgresql://app:{s["dsn"]}@db.internal/app
              - name: cache
                type: redis
                url: redis://:{s["redis"]}@cache:6379/0
              - name: api
                type: http
                url: https://admin:{s["http"]}@api.example/health
                headers:
                  Authorization: "{s["auth"]}"
                  X-Api-Key: "{s["apikey"]}"
            """
        )
    )
    out = subprocess.run(
        [sys.executable, "-m", "prodshield", "config", "show", "-c", "shield.yaml"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr
    leaked = [name for name, value in SECRETS.items() if value in out.stdout + out.stderr]
    assert leaked == []
    shown = json.loads(out.stdout)
    # What is not secret stays readable.
    assert (
        shown["storage"].startswith("postgresql://prodshield:")
        and "db.internal" in shown["storage"]
    )
    api = next(c for c in shown["checks"] if c["name"] == "api")
    assert "api.example/health" in api["url"] and set(api["headers"]) == {
        "Authorization",
        "X-Api-Key",
    }
    assert shown["notifiers"]["gh"]["repo"] == "acme/platform"
