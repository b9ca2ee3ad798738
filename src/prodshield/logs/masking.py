"""Variable detection inside one whitespace-separated token.

The rules follow the labelling conventions of Khan et al. (ICSE 2022) used by the corrected Loghub
ground truth: a variable replaces a whole *piece* of a token (``blk_-42`` -> ``<*>``), pieces are
separated by punctuation such as ``:`` ``=`` ``,`` brackets and a ``-`` between two alphanumerics
(``MININT-7A`` -> ``MININT-<*>``, ``2017-05-16`` -> ``<*>-<*>-<*>``), paths and the part of a URL
after ``://`` are one variable each, and a piece counts as a variable when it looks like a value
(a number, an id with several digits, hex, an IP address, a UUID), not like a name (``ssh2``).
"""

from __future__ import annotations

import re

WILDCARD = "<*>"

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
# Delimiters between pieces, kept in the output. A hyphen splits only between two alphanumerics,
# so that a leading minus stays with its number.
_SPLIT = re.compile(r"""([,;:=|"'\[\](){}<>!?&#]|(?<=[A-Za-z0-9])-(?=[A-Za-z0-9]))""")
_PATH = re.compile(r"(?:/[^/\s]+)+/?|/[^/\s]*[0-9][^/\s]*")
_URL_REST = re.compile(r"(://)[^\s\]\)\"',;]+")
_COUNTRY_DOMAINS = {
    "a": "cdefgilmoqrstuwxz",
    "b": "abdefghijmnoqrstwyz",
    "c": "acdfghiklmnoruvwxyz",
    "d": "ejkmoz",
    "e": "cegrstu",
    "f": "ijkmor",
    "g": "abdefghilmnpqrstuwy",
    "h": "kmnrtu",
    "i": "delmnoqrst",
    "j": "emop",
    "k": "eghimnprwyz",
    "l": "abcikrstuvy",
    "m": "acdeghklmnopqrstuvwxyz",
    "n": "acefgilopruz",
    "o": "m",
    "p": "aefghklmnrstwy",
    "q": "a",
    "r": "eosuw",
    "s": "abcdeghiklmnorstuvxyz",
    "t": "cdfghjklmnortvwz",
    "u": "agksyz",
    "v": "aceginu",
    "w": "fs",
    "y": "et",
    "z": "amw",
}
"""The two-letter top-level domains that exist (the countries', by first letter): a name ending
in other two letters is a file (``app.db``, ``bundle.js``), not a host."""
_CC = "|".join(f"{first}[{seconds}]" for first, seconds in _COUNTRY_DOMAINS.items())
_TLD = rf"(?:com|net|org|edu|gov|mil|int|io|info|biz|local|lan|internal|{_CC})"
# a lower-case host name standing alone between delimiters (hyphens included)
_FQDN_CHUNK = re.compile(rf"(?<![\w.-])(?:[a-z0-9](?:[a-z0-9_-]*[a-z0-9])?\.)+{_TLD}(?![\w.-])")
# a lower-case dotted name followed by a port is a host, whatever its top-level domain
_HOST_PORT = re.compile(
    r"(?<![\w./-])(?=[a-z0-9_.-]*[a-z])[a-z0-9][a-z0-9_-]*(?:\.[a-z0-9_-]+)+:(?=\d+(?!\w))"
)
_MAC = re.compile(r"(?<![0-9A-Fa-f:])(?:[0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2}(?![0-9A-Fa-f:])")
_HEX = re.compile(r"(?:0[xX])?[0-9a-fA-F]*[0-9][0-9a-fA-F]*")
_DIGIT = re.compile(r"[0-9]")
_MERGE_DOT = re.compile(r"<\*>(?:[.]<\*>)+")
_MERGE_ADJ = re.compile(r"(?:<\*>){2,}")


