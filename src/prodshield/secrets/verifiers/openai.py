"""OpenAI: ``GET /v1/models``. 200 is a working key; 401 (``invalid_api_key``, deactivated
account) is dead. HTTP 429 is two things: ``rate_limit_exceeded`` says nothing, but
``insufficient_quota`` is a key that authenticated and has run out of credit: live."""

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


class OpenAIVerifier:
    type = "openai"
    rules = ("openai-api-key",)
    base_url = "https://api.openai.com"
    example = {"base_urls": {"openai": "https://api.openai.com"}}
    call = "GET /v1/models"

    def probe(self, secret: str) -> Probe:
        return Probe("GET", "/v1/models", {"Authorization": f"Bearer {secret}"})

    def judge(self, answer: Answer) -> Verdict:
        data = answer.json()
        code = field_text(data, "error", "code") or field_text(data, "error", "type")
        if answer.status == 200:
            return live(self.type, "lists models")
        if answer.status == 401:
            return inactive(self.type, f"401 {code or 'invalid key'}")
        if answer.status == 429 and code == "insufficient_quota":
            return live(self.type, "authenticated, quota exhausted (429 insufficient_quota)")
        if answer.status == 403:
            return unverified(self.type, f"refused (403 {code or 'forbidden'})")
        return transient(self.type, answer) or unexpected(self.type, answer)


VERIFIER = OpenAIVerifier()
