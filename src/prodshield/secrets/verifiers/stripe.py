"""Stripe: ``GET /v1/account``. 200 is a working key; 401 "Invalid API Key provided" (or
"Expired API Key") is dead; 403 is a restricted key (``rk_live_``) without the permission for
this endpoint: it authenticated, so it is live, only restricted."""

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
)


class StripeVerifier:
    type = "stripe"
    rules = ("stripe-secret-key", "stripe-restricted-key")
    base_url = "https://api.stripe.com"
    example = {"base_urls": {"stripe": "https://api.stripe.com"}}
    call = "GET /v1/account"

    def probe(self, secret: str) -> Probe:
        return Probe("GET", "/v1/account", {"Authorization": f"Bearer {secret}"})

    def judge(self, answer: Answer) -> Verdict:
        if answer.status == 200:
            account = field_text(answer.json(), "id")
            return live(self.type, f"account {account}" if account else "authenticates")
        if answer.status == 401:
            expired = "expired" in field_text(answer.json(), "error", "message").lower()
            return inactive(self.type, "401 expired API key" if expired else "401 invalid API key")
        if answer.status == 403:
            return live(
                self.type, "restricted key: authenticated, no permission for /v1/account (403)"
            )
        return transient(self.type, answer) or unexpected(self.type, answer)


VERIFIER = StripeVerifier()
