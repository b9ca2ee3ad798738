"""Generic secrets: values assigned to secret-like names, in any config or source syntax.

Covers ``name = value`` / ``name: value`` / ``"name": "value"`` / ``name => value`` (.env, YAML, JSON,
TOML, INI, properties, shell, Python, JS, log key=value pairs and query strings), XML
``key="name" value="..."`` / ``<entry key="name">...</entry>`` / ``<name>...</name>``, command-line
flags (``--api-token VALUE``) and ``echo VALUE | docker login --password-stdin``.
Passwords need only look like passwords; other names need a random-looking value.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

from prodshield.secrets.filters import (
    HEX_RE,
    has_placeholder_word,
    is_hash_length_hex,
    is_not_secret_value,
    shannon_entropy,
)
from prodshield.secrets.finding import Severity
from prodshield.secrets.rules.base import Candidate, LineContext, char_classes

_VALUE = r"""(?:(?P<q>["'`])(?P<qv>[^"'`\n]{1,512})(?P=q)|(?P<v>[^\s"'`,;<>(){}\[\]]{1,512}))"""
_ASSIGN = re.compile(
    r"(?<![\w.$-])(?P<name>[A-Za-z_$][\w.$-]{0,80}?)(?P<nq>[\"']?)(?P<ws>\s*)(?P<sep>:=|=>|=|:)[ \t]*(?:[!&*]\w+\s+)?"
    + _VALUE
)
_XML_ATTR = re.compile(
    r"""(?:key|name)\s*=\s*["'](?P<name>[\w.$-]{1,80})["']\s+value\s*=\s*""" + _VALUE
)
_XML_ATTR_REVERSED = re.compile(
    r"""value\s*=\s*(?P<q>["'])(?P<qv>[^"'\n]{1,512})(?P=q)\s+(?:key|name)\s*=\s*["'](?P<name>[\w.$-]{1,80})["']"""
)
# `aws configure set NAME VALUE`, `npm config set NAME VALUE`, `heroku config:set`, `git config NAME VALUE`
_SET = re.compile(
    r"(?:\bset|\bconfig)\s+(?:--\w+\s+)*(?P<name>[A-Za-z_][\w.:/-]{0,80})\s+" + _VALUE
)
# {"name": "DB_PASSWORD", "value": "..."} (ECS task definitions, Helm values, JSON env lists)
_NAME_VALUE = re.compile(
    r"""\bname["']?\s*[:=]\s*["'](?P<name>[\w.$-]{1,80})["']\s*[,;]?\s*["']?value["']?\s*[:=]\s*"""
    + _VALUE
)
# Kubernetes env lists: "- name: DB_PASSWORD" and, on the next line, "value: ..."
_YAML_NAME_LINE = re.compile(r"""^\s*-?\s*name:\s*["']?(?P<name>[\w.$-]{1,80})["']?\s*$""")
_YAML_VALUE_LINE = re.compile(r"""^(?P<indent>\s*)value:\s*""" + _VALUE + r"\s*$")
# .netrc / _netrc: "machine HOST login USER password VALUE"
_NETRC = re.compile(r"\bmachine\s+\S+.*?\b(?P<name>password)\s+" + _VALUE)
_XML_ENTRY = re.compile(
    r"""<(?:entry|add|property|param)\s+(?:key|name)\s*=\s*["'](?P<name>[\w.$-]{1,80})["']\s*>(?P<v>[^<\n]{1,512})<"""
)
_XML_ELEMENT = re.compile(r"<(?P<name>[A-Za-z_][\w.-]{0,60})>(?P<v>[^<\n]{1,512})</(?P=name)>")
_FLAG = re.compile(r"(?<!\S)--?(?P<name>[A-Za-z][\w-]{1,60})(?:=|[ \t]+)" + _VALUE)
_STDIN = re.compile(
    r"""echo\s+(?:-n\s+)?(?:(?P<q>["'])(?P<qv>[^"'\n]{1,512})(?P=q)|(?P<v>[^\s|]{1,512}))\s*\|[^\n]*--password-stdin"""
)

# Each form with a literal the line must contain for the (costlier) regex to be worth running.
_PATTERNS: tuple[tuple[re.Pattern[str], tuple[str, ...]], ...] = (
    (_ASSIGN, ()),
    (_XML_ATTR, ("value",)),
    (_XML_ATTR_REVERSED, ("value",)),
    (_XML_ENTRY, ("<",)),
    (_XML_ELEMENT, ("</",)),
    (_FLAG, ("-",)),
    (_SET, ("set", "config")),
    (_NAME_VALUE, ("value",)),
    (_NETRC, ("machine",)),
)
_MAX_MATCHES_PER_LINE = 400
# Names ending in "key" are only secret-like with a qualifier (api_key, apiKey, auth.key...): a bare
# "key" is a cache key, a sort key or a dict key far more often, and would wake the rule on a
# large share of log lines.
KEY_FORMS = (
    "_key", "-key", ".key", "apikey", "authkey", "accesskey", "secretkey", "privatekey",
    "signingkey", "masterkey", "encryptionkey", "clientkey", "sessionkey", "servicekey",
    "stripekey", "gcpkey", "licensekey", "appkey", "userkey",
)  # fmt: skip
_PASSWORD_WORDS = ("password", "passwd", "passphrase", "pwd")
_SECRET_WORDS = (
    "secret", "token", "apikey", "credential", "privatekey", "authkey", "accesskey",
    "signingkey", "encryptionkey", "masterkey", "sessionkey", "clientkey", "bearer",
)  # fmt: skip
_STRONG_WORDS = ("secret", "password", "passwd", "pwd", "signing", "private", "bearer")
_NAME_TOKEN_STOP = frozenset(
    {
        "id", "ids", "uuid", "guid", "hash", "md5", "sha", "sha1", "sha256", "sha512", "digest",
        "checksum", "integrity", "commit", "etag", "public", "pub", "pubkey", "file", "files",
        "path", "dir", "url", "uri", "host", "length", "len", "min", "max", "policy", "reset",
        "type", "method", "mode", "name", "names", "field", "header", "expires", "expiry",
        "expiration", "ttl", "timeout", "size", "count", "format", "version", "enabled", "enable",
        "disable", "rotation", "required", "provider", "endpoint", "algorithm", "alg", "stdin",
        "env", "prefix", "suffix", "label", "hint", "description", "regex", "pattern", "example",
        "placeholder", "fingerprint", "kid", "index", "cache", "limit", "store", "location",
        "ref", "manager", "strength", "validation", "use", "usage", "display", "lifetime",
    }
)  # fmt: skip
_NAME_SUBSTR_STOP = (
    "publishable", "keyboard", "monkey", "keyspace", "keystore", "keyfile", "tokenizer",
    "passwordless", "forgot", "author", "hotkey", "turkey", "whiskey", "jockey",
)  # fmt: skip
_CAMEL = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
_AWS_SECRET = re.compile(r"^[A-Za-z0-9/+]{40}$")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z_.]*$")
_NUMBER = re.compile(r"^[0-9.:+-]+$")
_CAMEL_WORDS = re.compile(r"^_?(?:[A-Z]+[a-z]*)+$")  # ReadableBuffer, HTTPPasswordMgr: type names
# An identifier made of a kind name and a hex digest, joined by a bare colon, such as the event keys
# prodshield itself sends (``log:secret_in_log:2078cb3e0e1870802f0d``, an hour number after it in
# the key): the name says what the digest is about, it does not hold a secret.
_KIND_NAME = re.compile(r"[a-z][a-z0-9]*(?:[_-][a-z0-9]+)+")
_KIND_DIGEST = re.compile(r"[0-9a-f]{8,64}(?::[0-9]+)?")
# Last words that make a name the secret's own (api_key, db_pass, client_secret), not a kind.
_SECRET_LAST_WORDS = ("key", "salt", "pat", "pass", "pw", "auth")
# Files where an unquoted value is code (a variable, a call, a type annotation), not a literal.
SOURCE_SUFFIXES = (
    ".py", ".pyi", ".js", ".jsx", ".ts", ".tsx", ".mjs", ".cjs", ".go", ".java", ".kt", ".scala",
    ".rb", ".php", ".cs", ".swift", ".rs", ".c", ".h", ".cc", ".cpp", ".hpp", ".m", ".dart", ".lua",
)  # fmt: skip


def _name_tokens(name: str) -> list[str]:
    return [t.lower() for t in _CAMEL.findall(name)]


@functools.lru_cache(maxsize=8192)
def classify_name(name: str) -> str | None:
    """'password', 'secret' or None for a variable/key name."""
    tokens = _name_tokens(name)
    if not tokens:
        return None
    flat = "".join(tokens)
    last = _name_tokens(name.rsplit(".", 1)[-1]) or tokens
    if any(t in _NAME_TOKEN_STOP for t in last[-2:]) or any(s in flat for s in _NAME_SUBSTR_STOP):
        return None
    # A bare "pass" is English or a test status ("PASS: ..."): only db_pass, dbPass... count.
    if any(w in flat for w in _PASSWORD_WORDS) or (
        len(tokens) > 1 and tokens[-1] in ("pass", "pw")
    ):
        return "password"
    if any(w in flat for w in _SECRET_WORDS) or (
        tokens[-1] == "auth" or (len(tokens) > 1 and tokens[-1] in ("key", "salt", "pat"))
    ):
        return "secret"
    return None


def _is_kind_key(match: re.Match[str], name: str, value: str) -> bool:
    """True for ``kind_name:digest`` (a bare colon, unquoted, lowercase) whose name is about a secret
    (``secret_in_log``) rather than the secret's own name (``client_secret``, ``api_token``)."""
    groups = match.groupdict()
    if groups.get("sep") != ":" or groups.get("ws") or groups.get("nq"):
        return False
    if match.end("sep") != match.start("v") or not _KIND_NAME.fullmatch(name):
        return False
    if not _KIND_DIGEST.fullmatch(value):
        return False
    last = _name_tokens(name)[-1]
    return last not in _SECRET_LAST_WORDS and classify_name(last) is None


def _strong(name: str) -> bool:
    flat = name.lower()
    return any(w in flat for w in _STRONG_WORDS)


def _looks_like_identifier(value: str) -> bool:
    if not _IDENTIFIER.match(value):
        return False
    upper = sum(c.isupper() for c in value)
    return "." in value or "_" in value or upper < 0.3 * len(value)


# Prefixes owned by provider rules: a value carrying one either passed that rule's validation
# (and was reported by it) or failed it (a bad checksum, a truncated example): never generic.
_PROVIDER_PREFIXES = (
    "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "npm_", "glpat-", "xoxb-", "xoxp-",
    "xoxa-", "xapp-", "sk_live_", "rk_live_", "sk_test_", "rk_test_", "pk_live_", "pk_test_",
    "pypi-", "akia", "asia", "aiza", "sg.", "eyj",
)  # fmt: skip


def _password_ok(value: str) -> float | None:
    if not 6 <= len(value) <= 200 or " " in value or value.endswith(":"):
        return None
    if _looks_like_identifier(value) or _CAMEL_WORDS.match(value):
        return None
    lowered = value.lower()
    if ("password" in lowered or "passwd" in lowered) and not any(c.isdigit() for c in value):
        return None
    has_alpha = any(c.isalpha() for c in value)
    has_digit = any(c.isdigit() for c in value)
    has_symbol = any(not c.isalnum() for c in value)
    if not has_alpha or _NUMBER.match(value):
        return None
    if has_digit or (has_symbol and not _IDENTIFIER.match(value)):
        return 0.8
    if len(value) >= 12 and char_classes(value) >= 2 and shannon_entropy(value) >= 3.0:
        return 0.7
    return None


def _secret_ok(value: str, name: str) -> float | None:
    if not 16 <= len(value) <= 512 or " " in value:
        return None
    if value.startswith(("/", "./", "~/", "http:", "https:")) or "://" in value:
        return None
    if _looks_like_identifier(value):
        return None  # a variable or attribute name, not a value
    strong = _strong(name)
    if HEX_RE.match(value):
        if is_hash_length_hex(value) and not strong:
            return None  # object ids and MD5/SHA-1/SHA-256 digests look exactly like this
        return 0.75 if shannon_entropy(value) >= 3.0 else None
    if char_classes(value) < 2 or shannon_entropy(value) < 3.3:
        return None
    if not strong and len(value) <= 32 and value.isalnum():
        return None  # short alphanumerics under "key"/"token"/"id"-ish names are mostly ids
    return 0.8


@dataclass(frozen=True)
class GenericAssignmentRule:
    type: str = "generic-secret"
    example: ClassVar[dict[str, str]] = {
        "text": "DB_PASSWORD=sJWYoI4561!"  # prodshield:allow (a rule sample)
    }
    kind: str = "generic_secret"
    severity: Severity = "medium"
    # Literal forms of the names this rule accepts; bare "pass" and "auth" would wake it on every
    # "PASS:" test line and every "author", so only their assignment-shaped forms are listed.
    keywords: tuple[str, ...] = (
        "password", "passwd", "passphrase", "pwd", "_pass", "-pass", ".pass", "dbpass", "secret",
        "token", *KEY_FORMS, "auth=", "auth:", "auth\"", "auth'", "auth_", "auth-", "credential",
        "salt", "bearer", "machine",
    )  # fmt: skip
    description: str = "High-entropy value or password assigned to a secret-like name"

    def find(self, ctx: LineContext) -> Iterator[Candidate]:
        line = ctx.line
        source = bool(ctx.path) and str(ctx.path).lower().endswith(SOURCE_SUFFIXES)
        low = ctx.lower
        for pattern, needle in _PATTERNS:
            if needle and not any(n in low for n in needle):
                continue
            position = 0
            for _ in range(_MAX_MATCHES_PER_LINE):  # bounded: minified lines hold thousands
                match = pattern.search(line, position)
                if match is None:
                    break
                candidate = self._judge(line, match, match.group("name"), source)
                if candidate is not None:
                    yield candidate
                    position = candidate.end
                    continue
                # A value can hold further assignments (a URL with ?api_key=...): rescan it,
                # but only when it could (otherwise the scan would go quadratic).
                value_group = "qv" if match.groupdict().get("qv") is not None else "v"
                value = match.group(value_group) or ""
                if any(c in value for c in "=:?&"):
                    position = max(match.start(value_group), match.start() + 1)
                else:
                    position = max(match.end(), match.start() + 1)
        if ctx.tail and "name:" in low:
            yield from self._name_then_value(ctx)
        if "--password-stdin" in line:
            for match in _STDIN.finditer(line):
                candidate = self._judge(line, match, "stdin", False)
                if candidate is not None:
                    yield candidate

    def _name_then_value(self, ctx: LineContext) -> Iterator[Candidate]:
        """A finding on the name line when the next line holds its value."""
        named = _YAML_NAME_LINE.match(ctx.line)
        if named is None or classify_name(named.group("name")) is None:
            return
        following = ctx.tail.split("\n", 2)
        if len(following) < 2:
            return
        value_line = following[1].rstrip("\r")
        match = _YAML_VALUE_LINE.match(value_line)
        if match is None:
            return
        candidate = self._judge(value_line, match, named.group("name"), False)
        if candidate is not None:
            yield Candidate(
                candidate.start,
                candidate.end,
                candidate.value,
                candidate.confidence,
                kind=candidate.kind,
                line_offset=1,
                other_line=value_line,
            )

    def _judge(self, line: str, match: re.Match[str], name: str, source: bool) -> Candidate | None:
        groups = match.groupdict()
        group = "qv" if groups.get("qv") is not None else "v"
        value = match.group(group)
        if value is None:
            return None
        loose_colon = groups.get("sep") == ":" and groups.get("ws") and not groups.get("nq")
        start, end = match.start(group), match.end(group)
        if group == "v":
            trimmed = _unquoted(line, match, value, source)
            if trimmed is None:
                return None
            value, end = trimmed
        category = "stdin" if name == "stdin" else classify_name(name)
        if category is None or not value:
            return None
        if group == "v" and match.re is _ASSIGN and _is_kind_key(match, name, value):
            return None
        # Cheap shape gates before the costlier filters.
        if len(value) < 6 or (category == "secret" and len(value) < 16):
            return None
        if category == "password" and (" " in value or len(value) > 200):
            return None
        if is_not_secret_value(value) or has_placeholder_word(value):
            return None
        if value.lower().startswith(_PROVIDER_PREFIXES):
            return None
        if category == "stdin":  # echo VALUE | docker login --password-stdin
            category = "password" if len(value) < 16 else "secret"
            name = "piped"
        if category == "password":
            if loose_colon:
                return None  # "pass :ref:" in prose; YAML and JSON keys hug their colon
            confidence = _password_ok(value)
            kind = "generic_password"
        else:
            confidence = _secret_ok(value, name)
            kind = "generic_secret"
            flat = re.sub(r"[^a-z]", "", name.lower())
            if _AWS_SECRET.match(value) and (
                "aws" in flat or "accesskey" in flat or flat.endswith("secretkey")
            ):
                kind = "aws_secret_access_key"
        if confidence is None:
            return None
        return Candidate(start, end, value, confidence, kind=kind)


def _unquoted(line: str, match: re.Match[str], value: str, source: bool) -> tuple[str, int] | None:
    """An unquoted value trimmed (a query string's next parameter, a sentence's full stop) and its
    end, or None when it is code rather than a value."""
    if source and match.re is not _STDIN:
        return None  # unquoted in source code: a variable, a call or an annotation
    start, end = match.start("v"), match.end("v")
    if end < len(line) and line[end] in "([":
        return None  # a call or subscript: getenv("X"), os.environ["X"]
    before = line[match.start() - 1] if match.start() > 0 else ""
    if before in "?&" and "&" in value:
        value = value.split("&", 1)[0]
    value = value.rstrip(".\\")
    return value, start + len(value)


RULES = (GenericAssignmentRule(),)
