"""/readyz tells the truth about notifications: while every one dies on a revoked GitHub token (401,
a permanent error, so nothing stays pending) the service is degraded, not "ready"."""

from __future__ import annotations

from pathlib import Path

from support.serve_process import TOKEN, serve, wait_for
from support.standins.github import GitHubStandin

REPO = "acme/revoked"
REVOKED = "ghp_" + "R" * 36


def test_readyz_is_degraded_while_notifications_die_on_a_revoked_token(tmp_path: Path) -> None:
    with GitHubStandin.in_thread(tokens=("ghp_" + "G" * 36,)) as gh:  # REVOKED is not accepted
        gh.repo(REPO)
        config = f"""
storage: "sqlite:///{{db}}"
defaults: {{interval: 1s, timeout: 1s, failure_threshold: 1}}
checks:
  - {{name: api, type: tcp, host: 127.0.0.1, port: 9}}
notifiers:
  gh: {{type: github, repo: {REPO}, token: "{REVOKED}", api_url: "{gh.url}", backoff: 0.2}}
serve: {{host: 127.0.0.1, port: {{port}}, token: "{TOKEN}"}}
"""
        with serve(tmp_path, config) as srv:
            wait_for(
                "a notification to die",
                lambda: srv.count("SELECT count(*) FROM outbox WHERE status = 'dead'") >= 1,
            )
            ready = srv.get("/readyz").json()
            assert ready["status"] == "degraded", ready
            problem = ready["problems"]["notify:gh"]
            assert "401" in problem and "dead" in problem, problem
            assert REVOKED not in srv.get("/readyz").body.decode()
        assert any(r.status == 401 for r in gh.requests)
