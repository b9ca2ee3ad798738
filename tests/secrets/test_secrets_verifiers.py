"""The live-secret verifiers against loopback stand-ins of each provider's identity call: the
real answers for a working, a dead and a throttled secret, and the misleading ones (Slack's HTTP
200 for a dead token, GitHub's 403 rate limit, Stripe's 403 restricted key, OpenAI's 429 that
means "no credit", a registry's 200 to anyone)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from prodshield.config.loader import parse_config
from prodshield.errors import ConfigError
from prodshield.secrets import Scanner
from prodshield.secrets.finding import secret_id
from prodshield.secrets.rules import REGISTRY as RULES
from prodshield.secrets.verification import VerifySettings, verify_values
from prodshield.secrets.verifiers import BY_RULE, REGISTRY
from prodshield.secrets.verifiers.base import Answer, Verifier
from support import secrets_tokens as tok
from support.net import refused_port
from support.standins.providers import ProviderStandins

DOCS = Path(__file__).resolve().parents[2] / "docs" / "secrets.md"

MAKERS = {
    "github": ("github-pat-classic", tok.github_classic),
    "gitlab": ("gitlab-token", tok.gitlab),
    "slack": ("slack-bot-token", tok.slack_bot),
    "stripe": ("stripe-secret-key", tok.stripe_live),
    "openai": ("openai-api-key", tok.openai),
    "sendgrid": ("sendgrid-api-key", tok.sendgrid),
    "npm": ("npm-token", tok.npm_token),
}


@pytest.fixture(scope="module")
def standins() -> Iterator[ProviderStandins]:
    with ProviderStandins.in_thread() as s:
        yield s


@pytest.fixture(autouse=True)
def _reset(standins: ProviderStandins) -> None:
    standins.modes.clear()
    standins.requests.clear()
    standins.max_in_flight.clear()


def _settings(standins: ProviderStandins, **kw: object) -> VerifySettings:
    return VerifySettings(base_urls=dict(standins.base_urls), **kw)  # type: ignore[arg-type]


def _verdict(
    standins: ProviderStandins, provider: str, token: str, **kw: object
) -> tuple[str, str]:
    rule = MAKERS[provider][0]
    verdicts = verify_values({secret_id(token): (rule, token)}, _settings(standins, **kw))
    v = verdicts[secret_id(token)]
    assert v.provider == provider and token not in v.reason
    return v.status, v.reason


def test_every_verifier_is_registered_documented_and_knows_real_rules() -> None:
    assert set(REGISTRY) == set(MAKERS)
    text = DOCS.read_text()
    for name, verifier in REGISTRY.items():
        assert isinstance(verifier, Verifier)
        assert verifier.rules and all(rule in RULES for rule in verifier.rules), name
        assert verifier.base_url.startswith("https://"), name
        assert f"`{verifier.call}`" in text, f"docs/secrets.md does not name {verifier.call}"
        probe = verifier.probe("SECRET")
        assert probe.path.startswith("/") and "SECRET" not in probe.path
        assert any("SECRET" in v for v in probe.headers.values())
    for provider, (rule, make) in MAKERS.items():
        token = make()
        assert [f.rule for f in Scanner().scan_line(f"key = {token}")] == [rule], provider
        assert BY_RULE[rule].type == provider


@pytest.mark.parametrize("provider", sorted(MAKERS))
def test_live_and_dead_secrets(standins: ProviderStandins, provider: str) -> None:
    make = MAKERS[provider][1]
    live, dead = make(), make()
    standins.set(live, "live")
    assert _verdict(standins, provider, live)[0] == "live"
    status, reason = _verdict(standins, provider, dead)
    assert status == "inactive", reason
    # Each host was sent only the secrets of its own provider.
    assert set(standins.received(provider)) == {live, dead}
    assert all(name == provider for name, *_ in standins.requests)


@pytest.mark.parametrize("provider", sorted(MAKERS))
def test_rate_limits_and_server_errors_are_unverified_never_inactive(
    standins: ProviderStandins, provider: str
) -> None:
    token = MAKERS[provider][1]()
    for mode in ("rate_limited", "error"):
        standins.mode(provider, mode)
        status, reason = _verdict(standins, provider, token)
        assert status == "unverified", (mode, reason)
        assert ("rate limit" in reason) == (mode == "rate_limited"), reason


def test_the_misleading_answers(standins: ProviderStandins) -> None:
    # Slack: HTTP 200 with ok=false is a dead token, and the error says which death.
    revoked = tok.slack_bot()
    standins.set(revoked, "revoked")
    assert _verdict(standins, "slack", revoked) == ("inactive", "ok=false, token_revoked")
    assert _verdict(standins, "slack", tok.slack_bot()) == ("inactive", "ok=false, invalid_auth")
    # GitHub: a 403 whose x-ratelimit-remaining is 0 is the rate limit, not a verdict.
    standins.mode("github", "rate_limited")
    assert _verdict(standins, "github", tok.github_classic())[0] == "unverified"
    # Stripe: a restricted key refused /v1/account with 403 authenticated: live.
    restricted = tok.stripe_restricted()
    standins.set(restricted, "restricted")
    verdicts = verify_values(
        {secret_id(restricted): ("stripe-restricted-key", restricted)}, _settings(standins)
    )
    assert verdicts[secret_id(restricted)].status == "live"
    assert "restricted" in verdicts[secret_id(restricted)].reason
    # OpenAI: 429 insufficient_quota is a working key without credit; rate_limit_exceeded is not.
    broke = tok.openai()
    standins.set(broke, "quota")
    assert _verdict(standins, "openai", broke)[0] == "live"
    standins.mode("openai", "rate_limited")
    assert _verdict(standins, "openai", broke)[0] == "unverified"
    # GitLab: revoked is inactive; a token without an API scope authenticated: live.
    gone, narrow = tok.gitlab(), tok.gitlab()
    standins.set(gone, "revoked")
    standins.set(narrow, "no_scope")
    assert _verdict(standins, "gitlab", gone) == (
        "inactive",
        "401 Token was revoked. You have to re-authorize from the user.",
    )
    assert _verdict(standins, "gitlab", narrow)[0] == "live"
    # SendGrid: 403 access forbidden came from a key that authenticated.
    key = tok.sendgrid()
    standins.set(key, "restricted")
    assert _verdict(standins, "sendgrid", key)[0] == "live"
    # npm: a registry answering 200 {} to anyone proves nothing.
    standins.mode("npm", "anyone")
    assert _verdict(standins, "npm", tok.npm_token()) == ("unverified", "200 without a username")


def test_unreachable_and_slow_providers_are_unverified(standins: ProviderStandins) -> None:
    closed = f"http://127.0.0.1:{refused_port()}"  # nothing listens there
    token = tok.github_classic()
    verdicts = verify_values(
        {secret_id(token): ("github-pat-classic", token)},
        VerifySettings(base_urls={"github": closed}, timeout=2),
    )
    assert verdicts[secret_id(token)].status == "unverified"
    assert verdicts[secret_id(token)].reason == "unreachable: connection refused"
    nowhere = VerifySettings(base_urls={"github": "https://nowhere.invalid"}, timeout=2)
    far = verify_values({secret_id(token): ("github-pat-classic", token)}, nowhere)
    assert far[secret_id(token)].reason == "unreachable: name not resolved"
    standins.mode("stripe", "hang")
    started = time.monotonic()
    status, reason = _verdict(standins, "stripe", tok.stripe_live(), timeout=0.5)
    assert status == "unverified" and "no answer within 0.5 s" in reason
    assert time.monotonic() - started < 5


def test_concurrency_and_count_are_bounded(standins: ProviderStandins) -> None:
    tokens = [tok.github_classic() for _ in range(8)]
    values = {secret_id(t): ("github-pat-classic", t) for t in tokens}
    verdicts = verify_values(values, _settings(standins, concurrency=2, max_secrets=6))
    assert standins.max_in_flight["github"] == 2
    assert len(standins.received("github")) == 6
    statuses = sorted(v.status for v in verdicts.values())
    assert statuses == ["inactive"] * 6 + ["unverified"] * 2


def test_a_strange_answer_is_unverified() -> None:
    for status, body in ((200, b"<html>"), (200, b'{"ok": "yes"}'), (418, b""), (302, b"")):
        verdict = REGISTRY["slack"].judge(Answer(status, {}, body))
        assert verdict.status == "unverified", (status, body)


def test_base_urls_only_name_known_providers_with_plain_urls() -> None:
    def load(urls: str) -> None:
        parse_config(f"audit:\n  secrets:\n    verify:\n      base_urls:\n{urls}")

    load("        gitlab: https://gitlab.internal.example.com/\n")
    for bad, words in (
        ("        gitlub: https://x.example.com\n", "unknown provider 'gitlub'"),
        ("        gitlab: ftp://x.example.com\n", "expected an http(s) URL"),
        ("        gitlab: https://u:p@x.example.com\n", "no query, fragment or credentials"),
    ):
        with pytest.raises(ConfigError) as err:
            load(bad)
        assert words in str(err.value) and "audit.secrets.verify.base_urls" in str(err.value)


def test_hostile_answers_cannot_carry_a_secret_or_a_flood_into_the_verdict() -> None:
    echoed = tok.github_classic()
    body = ('{"login": "' + echoed + '"}').encode()
    verdict = REGISTRY["github"].judge(Answer(200, {}, body))
    assert verdict.status == "live" and echoed not in verdict.reason
    flood = ('{"ok": false, "error": "' + "x" * 100_000 + '"}').encode()
    verdict = REGISTRY["slack"].judge(Answer(200, {}, flood))
    assert verdict.status == "unverified" and len(verdict.reason) < 200
    weird = REGISTRY["gitlab"].judge(Answer(401, {}, b'{"error_description": ["a", 1]}'))
    assert weird.status == "inactive" and weird.reason == "401 Unauthorized"


def test_a_huge_answer_is_read_only_up_to_a_bound(standins: ProviderStandins) -> None:
    token = tok.npm_token()
    standins.set(token, "live")
    standins.mode("npm", "huge")  # 1 MiB of valid JSON naming a user
    verdicts = verify_values({secret_id(token): ("npm-token", token)}, _settings(standins))
    # Read whole, it would say live; cut at MAX_BODY it is not JSON, so no verdict.
    assert verdicts[secret_id(token)].status == "unverified"
    assert verdicts[secret_id(token)].reason == "200 without a username"


def test_verification_works_from_inside_an_event_loop(standins: ProviderStandins) -> None:
    import asyncio

    token = tok.github_classic()
    standins.set(token, "live")

    async def from_a_coroutine() -> str:
        values = {secret_id(token): ("github-pat-classic", token)}
        return verify_values(values, _settings(standins))[secret_id(token)].status

    assert asyncio.run(from_a_coroutine()) == "live"


def test_each_verifiers_example_is_valid_shield_yaml() -> None:
    """A verifier's ``example`` is the ``audit.secrets.verify`` block naming it, as written."""
    from prodshield.config.capabilities import SecretVerifyConfig
    from prodshield.secrets.verifiers import REGISTRY

    for name, verifier in REGISTRY.items():
        settings = SecretVerifyConfig.model_validate(verifier.example)
        assert set(settings.base_urls) == {name}
