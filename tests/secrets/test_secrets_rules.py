"""Each rule: true positives built with valid structure, and near-miss negatives."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from prodshield.secrets import REGISTRY, RULES, SecretRule, scan_line, scan_text
from support import secrets_tokens as tok


def kinds(text: str) -> set[str]:
    return {f.kind for f in scan_text(text, path="x.txt")}


POSITIVES = [
    ("github_pat_classic", lambda: f"GITHUB_TOKEN={tok.github_classic()}"),
    ("github_oauth", lambda: f'token: "{tok.github_oauth()}"'),
    ("github_pat_fine_grained", lambda: f"gh = '{tok.fine_grained()}'"),
    ("npm_token", lambda: f"//registry.npmjs.org/:_authToken={tok.npm_token()}"),
    ("aws_access_key_id", lambda: f"aws_access_key_id = {tok.aws_id()}"),
    ("aws_secret_access_key", lambda: f"aws_secret_access_key = {tok.aws_secret()}"),
    ("google_api_key", lambda: f'"maps": "{tok.google_key()}"'),
    ("azure_storage_key", lambda: f"AZURE={tok.azure_conn()}"),
    ("gitlab_pat", lambda: f"curl --header 'PRIVATE-TOKEN: {tok.gitlab()}'"),
    ("slack_bot_token", lambda: f"SLACK={tok.slack_bot()}"),
    ("slack_user_token", lambda: f"slack: {tok.slack_user()}"),
    ("slack_webhook", lambda: f"url = {tok.slack_webhook()}"),
    ("discord_bot_token", lambda: f"DISCORD_BOT={tok.discord_bot()}"),
    ("telegram_bot_token", lambda: f"bot = {tok.telegram()}"),
    ("stripe_secret_key", lambda: f"Stripe.api_key = '{tok.stripe_live()}'"),
    ("stripe_restricted_key", lambda: f"key: {tok.stripe_restricted()}"),
    ("sendgrid_api_key", lambda: f"MAIL={tok.sendgrid()}"),
    ("twilio_api_key", lambda: f"twilio_key: {tok.twilio()}"),
    ("mailgun_api_key", lambda: f"mailgun = {tok.mailgun()}"),
    ("pypi_token", lambda: f"password = {tok.pypi()}"),
    ("openai_api_key", lambda: f"OPENAI_API_KEY={tok.openai()}"),
    ("jwt", lambda: f"cookie session={tok.jwt()}; Path=/"),
    ("private_key_rsa", tok.pem_rsa),
    ("private_key_openssh", tok.pem_openssh),
    (
        "db_url_password",
        lambda: f"DATABASE_URL=postgres://app:{tok.password()}@db.internal:5432/app",
    ),
    ("basic_auth_url", lambda: f"git clone https://ci:{tok.password()}@git.example.org/repo.git"),
    ("bearer_token", lambda: f"Authorization: Bearer {tok.rand(40)}-{tok.rand(8)}"),
    ("generic_password", lambda: f"DB_PASSWORD={tok.password()}"),
    ("generic_password", lambda: f'<property name="ldap.password" value="{tok.password()}"/>'),
    ("generic_secret", lambda: f"client_secret: {tok.rand(40)}"),
    ("generic_secret", lambda: "client_secret:9f3c1a7be24d5c8e06fa"),
    ("generic_secret", lambda: "secret:9f3c1a7be24d5c8e06fa"),
    (
        "aws_secret_access_key",
        lambda: f"aws configure set aws_secret_access_key {tok.aws_secret()}",
    ),
    ("generic_password", lambda: f'<add value="{tok.password()}" key="SmtpPassword" />'),
    ("generic_password", lambda: f"conn = 'Server=db;User Id=sa;Password={tok.password()};'"),
    ("generic_secret", lambda: f"deploy --api-token {tok.rand(44)} --region eu"),
]


@pytest.mark.parametrize(
    ("kind", "make"), POSITIVES, ids=[f"{k}-{i}" for i, (k, _) in enumerate(POSITIVES)]
)
def test_true_positive(kind: str, make: Callable[[], str]) -> None:
    assert kind in kinds(make())


NEGATIVES = [
    lambda: f"GITHUB_TOKEN={tok.bad_checksum(tok.github_classic())}",  # CRC32 does not match
    lambda: f"NPM_TOKEN={tok.bad_checksum(tok.npm_token())}",
    lambda: "aws_access_key_id = AKIAIOSFODNN7EXAMPLE",  # documented example
    lambda: "aws_access_key_id = AKIA0000111122223333",  # not base32
    lambda: "NPM_TOKEN = npm_XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
    lambda: (
        "webhook: https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX"
    ),
    lambda: "slack_token: xoxb-not-a-real-token-this-will-not-work",
    lambda: "password: changeme",
    lambda: "api_key: <YOUR_TOKEN>",
    lambda: "secret: ${SECRET}",
    lambda: "password: '{{ vault_db_password }}'",
    lambda: "password = os.environ['DB_PASSWORD']",
    lambda: 'token = getenv("API_TOKEN")',
    lambda: "request_id: 1b4e28ba-2fa1-11d2-883f-0016d3cca427",  # UUID
    lambda: "commit_sha = 2fd4e1c67a2d28fced849ee1bb76e7391b93eb12",  # git SHA
    lambda: "api_key = 2fd4e1c67a2d28fced849ee1bb76e7391b93eb12",  # SHA-1-shaped under a weak name
    lambda: '"integrity": "sha512-' + tok.rand(86) + '=="',
    lambda: 'icon: "data:image/png;base64,iVBORw0KGgo' + tok.rand(80) + '"',
    lambda: "api_key = '[REDACTED]'",
    lambda: "password = '********'",
    lambda: "password_min_length: 12",
    lambda: "use_ssl_private_key: false",
    lambda: "api_key = 1234567890abcdef",
    lambda: "DATABASE_URL=postgres://user:password@localhost:5432/mydb",
    lambda: "Authorization: Bearer ${TOKEN}",
    lambda: "-----BEGIN PUBLIC KEY-----",
    lambda: "-----BEGIN RSA PRIVATE KEY-----\nnot base64 at all!!\n-----END RSA PRIVATE KEY-----",
    lambda: (
        "access_token = eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
    ),
    lambda: (
        "trace = eyJ" + tok.rand(20) + ".eyJ" + tok.rand(20) + "." + tok.rand(30)
    ),  # does not decode
    lambda: "bundle: main.4e655edd8a1b2c3d.chunk.js",
    lambda: "pubkey: ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQD" + tok.rand(60) + " user@host",
    lambda: "customer_token = cus_" + tok.rand(24),
    lambda: (
        "env:\n  - name: DB_PASSWORD\n    valueFrom:\n      secretKeyRef: {name: db, key: password}\n"
    ),
    lambda: "  - name: LOG_LEVEL\n    value: debug\n",
    # prodshield's own event key and subject: a kind name and a finding's digest
    lambda: '{"key": "log:secret_in_log:2078cb3e0e1870802f0d:493452"}',
    lambda: '{"subject": "log:secret_in_log:2078cb3e0e1870802f0d"}',
]


@pytest.mark.parametrize("make", NEGATIVES, ids=[f"neg-{i}" for i in range(len(NEGATIVES))])
def test_near_miss_is_not_reported(make: Callable[[], str]) -> None:
    text = make()
    assert scan_text(text, path="x.txt") == [], text


def test_allow_comment_silences_a_line() -> None:
    token = tok.github_classic()
    assert scan_line(f"TOKEN={token}  # prodshield:allow") == []
    assert scan_line(f"TOKEN={token}")


def test_redacted_values_never_hold_the_secret() -> None:
    token = tok.stripe_restricted()
    (finding,) = scan_line(f"STRIPE={token}", path="a.env", lineno=3)
    assert token not in finding.redacted and token not in finding.snippet
    assert token not in finding.fingerprint and finding.line == 3 and finding.column == 8
    assert finding.redacted.startswith("rk_l")


def test_fingerprint_is_stable_and_path_scoped() -> None:
    line = f"x={tok.github_classic()}"
    a, b, c = scan_line(line, path="p"), scan_line(line, path="p"), scan_line(line, path="q")
    assert a[0].fingerprint == b[0].fingerprint != c[0].fingerprint


def test_registry_members_implement_the_protocol() -> None:
    assert len({r.type for r in RULES}) == len(RULES) == len(REGISTRY)
    for rule in RULES:
        assert isinstance(rule, SecretRule)
        assert rule.severity in ("critical", "high", "medium", "low")
        assert rule.description and rule.keywords
        assert all(kw == kw.lower() for kw in rule.keywords)


def test_pem_in_a_json_string_is_one_finding_without_key_material() -> None:
    pem = tok.pem_rsa()
    line = '{"private_key": "' + pem.replace("\n", "\\n") + '"}'
    (finding,) = scan_text(line)
    assert finding.kind == "private_key_rsa"
    body_line = pem.splitlines()[1]
    assert body_line[:20] not in finding.snippet


@pytest.mark.parametrize("engine", ["hyperscan", "re2", "python"])
def test_prefilter_engines_agree(engine: str) -> None:
    if engine == "re2":
        pytest.importorskip("re2", reason="google-re2 is an optional engine")
    from prodshield.secrets import Scanner, ScanSettings

    lines = [f"noise line {i} status=ok" for i in range(300)]
    planted = {17: tok.github_classic(), 120: tok.slack_bot(), 299: tok.aws_id()}
    for n, value in planted.items():
        lines[n] = f"INFO config token={value} done"
    text = "\n".join(lines) + "\n"
    scanner = Scanner(settings=ScanSettings(engine=engine))
    assert scanner.prefilter.name == engine
    found = scanner.scan_text(text, path="app.log")
    assert sorted(f.line for f in found) == [n + 1 for n in sorted(planted)]
    assert [f.line for f in scanner.scan_lines(lines)] == [f.line for f in found]
    assert scanner.scan_line(lines[17]) and not scanner.scan_line(lines[18])


def test_yaml_env_value_is_reported_on_its_own_line() -> None:
    pw = tok.password()
    text = f"env:\n  - name: DB_PASSWORD\n    value: '{pw}'\n  - name: MODE\n    value: fast\n"
    (finding,) = scan_text(text, path="deploy.yaml")
    assert (finding.line, finding.column, finding.kind) == (3, 13, "generic_password")
    assert pw not in finding.snippet and finding.snippet.startswith("value: '")


def test_one_scanner_shared_by_threads() -> None:
    """The log follower, the digest and web requests scan with one default scanner at once:
    each thread needs its own hyperscan scratch (one shared scratch fails with
    HS_SCRATCH_IN_USE, error code -10, and took the log service down with it)."""
    import threading

    from prodshield.secrets import Scanner, ScanSettings

    scanner = Scanner(settings=ScanSettings(engine="hyperscan"))
    lines = [f"noise {i} " + "x" * 150 for i in range(4000)]
    lines[1234] = f"INFO token={tok.github_classic()} done"
    text = "\n".join(lines) + "\n"
    found: list[list[int]] = []
    errors: list[str] = []

    def work() -> None:
        try:
            for _ in range(10):
                found.append([f.line for f in scanner.scan_text(text)])
                scanner.scan_line(lines[1234])
        except Exception as exc:
            errors.append(repr(exc))

    threads = [threading.Thread(target=work) for _ in range(6)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    assert errors == []
    assert found == [[1235]] * 60


def test_encoded_lines_with_lone_surrogates_or_bad_percent_bytes_do_not_break_a_scan() -> None:
    from prodshield.secrets import scan_text as scan

    token = tok.github_classic()
    escaped = "".join(f"\\u{ord(c):04x}" for c in token[:4]) + token[4:]
    text = f'a = "\\udfff\\ud83d %ff%fe"\nb = "{escaped}"\n'
    found = scan(text, path="x.json")
    assert [(f.kind, f.line) for f in found] == [("github_pat_classic", 2)]


def test_the_shells_working_directories_are_no_passwords() -> None:
    """audit secrets --environ read every process's PWD and OLDPWD as generic passwords."""
    from prodshield.secrets import Scanner
    from prodshield.secrets.places import environment_findings

    found = environment_findings(
        [("PWD", "/srv/shop/releases/20261205"), ("OLDPWD", "/home/deploy/checkouts/x9"),
         ("DB_PWD", "Zq8vN3xLp2Rt7Wk"), ("PWD", "Hj4kL8mN2pQ6rS")],
        pid=42, scanner=Scanner(),
    )  # fmt: skip
    # a PWD holding something else than a directory is still judged
    assert sorted(p.variable or "" for f in found for p in f.places) == ["DB_PWD", "PWD"]


