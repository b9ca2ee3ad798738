"""Generators of format-valid (random, never live) credentials for the secret-scanner tests."""

from __future__ import annotations

import base64
import json
import random
import string
import zlib

from prodshield.secrets.rules.base import base62

ALNUM = string.ascii_letters + string.digits
_rnd = random.Random(20261125)


def rand(n: int, alphabet: str = ALNUM) -> str:
    return "".join(_rnd.choice(alphabet) for _ in range(n))


def with_crc(prefix: str) -> str:
    body = rand(30)
    return prefix + body + str(base62(zlib.crc32(body.encode())))


def github_classic() -> str:
    return with_crc("ghp_")


def github_oauth() -> str:
    return with_crc("gho_")


def npm_token() -> str:
    return with_crc("npm_")


def bad_checksum(token: str) -> str:
    last = token[-1]
    return token[:-1] + ("A" if last != "A" else "B")


def fine_grained() -> str:
    return "github_pat_11" + rand(20, string.ascii_uppercase + string.digits) + "_" + rand(59)


def aws_id() -> str:
    return "AKIA" + rand(16, string.ascii_uppercase + "234567")


def aws_secret() -> str:
    return rand(40, ALNUM + "/+")


def google_key() -> str:
    return "AIza" + rand(35, ALNUM + "_-")


def azure_conn() -> str:
    key = base64.b64encode(bytes(_rnd.randrange(256) for _ in range(64))).decode()
    return f"DefaultEndpointsProtocol=https;AccountName=acct{rand(4).lower()};AccountKey={key};EndpointSuffix=core.windows.net"


def gitlab() -> str:
    return "glpat-" + rand(20)


def slack_bot() -> str:
    return f"xoxb-{rand(12, string.digits)}-{rand(12, string.digits)}-{rand(24)}"


def slack_user() -> str:
    return f"xoxp-{rand(12, string.digits)}-{rand(12, string.digits)}-{rand(12, string.digits)}-{rand(32, '0123456789abcdef')}"


def slack_webhook() -> str:
    return f"https://hooks.slack.com/services/T{rand(10, string.ascii_uppercase + string.digits)}/B{rand(10, string.ascii_uppercase + string.digits)}/{rand(24)}"


def discord_bot() -> str:
    ident = base64.urlsafe_b64encode(rand(18, string.digits).encode()).decode().rstrip("=")
    return f"{ident}.{rand(6)}.{rand(27)}"


def telegram() -> str:
    return f"{rand(9, string.digits)}:AA{rand(33)}"


def stripe_live() -> str:
    return "sk_live_" + rand(24)


def stripe_restricted() -> str:
    return "rk_live_" + rand(99)


def sendgrid() -> str:
    return f"SG.{rand(22)}.{rand(43)}"


def twilio() -> str:
    return "SK" + rand(32, "0123456789abcdef")


def mailgun() -> str:
    return "key-" + rand(32, "0123456789abcdef")


def pypi() -> str:
    return "pypi-AgEIcHlwaS5vcmc" + rand(120, ALNUM + "_-")


def openai() -> str:
    return "sk-proj-" + rand(40) + "T3BlbkFJ" + rand(40)


def jwt() -> str:
    def seg(obj: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

    return f"{seg({'alg': 'HS256', 'typ': 'JWT'})}.{seg({'sub': rand(8, string.digits), 'role': 'admin'})}.{rand(43, ALNUM + '_-')}"


def pem_rsa() -> str:
    der = b"\x30\x82\x04\xa4\x02\x01\x00\x02\x82\x01\x01\x00" + bytes(
        _rnd.randrange(256) for _ in range(180)
    )
    body = base64.b64encode(der).decode()
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return (
        "-----BEGIN RSA PRIVATE KEY-----\n" + "\n".join(lines) + "\n-----END RSA PRIVATE KEY-----"
    )


def pem_openssh() -> str:
    raw = b"openssh-key-v1\x00" + bytes(_rnd.randrange(256) for _ in range(150))
    body = base64.b64encode(raw).decode()
    lines = [body[i : i + 70] for i in range(0, len(body), 70)]
    return (
        "-----BEGIN OPENSSH PRIVATE KEY-----\n"
        + "\n".join(lines)
        + "\n-----END OPENSSH PRIVATE KEY-----"
    )


def password() -> str:
    return rand(6, string.ascii_letters) + rand(4, string.digits) + "!"
