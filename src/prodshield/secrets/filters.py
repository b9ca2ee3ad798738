"""Values that look like secrets but are not: placeholders, references, examples, ids and hashes."""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter

# Keys published in vendor documentation (AWS, jwt.io, Slack...): never real credentials.
DOCUMENTED_EXAMPLES: frozenset[str] = frozenset(
    {
        "AKIAIOSFODNN7EXAMPLE",
        "AKIAI44QH8DHBEXAMPLE",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY",
        "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
    }
)
_EXAMPLE_MARKERS = (
    "example", "xxxxx", "00000000", "not-a-real", "notareal", "your_", "your-",
    # jwt.io's sample payload {"sub":"1234567890","name":"John Doe","iat":1516239022}
    "eyjzdwiioiixmjm0nty3odkwiiwibmftzsi6ikpvag4grg9liiwiawf0ijoxnte2mjm5mdiyfq",
)  # fmt: skip

# Words that mark a value as a stand-in rather than a credential.
_PLACEHOLDER_WORDS = frozenset(
    {
        "changeme", "change", "placeholder", "example", "sample", "dummy", "fake", "mock",
        "test", "testing", "tests", "todo", "fixme", "tbd", "redacted", "masked", "filtered",
        "hidden", "removed", "secret", "password", "passwd", "token", "apikey", "your", "yours",
        "insert", "here", "replace", "enter", "none", "null", "nil", "undefined", "true",
        "false", "empty", "default", "foo", "bar", "baz", "xxx", "xxxx", "letmein", "stub",
        "sensitive", "omitted", "notset", "unset", "required", "value", "string", "key",
    }
)  # fmt: skip
_WORD_RE = re.compile(r"[A-Za-z]+")

_REFERENCE_RE = re.compile(
    r"""^\$[{(]?[A-Za-z_]|\$\{\{|\{\{.*\}\}|^<%|%\([A-Za-z_]+\)s|^%[A-Za-z_]+%$
    |getenv\(|os\.environ|process\.env|ENV\[|env\(|\bfile\(|^!secret\b|^!vault|lookup\(
    |^vault:|^secretsmanager:|^ssm:|^arn:aws:|^\{\{|^<[^>]*>$|^\[[A-Z _-]+\]$""",
    re.VERBOSE,
)
_MASK_RE = re.compile(r"^(?:[*•xX#._-]{3,}|.*\*{3,}.*|.*•{2,}.*)$")
UUID_RE = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)
HEX_RE = re.compile(r"^[0-9a-fA-F]+$")
_HASH_PREFIX_RE = re.compile(r"^(?:sha(?:1|224|256|384|512)|md5|blake2b?|sha3-\d+)[:-]", re.I)
# Object ids of payment/event APIs (cus_..., evt_..., req_...): identifiers, not credentials.
_OBJECT_ID_RE = re.compile(
    r"^(?:cus|evt|req|txn|ch|pi|py|pm|po|sub|si|in|ii|il|prod|price|acct|src|seti|tr|re|dp|file|"
    r"cs|ord|inv|usr|user|msg|job|run|sess|trace|span|obj|id|doc|img|bt|ba|card|plan|coupon)_[A-Za-z0-9]{6,}$"
)
_IMAGE_DATA_RE = re.compile(r"^data:[\w/+.-]+;base64,", re.I)
_BASE64_JSON_RE = re.compile(r"^eyJ[A-Za-z0-9+/]*=*$")  # a whole base64-encoded JSON document
_ASSET_RE = re.compile(r"\.(?:js|css|map|png|svg|jpe?g|gif|woff2?|html?|json|ya?ml|txt|log)$", re.I)


def shannon_entropy(value: str) -> float:
    """Bits per character of the value's own character distribution."""
    if not value:
        return 0.0
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in Counter(value).values())


def is_documented_example(value: str) -> bool:
    if value in DOCUMENTED_EXAMPLES:
        return True
    low = value.lower()
    return any(marker in low for marker in _EXAMPLE_MARKERS)


def is_reference(value: str) -> bool:
    """An indirection (env var, template, vault lookup), not the secret itself."""
    return bool(_REFERENCE_RE.search(value))


def is_masked(value: str) -> bool:
    return bool(_MASK_RE.match(value))


def has_placeholder_word(value: str) -> bool:
    """True when a word of the value says it is a stand-in (``YOUR_API_KEY``, ``test-token``)."""
    return any(word.lower() in _PLACEHOLDER_WORDS for word in _WORD_RE.findall(value))


_FILLERS = ("changeme", "setme", "replaceme", "fillme", "fillin", "typehere", "putyour")


def is_sequential(value: str) -> bool:
    """Keyboard-walk fillers such as ``1234567890abcdef`` or ``abc123``: mostly ascending runs."""
    covered = 0
    run = 1
    for previous, current in itertools.pairwise(value):
        if ord(current) == ord(previous) + 1:
            run += 1
            continue
        if run >= 3:
            covered += run
        run = 1
    if run >= 3:
        covered += run
    return covered * 2 >= len(value)


def is_low_variety(value: str) -> bool:
    """Runs like ``aaaaaaaa`` or ``abcabcabc`` (few distinct characters)."""
    return len(set(value)) <= max(2, len(value) // 8)


def is_not_secret_value(value: str) -> bool:
    """Common exclusions shared by every rule: references, masks, examples, ids, hashes, data URIs."""
    return (
        is_reference(value)
        or is_masked(value)
        or is_documented_example(value)
        or bool(UUID_RE.match(value))
        or bool(_HASH_PREFIX_RE.match(value))
        or bool(_IMAGE_DATA_RE.match(value))
        or bool(_OBJECT_ID_RE.match(value))
        or bool(_BASE64_JSON_RE.match(value) and value.endswith("="))
        or bool(_ASSET_RE.search(value))
        or is_low_variety(value)
        or is_sequential(value)
        or any(f in re.sub(r"[^a-z]", "", value.lower()) for f in _FILLERS)
    )


def is_hash_length_hex(value: str) -> bool:
    """Hex of the length of an object id or a digest: MongoDB ids, MD5, git SHA-1, SHA-256."""
    return len(value) in (24, 32, 40, 64) and bool(HEX_RE.match(value))