_LITERALS = frozenset(
    {"true", "false", "null", "nil"}
    | {"mon", "tue", "wed", "thu", "fri", "sat", "sun"}
    | {"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}
)
# A host name: dotted labels ending in a common generic top-level domain or a country code.
_FQDN = re.compile(rf"(?:[A-Za-z0-9](?:[A-Za-z0-9_-]*[A-Za-z0-9])?\.)+{_TLD}", re.IGNORECASE)


def _piece_is_variable(piece: str) -> bool:
    """Whether one piece (no delimiters inside) is a value rather than a name."""
    first = piece[0]
    if first.isdigit():
        return True
    if piece.lower() in _LITERALS or ("." in piece and _FQDN.fullmatch(piece)):
        return True
    if first in "-+." and len(piece) > 1 and piece[1].isdigit():
        return True
    digits = len(_DIGIT.findall(piece))
    if digits == 0:
        return False
    if digits >= 2:
        return True
    # one digit: hex-like values (a1f) are variables, names (ssh2, SOCKS5, log4j) are not
    return len(piece) >= 6 and _HEX.fullmatch(piece) is not None


# Fast paths giving the same answer as the general rules for the commonest value shapes:
# one piece that is a value (42, 1.5ms, 10.0.0.1, blk_123) ...
_ONE_VALUE = re.compile(r"[-+]?\d[\w.%]*|[A-Za-z_.]*\d[\w.]*\d[\w.]*")
# ... and numbers joined by delimiters (2024-03-12, 12:30:45, 10.0.0.1:8080, 3,4)
_JOINED_NUMBERS = re.compile(r"\d[\d.]*(?:[-:,]\d[\d.]*)+")
_NUMBER = re.compile(r"\d[\d.]*")


def mask_token(token: str) -> str:
    """The token with its variable pieces replaced by ``<*>``. A value's closing ``.`` or ``%``
    is text, not value, and stays: ``5.`` -> ``<*>.``, ``0.3%`` -> ``<*>%``."""
    if token[-1:] in _CLOSING and len(token) > 1:
        head = token.rstrip(".%")
        if head:
            return _mask_token(head) + token[len(head) :]
    return _mask_token(token)


_CLOSING = frozenset(".%")


def _mask_token(token: str) -> str:
    if _ONE_VALUE.fullmatch(token):
        return WILDCARD
    if "-" in token and len(token) >= 36:  # UUIDs first, even one made of digits only
        token = _UUID.sub(WILDCARD, token)
        if token == WILDCARD:
            return WILDCARD
    if _JOINED_NUMBERS.fullmatch(token):
        return _NUMBER.sub(WILDCARD, token)
    return _mask_pieces(_mask_shapes(token))


def _mask_shapes(token: str) -> str:
    """URLs past their host, MAC addresses, host names and host:port, each a wildcard."""
    if "://" in token:
        token = _URL_REST.sub(r"\1" + WILDCARD, token)
    if token.count(":") >= 5:
        token = _MAC.sub(WILDCARD, token)
    if "." in token:
        token = _FQDN_CHUNK.sub(WILDCARD, token)
        if ":" in token:
            token = _HOST_PORT.sub(WILDCARD + ":", token)
    return token


_VARIABLE: dict[str, bool] = {}
"""Piece -> :func:`_piece_is_variable` (pieces repeat across tokens: ``com``, ``apple``)."""
_MEMO_PIECE = 64
"""Longest piece kept in ``_VARIABLE``."""


def _mask_pieces(token: str) -> str:
    """Each delimited piece that is a value (a path, a number-bearing id) a wildcard, and runs
    of wildcards merged."""
    parts = _SPLIT.split(token)  # pieces at even positions, delimiters between them
    changed = False
    known = _VARIABLE.get
    for i in range(0, len(parts), 2):
        piece = parts[i]
        if not piece or piece == WILDCARD:
            continue
        if piece[0] == "/" and len(piece) > 1 and _PATH.fullmatch(piece):
            if _closing_tag(parts, i):
                continue
            parts[i] = WILDCARD + _closing(piece)
            changed = True
        elif WILDCARD in piece:
            continue
        else:
            variable = known(piece)
            if variable is None:
                variable = _piece_is_variable(piece)
                if len(piece) <= _MEMO_PIECE:  # bounded memory whatever the lines hold
                    if len(_VARIABLE) >= 100_000:
                        _VARIABLE.clear()
                    _VARIABLE[piece] = variable
            if variable:
                parts[i] = WILDCARD + (_state_after(piece) if "/" in piece else _closing(piece))
                changed = True
    if not changed and WILDCARD not in token:
        return token
    masked = "".join(parts)
    if "<*>." in masked:
        masked = _MERGE_DOT.sub(WILDCARD, masked)
    if "<*><*>" in masked:
        masked = _MERGE_ADJ.sub(WILDCARD, masked)
    return masked


_TAG_NAME = re.compile(r"/[A-Za-z][A-Za-z0-9:_-]*")


def _closing_tag(parts: list[str], i: int) -> bool:
    """``parts[i]`` is the name of an HTML or XML closing tag (``/script`` in ``</script>``):
    text, not a path (``alert(1)</script>`` was mined as ``alert(<*>)<<*>>``)."""
    return (
        0 < i < len(parts) - 1
        and parts[i - 1] == "<"
        and parts[i + 1] == ">"
        and _TAG_NAME.fullmatch(parts[i]) is not None
    )


_STATE_AFTER = re.compile(r"[^/]+(/[A-Z][A-Z_]*[A-Z])")


def _state_after(piece: str) -> str:
    """A value piece's ``/`` and state name after it, kept as text (``6/TCP`` in
    ``(carts-6/TCP)``: a proxy's name and its mode), else its closing ``.`` or ``%``."""
    found = _STATE_AFTER.fullmatch(piece)
    return found.group(1) if found else _closing(piece)


def _closing(piece: str) -> str:
    """The ``.`` and ``%`` a value piece ends with (``0.3%`` in ``(0.3%)``), kept as text."""
    if piece[-1] not in _CLOSING:
        return ""
    head = piece.rstrip(".%")
    return piece[len(head) :] if len(head) > 1 or (head and head[0] != "/") else ""


class TokenMasker:
    """``mask_token`` with a bounded memo: constant tokens repeat, so most lookups are hits."""

    __slots__ = ("_cache", "_limit")

    def __init__(self, limit: int = 200_000) -> None:
        self._cache: dict[str, str] = {}
        self._limit = limit

    def __call__(self, token: str) -> str:
        if token.isdigit():
            return WILDCARD  # the commonest variable: not worth a cache slot
        masked = self._cache.get(token)
        if masked is None:
            masked = mask_token(token)
            if len(self._cache) >= self._limit:
                self._cache.clear()
            self._cache[token] = masked
        return masked