@pytest.mark.parametrize("rule_type", sorted(REGISTRY))
def test_every_rule_reports_its_own_example(rule_type: str) -> None:
    """Each rule's `example` is a secret it finds, and the one finding is that rule's."""
    example = REGISTRY[rule_type].example
    (finding,) = scan_text(example["text"], path="example.txt")
    assert finding.rule == rule_type


def test_context_words_wake_the_twilio_and_discord_rules_only_beside_a_token() -> None:
    """Under hyperscan, ``auth`` (every sshd ``authentication failure`` line), ``sid``, ``sms``
    and ``bot`` wake the Twilio and Discord rules only on a line holding a token's shape: the
    same findings, wherever the word sits (before, after, inside the token), as with the
    pure-Python engine that never narrows; a line without a token is no candidate for them."""
    pytest.importorskip("hyperscan")
    import random

    from prodshield.secrets.engine import Scanner, ScanSettings

    fast, plain = Scanner(), Scanner(settings=ScanSettings(engine="python"))
    assert {"auth", "sid", "sms", "bot"} <= set(fast.prefilter_patterns)
    word = {k: fast.keywords.index(k) for k in ("auth", "sid", "sms", "bot")}
    for quiet in (
        "Jun 14 15:16:01 combo sshd(pam_unix)[19939]: authentication failure; rhost=10.1.2.3",
        "session sid=42 opened by bot crawler, sms queue 3 deep",
    ):
        assert not set(word.values()) & fast.prefilter.literals_in(quiet)  # type: ignore[attr-defined]
    rng = random.Random(5)
    lines: list[str] = []
    for _ in range(300):
        literal = rng.choice(list(word))  # and a token of a rule it wakes
        makers = {"sid": (tok.twilio,), "sms": (tok.twilio,), "bot": (tok.discord_bot,)}
        token = rng.choice(makers.get(literal, (tok.twilio, tok.discord_bot)))()
        if rng.random() < 0.3 and "." in token:  # the word inside one of the token's segments
            segs = token.split(".")
            k = rng.randrange(3)
            at = rng.randrange(1 if k == 0 else 0, len(segs[k]) - len(literal) + 1)
            segs[k] = segs[k][:at] + literal.upper() + segs[k][at + len(literal) :]
            line = f"deploy {'.'.join(segs)} done"
        elif rng.random() < 0.5:
            line = f"{literal} {rng.choice(('=', ':', ' for '))} {token} ok"
        else:
            line = f"using {token}, {literal.capitalize()} granted"
        lines.append(line)
        held = fast.prefilter.literals_in(line)  # type: ignore[attr-defined]
        assert literal not in line.lower() or word[literal] in held, line
    for line in lines:
        assert fast.scan_line(line) == plain.scan_line(line), line
    assert sum(bool(fast.scan_line(line)) for line in lines) > 200
