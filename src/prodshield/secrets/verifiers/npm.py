"""npm: ``GET /-/whoami`` on the registry. 200 ``{"username": ...}`` is a working token; 401 is a
dead one. Some registries answer 200 to anyone (``{}``, or an error in a 200 body): without a
username that is no verdict. A 403 may be a token refused from this address: no verdict either."""

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


class NpmVerifier:
    type = "npm"
    rules = ("npm-token",)
    base_url = "https://registry.npmjs.org"
    example = {"base_urls": {"npm": "https://registry.npmjs.org"}}
    call = "GET /-/whoami"

    def probe(self, secret: str) -> Probe:
        return Probe("GET", "/-/whoami", {"Authorization": f"Bearer {secret}"})

    def judge(self, answer: Answer) -> Verdict:
        if answer.status == 200:
            user = field_text(answer.json(), "username")
            if user:
                return live(self.type, f"authenticates as {user}")
            return unverified(self.type, "200 without a username")
        if answer.status == 401:
            return inactive(self.type, "401 Unauthorized")
        if answer.status == 403:
            return unverified(self.type, "refused (403)")
        return transient(self.type, answer) or unexpected(self.type, answer)


VERIFIER = NpmVerifier()
