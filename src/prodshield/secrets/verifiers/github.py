"""GitHub: ``GET /user`` with the token. 200 names the account; 401 "Bad credentials" is a dead
token; 403 (or 429) with ``x-ratelimit-remaining: 0`` is GitHub's rate limit, not a verdict; any
other 403 came from an authenticated token that may not do this (SAML, IP allow list): live."""

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


class GitHubVerifier:
    type = "github"
    rules = ("github-pat-classic", "github-oauth", "github-pat-fine-grained")
    base_url = "https://api.github.com"
    example = {"base_urls": {"github": "https://api.github.com"}}
    call = "GET /user"

    def probe(self, secret: str) -> Probe:
        return Probe("GET", "/user", {
            "Authorization": f"Bearer {secret}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
        })  # fmt: skip

    def judge(self, answer: Answer) -> Verdict:
        limited = answer.headers.get("x-ratelimit-remaining") == "0"
        if answer.status in (403, 429) and (limited or "retry-after" in answer.headers):
            return unverified(self.type, f"rate limited (HTTP {answer.status})")
        if answer.status == 200:
            login = field_text(answer.json(), "login")
            return live(self.type, f"authenticates as {login}" if login else "authenticates")
        if answer.status == 401:
            return inactive(self.type, "401 Bad credentials")
        if answer.status == 403:
            return live(self.type, "authenticated, but refused this call (403)")
        return transient(self.type, answer) or unexpected(self.type, answer)


VERIFIER = GitHubVerifier()
