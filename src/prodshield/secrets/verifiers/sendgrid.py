"""SendGrid: ``GET /v3/scopes``. 200 lists the key's scopes; 401 "authorization required" is a
dead key; 403 "access forbidden" is a key that authenticated but may not do this (scopes, IP
access management): live."""

from __future__ import annotations

from prodshield.secrets.verifiers.base import (
    Answer,
    Probe,
    Verdict,
    inactive,
    live,
    transient,
    unexpected,
)
from prodshield.text import plural


class SendGridVerifier:
    type = "sendgrid"
    rules = ("sendgrid-api-key",)
    base_url = "https://api.sendgrid.com"
    example = {"base_urls": {"sendgrid": "https://api.sendgrid.com"}}
    call = "GET /v3/scopes"

    def probe(self, secret: str) -> Probe:
        return Probe("GET", "/v3/scopes", {"Authorization": f"Bearer {secret}"})

    def judge(self, answer: Answer) -> Verdict:
        if answer.status == 200:
            scopes = (answer.json() or {}).get("scopes")
            count = len(scopes) if isinstance(scopes, list) else 0
            return live(self.type, f"key with {plural(count, 'scope')}")
        if answer.status == 401:
            return inactive(self.type, "401 authorization required")
        if answer.status == 403:
            return live(self.type, "authenticated, access forbidden (403)")
        return transient(self.type, answer) or unexpected(self.type, answer)


VERIFIER = SendGridVerifier()
