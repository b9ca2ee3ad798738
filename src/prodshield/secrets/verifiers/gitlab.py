"""GitLab: ``GET /api/v4/personal_access_tokens/self`` with ``PRIVATE-TOKEN``. 200 describes the
token (``active``, ``revoked``); 401 is a dead token (``invalid_token``: revoked or expired);
403 ``insufficient_scope`` is a working token without an API scope: live. The base URL is the
instance's (gitlab.com, or a self-hosted one set in shield.yaml)."""

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


class GitLabVerifier:
    type = "gitlab"
    rules = ("gitlab-token",)
    base_url = "https://gitlab.com"
    example = {"base_urls": {"gitlab": "https://gitlab.com"}}
    call = "GET /api/v4/personal_access_tokens/self"

    def probe(self, secret: str) -> Probe:
        return Probe("GET", "/api/v4/personal_access_tokens/self", {"PRIVATE-TOKEN": secret})

    def judge(self, answer: Answer) -> Verdict:
        data = answer.json()
        if answer.status == 200:
            if data is None:
                return unverified(self.type, "200 without a token description")
            if data.get("revoked") is True or data.get("active") is False:
                return inactive(self.type, "the token is revoked or expired")
            name = field_text(data, "name")
            return live(self.type, f"active token {name!r}" if name else "active token")
        if answer.status == 401:
            detail = field_text(data, "error_description") or field_text(data, "message")
            return inactive(self.type, f"401 {detail or 'Unauthorized'}")
        if answer.status == 403:
            return live(self.type, "authenticated, without an API scope (403)")
        if answer.status == 404:
            return unverified(self.type, "no personal_access_tokens/self here (404)")
        return transient(self.type, answer) or unexpected(self.type, answer)


VERIFIER = GitLabVerifier()
