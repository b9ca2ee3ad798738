"""Fuzzed secret scanner: arbitrary text never raises, and a credential planted in random text
never appears whole in any finding's ``redacted`` or ``snippet``."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from prodshield.secrets import scan_line, scan_text
from support import secrets_tokens as tokens
from support.fuzz import FUZZ

GENERATORS = [
    tokens.github_classic,
    tokens.github_oauth,
    tokens.npm_token,
    tokens.fine_grained,
    tokens.aws_id,
    tokens.google_key,
    tokens.azure_conn,
    tokens.gitlab,
    tokens.slack_bot,
    tokens.slack_user,
    tokens.slack_webhook,
    tokens.telegram,
    tokens.stripe_live,
    tokens.stripe_restricted,
    tokens.sendgrid,
    tokens.twilio,
    tokens.mailgun,
    tokens.pypi,
    tokens.openai,
    tokens.jwt,
]
# Context a leak usually sits in, so the keyword-gated rules fire too.
PREFIXES = st.sampled_from(
    [
        "",
        "token=",
        "password: ",
        "AWS_SECRET_ACCESS_KEY=",
        "Authorization: Bearer ",
        '"key": "',
        "export API_KEY=",
        "url=https://user:",
        "secret ",
        "aws_secret_access_key = ",
    ]
)
NOISE = st.text(max_size=60).map(lambda s: s.replace("\n", " "))


@FUZZ
@given(st.text(max_size=500))
def test_arbitrary_text(text: str) -> None:
    for finding in scan_text(text):
        assert finding.line >= 1
    for line in text.splitlines()[:5]:
        scan_line(line)


@FUZZ
@given(st.binary(max_size=400))
def test_binary_junk(raw: bytes) -> None:
    scan_text(raw.decode("utf-8", "surrogateescape"))
    scan_text(raw.decode("latin-1"))


@st.composite
def planted(draw: st.DrawFn) -> tuple[str, str]:
    # secrets_tokens draws from its own seeded Random: seed it from hypothesis so runs replay.
    tokens._rnd.seed(draw(st.integers(0, 2**32)))
    secret = draw(st.sampled_from(GENERATORS))()
    text = (
        draw(NOISE)
        + " "
        + draw(PREFIXES)
        + secret
        + draw(st.sampled_from(["", '"', " ", ";"]))
        + draw(NOISE)
    )
    return secret, text


@FUZZ
@given(planted(), st.integers(0, 5))
def test_planted_secret_is_redacted(case: tuple[str, str], lines_before: int) -> None:
    secret, line = case
    text = "\n" * lines_before + line + "\n"
    found = scan_text(text) + scan_line(line)
    for finding in found:
        assert secret not in finding.redacted, finding
        assert secret not in finding.snippet, finding
        assert secret not in repr(finding.to_dict()), finding
