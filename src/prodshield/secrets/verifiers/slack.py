"""Slack: ``POST /api/auth.test``. Slack answers HTTP 200 to a dead token too: the verdict is in
the body, ``{"ok": true, ...}`` or ``{"ok": false, "error": "invalid_auth"}`` (also
``token_revoked``, ``token_expired``, ``account_inactive``). A 429 with ``Retry-After`` is the
rate limit; any other error says nothing about the token."""

from __future__ import annotations

from prodshield.secrets.verifiers.base import (
    Answer,
    Probe,
    Verdict,
    field_text,
    inactive,
    live,
    transient,
    unexpected,
    unverified,
)

DEAD = frozenset({"invalid_auth", "token_revoked", "token_expired", "account_inactive"})


class SlackVerifier:
    type = "slack"
    rules = ("slack-bot-token", "slack-user-token")
    base_url = "https://slack.com"
    example = {"base_urls": {"slack": "https://slack.com"}}
    call = "POST /api/auth.test"

    def probe(self, secret: str) -> Probe:
        return Probe("POST", "/api/auth.test", {
            "Authorization": f"Bearer {secret}",
            "Content-Type": "application/x-www-form-urlencoded",
        })  # fmt: skip

    def judge(self, answer: Answer) -> Verdict:
        if answer.status != 200:
            return transient(self.type, answer) or unexpected(self.type, answer)
        data = answer.json()
        if data is None or not isinstance(data.get("ok"), bool):
            return unverified(self.type, "200 without Slack's ok field")
        if data["ok"]:
            team, user = field_text(data, "team"), field_text(data, "user")
            return live(self.type, f"team {team!r}, user {user!r}")
        error = field_text(data, "error") or "unknown"
        if error in DEAD:
            return inactive(self.type, f"ok=false, {error}")
        return unverified(self.type, f"ok=false, {error}")


VERIFIER = SlackVerifier()
