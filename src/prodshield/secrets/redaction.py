"""The one redaction pass for text that came from outside (log lines, targets, audited files).

`redact_text` masks what the engine's rules find (tokens, keys, DSNs) and the shapes a log line
carries credentials in without a recognisable token: ``password=...``, JSON ``"password": "..."``,
URL userinfo (``scheme://user:pass@``, ``redis://:pass@``), ``Authorization:`` and
``Cookie:``/``Set-Cookie:`` values, and an AWS secret key written next to its key id. Values the
caller knows to be secret (a notifier's token) are masked wherever they occur.

Every string derived from outside goes through it before it is stored, shown, printed or sent;
there is no second redaction function to keep in step. The operator's own secret formats
(shield.yaml ``audit.secrets.rules``) join the engine's rules here once a config is loaded
(`use_rules`, called by `prodshield.config.load_config`), so log lines, findings and
notifications mask them too.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from itertools import accumulate
from typing import TYPE_CHECKING

from prodshield.secrets.finding import SecretFinding, redact

if TYPE_CHECKING:
    from prodshield.secrets.engine import Scanner
    from prodshield.secrets.rules.base import SecretRule

MASK = "***"

# Where the engine says a secret starts, it ends at the first of these.
_TOKEN_END = re.compile(r"[\s\"'`,;)}\]>@]")

# name=value / name: value / "name": "value", where the name ends in a secret-ish word. Searched
# from the word (``_NAMED_KEY``), then the name's start is found by walking back at most
# ``_NAME_MAX`` word characters: a leading lazy ``[\w.-]*?`` was quadratic on long words (a 6,000
# character line took 3 s).
_SECRET_NAME = (
    r"(?:password|passwd|passphrase|pwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key"
    r"|credentials?|client[_-]?secret)s?[\"']?\s*[=:]"
)
_NAMED_KEY = re.compile(r"(?i)" + _SECRET_NAME + r"\s*")
_NAMED_VALUE = re.compile(
    r"""(?x)
    "(?:[^"\\\n]|\\.)*"|'[^'\n]*'|[^\s,;&"'}\]]*…\[[0-9a-f]{8}\]|[^\s,;&"'}\]]+
    """
)
_NAME_MAX = 48
# What `redact` made of a value of 16 characters or more in an earlier pass (the engine's rules,
# a token shape): its first four characters and a fingerprint. Kept after a name
# (``token=ghp_…[84958365]``), so a `logs parse` line can be matched with the finding `logs scan`
# lists; after a password's name, or shorter, it still becomes ``***`` (a fingerprint of a value
# a person chose is easier to guess).
_REDACTED_TOKEN = re.compile(r"[^\s…]{4}…\[[0-9a-f]{8}\]")
_PASSWORD_NAME = re.compile(r"(?i)pass(?:word|wd|phrase)|pwd")
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")
# scheme://user:password@ (the user may be empty: redis://:pw@host).
_USERINFO = re.compile(
    r"(?i)(?<![\w+.-])([a-z][a-z0-9+.-]{0,30}://[^\s:/@\"'<>`]{0,256}:)([^\s/@\"'<>`]{1,1024})(@)"
)
# Authorization / Proxy-Authorization: keep the scheme word, mask the rest of the value (up to
# the closing quote when the header is quoted, as in JSON; else to the end of the line).
_AUTH = re.compile(
    r"""(?ix)
    (?P<name>\b(?:proxy-)?authorization(?P<q>["'])?\s*[:=]\s*(?(q)["']|))
    (?:(?P<scheme>bearer|basic|token|digest|negotiate|ntlm|aws4-hmac-sha256|apikey)\s+)?
    (?P<value>(?(q)[^"'\r\n]+|[^\r\n]+))
    """
)
# Cookie / Set-Cookie: every name=value pair's value.
_COOKIE = re.compile(r"(?i)(\b(?:set-)?cookie[\"']?\s*[:=]\s*[\"']?)([^\"'\r\n]*)")
_COOKIE_PAIR = re.compile(r"([^\s=;,]+=)([^;,\s]*)")
# An AWS key id followed (within a few separators) by a 40-character secret key.
_AWS_PAIR = re.compile(
    r"\b((?:AKIA|ASIA|ABIA|ACCA)(?:[A-Z0-9]{16}|…\[[0-9a-f]{8}\])[\s:=,;|/\"']{1,6})([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+])"
)
# Token shapes masked without the rules' validation (a notifier's own token in an error message).
_TOKEN_SHAPES = re.compile(
    r"(gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|xox[abposr]-[A-Za-z0-9-]{10,}"
    r"|hooks\.slack\.com/services/[A-Za-z0-9/]+)"
)
# Every text the shape passes below could change holds the start of a token shape or of an AWS
# key id, ``://`` (URL userinfo), an Authorization or Cookie header, or a name ``_NAMED_KEY``
# ends with followed by its ``=``/``:``. ``_may_hold_shape`` checks exactly that with ``in``
# tests and anchored matches: a caseless alternation searched at every position cost more than
# the rest of the pass on a line without secrets.
_GH = re.compile(r"gh[pousr]_|github_pat_")
_NAME_ENDS = ("password", "passwd", "passphrase", "pwd", "secret", "token", "key", "credential")
_AFTER_NAME = re.compile(r"s?[\"']?\s*[=:]")
_GATE_LITERALS = (
    "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "xox", "hooks.slack.com/", "akia", "asia", "abia", "acca", "://", "authorization",
    "cookie", *_NAME_ENDS,
)  # fmt: skip


def _may_hold_shape(text: str) -> bool:
    """False when none of the shape passes can change ``text``."""
    if "gh" in text and _GH.search(text):
        return True
    if "xox" in text or "hooks.slack.com/" in text:
        return True
    if "AKIA" in text or "ASIA" in text or "ABIA" in text or "ACCA" in text:
        return True
    low = text.lower()
    if ("://" in low and "@" in low) or "authorization" in low or "cookie" in low:
        return True
    match = _AFTER_NAME.match
    for name in _NAME_ENDS:
        at = low.find(name)
        while at >= 0:
            if match(low, at + len(name)):
                return True
            at = low.find(name, at + 1)
    return False


def _only_placeholders(value: str) -> bool:
    """``value`` is a template's variables and punctuation (``<*>``, ``"<*>"``, ``<*>:<*>``): no
    character of a secret, and masking it would lose the ``<*>`` its parameter stands for."""
    return "<*>" in value and not any(c.isalnum() for c in value.replace("<*>", ""))


# An object as Java prints it, class name and identity hash (Android's
# ``mToken=Token{a1b2c3 ActivityRecord{...}}``): the value stops at the space or brace after the
# hash, and 8 hex digits or fewer are no secret. In a template the hash is a variable
# (``Token{<*>``): the same object's name, kept as the line's was (masking it lost the ``<*>``
# its parameter stands for).
_OBJECT_NAME = re.compile(r"[A-Z][A-Za-z0-9_$]*\{(?:[0-9a-f]{1,8}|<\*>)")


def _masked_named(name: str, value: str) -> str:
    """What ``name`` + ``value`` becomes: the value masked unless it is plainly not a secret."""
    if _only_placeholders(value):  # a template's password=<*>: the parameter is masked instead
        return name + value
    if _OBJECT_NAME.fullmatch(value):  # token=Token{a1b2c3 ...}: an object's name, no secret
        return name + value
    if value.isdigit() and len(value) < 6:  # "secrets: 3" in a report, not a credential
        return name + value
    prose = name.rstrip().endswith(":") and value.isalpha()
    if prose and (value.islower() or len(value) < 6):  # "Bad credentials: the token is..."
        return name + value
    quoted = value[:1] in "\"'" and len(value) >= 2 and value[-1] == value[0]
    shown = value[1:-1] if quoted else value
    if _REDACTED_TOKEN.fullmatch(shown) and not _PASSWORD_NAME.search(name):
        return name + value
    if quoted:
        return name + value[0] + MASK + value[0]
    if value.startswith(MASK):
        return name + value
    return name + MASK


def _sub_named(text: str) -> str:
    out: list[str] = []
    done = 0  # text[:done] is already in out
    pos = 0
    while True:
        key = _NAMED_KEY.search(text, pos)
        if key is None:
            break
        value = _NAMED_VALUE.match(text, key.end())
        if value is None:
            pos = key.end()
            continue
        start = key.start()
        floor = max(done, key.start() - _NAME_MAX)
        while start > floor and text[start - 1] in _NAME_CHARS:
            start -= 1
        if start > done and text[start - 1] in "\"'":
            start -= 1
        out.append(text[done:start])
        out.append(_masked_named(text[start : key.end()], value.group(0)))
        done = pos = value.end()
    out.append(text[done:])
    return "".join(out)


def _mask_auth(m: re.Match[str]) -> str:
    if _only_placeholders(m.group("value")):
        return m.group(0)
    scheme = m.group("scheme")
    return m.group("name") + (scheme + " " if scheme else "") + MASK


def _mask_cookie(m: re.Match[str]) -> str:
    return m.group(1) + _COOKIE_PAIR.sub(lambda p: p.group(1) + MASK, m.group(2))


_custom_scanner: Scanner | None = None


def use_rules(rules: Sequence[SecretRule]) -> None:
    """Make the redaction pass also mask what `rules` find (the operator's own formats from
    shield.yaml); an empty sequence goes back to the shipped rules only. Called when a config is
    loaded: the rules are the process's trusted configuration, the same for every caller."""
    global _custom_scanner
    if not rules:
        _custom_scanner = None
        return
    from prodshield.secrets.engine import Scanner, rule_set

    _custom_scanner = Scanner(rules=rule_set(rules))


def _engine_pass(line: str) -> str:
    if _custom_scanner is not None:
        found = _custom_scanner.scan_line(line)
    else:
        from prodshield.secrets.engine import scan_line

        found = scan_line(line)
    return _masked_findings(line, found) if found else line


def _masked_findings(line: str, found: Sequence[SecretFinding]) -> str:
    """``line`` with each engine finding masked from its column to the token's end."""
    out = line
    for match in sorted(found, key=lambda f: -(f.column or 0)):
        start = max(0, (match.column or 1) - 1)
        end_match = _TOKEN_END.search(out, start)
        end = end_match.start() if end_match else len(out)
        if end > start:
            out = out[:start] + match.redacted + out[end:]
    return out


def redact_text(text: str, known: Iterable[str] = ()) -> str:
    """``text`` with every secret masked: known values, engine findings and credential shapes."""
    if not text:
        return text
    if known:
        for secret in sorted({s for s in known if s and len(s) >= 4}, key=len, reverse=True):
            text = text.replace(secret, redact(secret))
    if len(text) < 6:  # too short to hold a recognisable credential ("200", "UP")
        return text
    # The engine's own literal prefilter decides quickly whether its rules need to run.
    if "\n" in text:
        text = "\n".join(_engine_pass(line) for line in text.split("\n"))
    else:
        text = _engine_pass(text)
    if not _may_hold_shape(text):
        return text
    return _shape_passes(text)


def _shape_passes(text: str) -> str:
    """The credential shapes a log line carries without a recognisable token, masked."""
    text = _TOKEN_SHAPES.sub(lambda m: redact(m.group(0)), text)
    text = _AWS_PAIR.sub(lambda m: m.group(1) + MASK, text)
    text = _USERINFO.sub(lambda m: m.group(1) + MASK + m.group(3), text)
    text = _AUTH.sub(_mask_auth, text)
    text = _COOKIE.sub(_mask_cookie, text)
    return _sub_named(text)


class _Gate:
    """The block prefilter of :func:`redact_many` and what each of its literals wakes."""

    __slots__ = ("prefilter", "rules_of", "scanner", "shapes", "url_only")

    def __init__(self, scanner: Scanner) -> None:
        from prodshield.secrets.prefilter import make_prefilter

        literals = sorted(set(scanner.keywords) | set(_GATE_LITERALS))
        url_rules = {r.type for r in scanner.rules if "://" in r.keywords}
        self.scanner = scanner
        # The engine's narrowing of ``://`` (only before ``user:pass@``) also covers the userinfo
        # shape pass (``_USERINFO`` needs a ``:`` and an ``@`` after it, no ``/`` between):
        # with hyperscan, a plain URL is not a candidate at all. The engine's other narrowings
        # (``auth`` only beside a token's shape) hold for literals no shape pass needs.
        self.prefilter = make_prefilter(
            literals,
            patterns={
                k: v
                for k, v in scanner.prefilter_patterns.items()
                if k == "://" or k not in _GATE_LITERALS
            },
        )
        self.url_only = literals.index("://") if url_rules <= {"url-password"} else -1
        """The index of ``://`` when every rule it wakes also needs an ``@`` (-1 otherwise)."""
        keyword_index = {kw: k for k, kw in enumerate(scanner.keywords)}
        by_keyword = scanner.rules_by_keyword
        self.rules_of: list[tuple[int, ...]] = [
            by_keyword[keyword_index[lit]] if lit in keyword_index else () for lit in literals
        ]
        """Per literal, the indexes of the engine's rules it wakes."""
        self.shapes = frozenset(k for k, lit in enumerate(literals) if lit in _GATE_LITERALS)
        """The literals some shape pass needs (:func:`_may_hold_shape`)."""

    def redact(self, text: str, found: set[int]) -> str:
        """``redact_text(text)`` for a one-line ASCII ``text`` holding exactly the literals
        ``found``: only the rules they wake run, and the shape passes only when one is there."""
        if len(text) < 6:
            return text
        woken = {i for k in found for i in self.rules_of[k]}
        if woken:
            findings = self.scanner.scan_line(text, lower=text.lower(), rule_indexes=woken)
            if findings:
                text = _masked_findings(text, findings)
        if self.shapes.isdisjoint(found) or not _may_hold_shape(text):
            return text
        return _shape_passes(text)


_block_gates: dict[int, _Gate] = {}


def _block_gate() -> _Gate:
    """One literal prefilter for the engine's rules (the operator's too) and the shape passes;
    a line whose only literal is ``://`` and that has no ``@`` (every referer in an access log)
    can hold nothing to mask when every rule ``://`` wakes needs a password before an ``@``."""
    from prodshield.secrets.engine import default_scanner

    scanner = _custom_scanner if _custom_scanner is not None else default_scanner()
    known = _block_gates.get(id(scanner))
    if known is None or known.scanner is not scanner:
        _block_gates.clear()
        known = _block_gates[id(scanner)] = _Gate(scanner)
    return known


def redact_many(texts: Sequence[str]) -> list[str]:
    """``[redact_text(t) for t in texts]``, the same result at a fraction of the cost: one
    literal prefilter pass over the whole block finds the texts that could hold a secret and
    the literals each holds; only those texts run the pass, and a one-line ASCII text runs only
    the rules its literals wake (``logs parse`` sends its messages here a block at a time)."""
    if not texts:
        return []
    block = "\n".join(texts)
    data = block.encode("utf-8", "surrogateescape")
    gate = _block_gate()
    url_only = gate.url_only
    hits = gate.prefilter.line_hits(data)
    out = list(texts)
    if not hits:
        return out
    # where each text starts in ``data`` (texts may span lines: a traceback)
    sizes: Iterable[int]
    ascii_block = len(data) == len(block)
    if ascii_block:  # characters are bytes
        sizes = map(len, texts)
    else:
        sizes = (len(text.encode("utf-8", "surrogateescape")) for text in texts)
    starts = [0, *accumulate(size + 1 for size in sizes)]
    last = -1
    for offset, found in hits:
        index = bisect_right(starts, offset) - 1
        if index == last:
            continue
        last = index
        text = texts[index]
        if found is not None and len(found) == 1 and url_only in found and "@" not in text:
            continue
        if found is not None and "\n" not in text and (ascii_block or text.isascii()):
            out[index] = gate.redact(text, found)
        else:
            out[index] = redact_text(text)
    return out


def redact_params(params: Sequence[str], redacted: str) -> list[str]:
    """A message's parameters as they may be shown beside ``redacted``, the message after
    `redact_text`: a parameter the pass masked in the message (so it is not found whole there)
    is masked the same way, or as ``***`` when it is a secret only by its name
    (``password=<*>``)."""
    out: list[str] = []
    for param in params:
        if param in redacted:
            out.append(param)
            continue
        masked = redact_text(param)
        out.append(masked if masked != param else MASK)
    return out


__all__ = ["MASK", "redact_many", "redact_params", "redact_text", "use_rules"]
