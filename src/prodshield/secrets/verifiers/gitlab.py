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
    provider = "gitlab"
    rules = ("gitlab-token",)
    base_url = "https://gitlab.com"
    call = "GET /api/v4/personal_access_tokens/self"

    def probe(self, secret: str) -> Probe:
        return Probe("GET", "/api/v4/personal_access_tokens/self", {"PRIVATE-TOKEN": secret})

    def judge(self, answer: Answer) -> Verdict:
        data = answer.json()
        if answer.status == 200:
            if data is None:
                return unverified(self.provider, "200 without a token description")
            if data.get("revoked") is True or data.get("active") is False:
                return inactive(self.provider, "the token is revoked or expired")
            name = field_text(data, "name")
            return live(self.provider, f"active token {name!r}" if name else "active token")
        if answer.status == 401:
            detail = field_text(data, "error_description") or field_text(data, "message")
            return inactive(self.provider, f"401 {detail or 'Unauthorized'}")
        if answer.status == 403:
            return live(self.provider, "authenticated, without an API scope (403)")
        if answer.status == 404:
            return unverified(self.provider, "no personal_access_tokens/self here (404)")
        return transient(self.provider, answer) or unexpected(self.provider, answer)


VERIFIER = GitLabVerifier()
