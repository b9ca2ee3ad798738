"""Private keys in PEM/OpenSSH/PGP armour, checked for a real base64 body of the right structure.

The body is read from the text after the BEGIN line (plain files, YAML block scalars, JSON strings
with ``\\n`` escapes). A lone BEGIN line (a log line cut short) is reported with lower confidence.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

from prodshield.secrets.finding import Severity
from prodshield.secrets.rules.base import Candidate, LineContext, b64decode_loose

_BEGIN = re.compile(
    r"-----BEGIN ((?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?)-----"
)
_KINDS = {
    "RSA PRIVATE KEY": "private_key_rsa",
    "PRIVATE KEY": "private_key_pkcs8",
    "ENCRYPTED PRIVATE KEY": "private_key_pkcs8",
    "EC PRIVATE KEY": "private_key_ec",
    "DSA PRIVATE KEY": "private_key_dsa",
    "OPENSSH PRIVATE KEY": "private_key_openssh",
    "PGP PRIVATE KEY BLOCK": "private_key_pgp",
}
_BASE64_CHUNK = re.compile(r"[A-Za-z0-9+/]{16,}={0,2}")
_HEADER = re.compile(r"^[A-Za-z-]+: ")
_SAME_LINE_BODY = re.compile(r"(?:\\[nr]|[A-Za-z0-9+/=\s:,-])*(?:-----END [A-Z ]+-----)?")


def _body(tail: str, begin_end: int) -> tuple[str, bool]:
    """The base64 characters after the BEGIN marker, up to END (or up to 8 KB of text), and
    whether an END marker was seen."""
    text = tail[begin_end : begin_end + 8192]
    end = text.find("-----END")
    if end != -1:
        text = text[:end]
    text = text.replace("\\n", "\n").replace("\\r", "")
    chunks: list[str] = []
    for raw in text.splitlines():
        piece = raw.strip().strip("\"',|")
        if not piece or _HEADER.match(piece) or piece.startswith("="):
            continue  # PEM/PGP headers (Proc-Type, Version) and the PGP CRC line
        match = _BASE64_CHUNK.search(piece)
        if match is None:
            if chunks:
                break
            continue
        chunks.append(match.group(0))
        if len(chunks) >= 4:
            break
    return "".join(chunks), end != -1


def _structure_ok(label: str, body: str) -> bool:
    usable = body[: len(body) - len(body) % 4]
    raw = b64decode_loose(usable[:64] if len(usable) >= 64 else usable)
    if raw is None or len(raw) < 12:
        return False
    if label == "OPENSSH PRIVATE KEY":
        return raw.startswith(b"openssh-key-v1\x00")
    if label == "PGP PRIVATE KEY BLOCK":
        return bool(raw[0] & 0x80)  # an OpenPGP packet tag
    return (raw[0] == 0x30 and raw[1] in (0x81, 0x82, 0x83)) or raw[:2] == b"\x30\x77"


@dataclass(frozen=True)
class PrivateKeyRule:
    type: str = "private-key"
    example: ClassVar[dict[str, str]] = {
        "text": "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEAeXl5eXl5eXl5eXl5eXl5eXl5eXl5eXl5eXl5eXl5eXl5eXl5\n-----END RSA PRIVATE KEY-----"  # prodshield:allow (a rule sample)
    }
    kind: str = "private_key"
    severity: Severity = "critical"
    keywords: tuple[str, ...] = ("private key",)
    description: str = "Private key (RSA, EC, DSA, OpenSSH, PKCS#8, PGP) with a valid body"

    def find(self, ctx: LineContext) -> Iterator[Candidate]:
        for match in _BEGIN.finditer(ctx.line):
            label = match.group(1)
            kind = _KINDS.get(label, "private_key")
            body, ended = _body(ctx.tail or ctx.line, match.end())
            if ended and not body:
                continue  # a complete block without key material: a template or a doc stub
            if body:
                if not _structure_ok(label, body):
                    continue
                confidence = 0.99
                value = body[:64]
            else:
                confidence = 0.6  # BEGIN line alone: the body is elsewhere or cut off
                value = match.group(0)
            # On a single line (JSON strings, env vars) the body follows the marker: cover it all,
            # so the snippet never shows key material.
            rest = _SAME_LINE_BODY.match(ctx.line, match.end())
            end = rest.end() if rest else match.end()
            yield Candidate(match.start(), end, value, confidence, kind=kind)


RULES = (PrivateKeyRule(),)
