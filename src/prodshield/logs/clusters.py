"""Clusters of the template miner: what one cluster holds, how its ids are made, and how two
token sequences compare (similarity, variants of another length, values written in words).

A cluster is a token sequence where positions that differed became wildcards (Drain's idea); the
rules that decide which sequences join which cluster live here as plain functions of the tokens,
and :class:`prodshield.logs.templates.TemplateMiner` applies them (see its module docstring).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection, Container, Iterable, Sequence
from dataclasses import dataclass, field
from itertools import repeat
from operator import and_, contains, eq, gt, methodcaller

from prodshield.logs.masking import WILDCARD
from prodshield.logs.params import Plan

_WILD_ROWS: dict[int, tuple[str, ...]] = {}
_MERGE_ADJ = re.compile(r"(?:<\*>){2,}")


@dataclass(slots=True)
class Stat:
    """Count, an example and first/last seen of one template id."""

    count: int
    example: str
    first: float | None
    last: float | None


Rendering = tuple[str, Plan, tuple[tuple[int, str], ...], str]
"""A sequence's template text in a cluster, its parameter plan, its enumeration values where they
differ from the cluster's first template, and the id those values give (:func:`sub_id`)."""


@dataclass(slots=True, eq=False)
class Cluster:
    """One cluster; compared by identity (``list.remove`` of a fused cluster stays in C)."""

    index: int
    id: str
    """Given at creation, never changed (see the module docstring)."""
    first: tuple[str, ...]
    """The masked tokens the cluster was created from (enumeration values are relative to it)."""
    tokens: list[str]
    count: int = 0
    # generalized position -> {masked value: count}, or None once it has too many values
    values: dict[int, dict[str, int] | None] = field(default_factory=dict)
    # generalized position -> the (prefix, suffix) its values share, e.g. ("(", ")")
    gen: dict[int, tuple[str, str]] = field(default_factory=dict)
    version: int = 0
    """Bumped whenever the template text can change (a merge, an enumeration overflowing)."""
    live_enums: int = 0
    # per template id: count, example, first/last seen
    stats: dict[str, Stat] = field(default_factory=dict)
    # template id -> the enumeration values where it differs from ``first`` (position, value);
    # also the ids of clusters fused into this one (see TemplateMiner._fuse)
    subs: dict[str, tuple[tuple[int, str], ...]] = field(default_factory=dict)
    merged_into: Cluster | None = None
    """Set when this cluster was fused into another (its lines now count there)."""
    joined: Cluster | None = None
    """An older cluster of another length this one is a variant of (see :func:`variant_of`):
    its lines are given that cluster's id."""
    rendered_at: int = -1
    """The version ``rendered`` holds renderings of (see ``TemplateMiner._render_for``)."""
    enum_at: tuple[int, ...] = ()
    """At ``rendered_at``: the positions holding an enumeration (the only ones where the
    rendering of a sequence depends on the sequence)."""
    rendered: dict[tuple[str, ...], Rendering] = field(default_factory=dict)
    """At ``rendered_at``: the values at ``enum_at`` -> the rendering of such sequences."""
    order: int = -1
    """Its place in the clusters of its length (:class:`prodshield.logs.buckets.Bucket`)."""
    indexed: tuple[str, ...] = ()
    """The tokens its bucket's index files it under (its tokens when last re-filed)."""
    slack: int = 0
    """Its tokens with a wildcard plus its reach when last re-filed (see the bucket)."""


@dataclass(slots=True)
class Entry:
    """What one masked token sequence renders to in its cluster (cached per sequence)."""

    cluster: Cluster
    masked: tuple[str, ...]
    version: int = -1
    """The cluster version ``template``, ``template_id`` and ``plan`` were rendered at."""
    template: str = ""
    template_id: str = ""
    plan: Plan = ()
    """Where the parameters are: (position, prefix length, suffix length, pattern or None)."""
    diffs: tuple[tuple[int, str], ...] = ()
    stat: Stat | None = None


def template_id(template: str) -> str:
    """The hash a new cluster's id is made from (its first template's text)."""
    return hashlib.blake2b(template.encode("utf-8"), digest_size=8).hexdigest()


def sub_id(cluster_id: str, diffs: tuple[tuple[int, str], ...]) -> str:
    """The id of an enumeration value set of a cluster (``diffs`` empty: the cluster's own)."""
    if not diffs:
        return cluster_id
    key = cluster_id + "".join(f"\x1f{pos}\x1e{value}" for pos, value in diffs)
    return template_id(key)


ROOT_STEPS = 10_000
"""The most links :func:`root_of` follows."""


def root_of(cluster: Cluster) -> Cluster:
    """The cluster whose id ``cluster``'s lines are given (following fusions and variants).

    Every link points at an older cluster (a smaller ``index``), so the walk ends; a walk that
    goes on past ``ROOT_STEPS`` links (a loop, which the miner no longer makes) stops there
    rather than hang the service on a hostile log."""
    for _ in range(ROOT_STEPS):
        if cluster.merged_into is not None:
            cluster = cluster.merged_into
        elif cluster.joined is not None:
            cluster = cluster.joined
        else:
            return cluster
    return cluster


def id_for(cluster: Cluster, diffs: tuple[tuple[int, str], ...]) -> str:
    """The template id of the lines of ``cluster`` whose enumeration values differ from its first
    template at ``diffs``: a variant cluster's own lines take the id of the cluster it joined."""
    if diffs or cluster.joined is None:
        return sub_id(cluster.id, diffs)
    return root_of(cluster).id


_UNIT = re.compile(
    r"[(\[]?(?:[KMGTP]i?B|[kKMGT]B|B|bytes?|[mun\u00b5]s|s|secs?|seconds?|mins?|minutes?"
    r"|hours?|h|%)[)\],.;:]*"
)


def units_only(value: str, seen: Iterable[str]) -> bool:
    """Whether a new value and those an enumeration has seen are all units of measure (``KB``
    and ``MB``): a unit that changes with the magnitude is part of the value, not a constant."""
    return _UNIT.fullmatch(value) is not None and all(_UNIT.fullmatch(v) for v in seen)


_STATE_NAME = re.compile(r"[A-Z][A-Z_]*[A-Z][.,;:)\]]?")
STATE_NAMES_MAX = 32
"""Most values of an enumeration of state names (see :func:`state_names`)."""


def state_names(values: Collection[str]) -> bool:
    """Whether the values of an enumeration are all upper-case names (``RECONCILING``,
    ``PREPARE_LEAVING``): the constants of an enum, which Loghub-2.0 labels as part of the
    template (``Transitioned from NEW to UNASSIGNED``), so such an enumeration stays one past
    ``enum_max`` values, up to :data:`STATE_NAMES_MAX`."""
    return len(values) <= STATE_NAMES_MAX and all(_STATE_NAME.fullmatch(v) for v in values)


_FIELD = re.compile(r"[A-Za-z][\w.-]*=")
RECORD_FIELDS = 5
"""Fields with a variable value (``id=<*>``) that make a line a record (see :func:`record_field`)."""


def record_field(tokens: Sequence[str], a: str, b: str) -> bool:
    """Whether two values ``a`` and ``b`` of one ``key=`` field are data, not an enumeration:
    the line is a record of at least :data:`RECORD_FIELDS` fields whose values vary (``id=<*>
    addr=<*> fd=<*> ... lib-name=jedis``, a client described field by field), so a field with
    few values there (``lib-name=`` / ``lib-name=jedis``) is one more value of the record. Not
    when both values are state names (``action=ACTION_DOWN``: see :func:`state_names`)."""
    m = _FIELD.match(a)
    if m is None:
        return False
    key = m.end()
    if not b.startswith(a[:key]) or state_names([a[key:], b[key:]]):
        return False
    fields = 0
    for token in tokens:
        if WILDCARD in token and (f := _FIELD.match(token)) and token.startswith(WILDCARD, f.end()):
            fields += 1
            if fields >= RECORD_FIELDS:
                return True
    return False


def lead_of(tokens: Sequence[str]) -> tuple[str, str] | None:
    """The first two tokens without a variable (None when there are not two)."""
    found = [t for t in tokens[:8] if WILDCARD not in t][:2]
    return (found[0], found[1]) if len(found) == 2 else None


VARIANT_SPAN = 2
"""Most tokens on either side of one place where two variants of a template differ."""
LEAD_PEERS = 64
"""Clusters filed per length and first two constant tokens, where variants and values written in
words are looked for (the oldest ones; bounds the work a new cluster costs)."""


def variant_of(a: Sequence[str], b: Sequence[str]) -> bool:
    """Whether token sequences of different lengths are one template whose variable parts take a
    different number of tokens (``0 bytes sent`` / ``1190 bytes (1.16 KB) sent``, ``lifetime
    00:02`` / ``lifetime <1 sec``): walked side by side, every place where they differ is at
    most :data:`VARIANT_SPAN` tokens on each side before they agree again, each side of it that
    has tokens has a variable there, and the tokens they share hold most of their constants."""
    a, b = _one_bracket_value(_one_list_value(a)), _one_bracket_value(_one_list_value(b))
    la, lb = len(a), len(b)
    wild = repeat(WILDCARD)
    constants = max(la - sum(map(contains, a, wild)), lb - sum(map(contains, b, wild)))
    i = j = same = 0
    while i < la or j < lb:
        if i < la and j < lb and a[i] == b[j]:
            same += a[i] != WILDCARD
            i += 1
            j += 1
            continue
        for di, dj in _RESYNC:
            ni, nj = i + di, j + dj
            if ni > la or nj > lb:
                continue
            if (ni == la and nj == lb) or (ni < la and nj < lb and a[ni] == b[nj]):
                break
        else:
            return False
        if (di and not any(WILDCARD in t for t in a[i:ni])) or (
            dj and not any(WILDCARD in t for t in b[j:nj])
        ):
            return False
        i, j = ni, nj
    return same >= 2 and same >= 0.6 * constants


def variant_needs(b: Sequence[str]) -> tuple[frozenset[str], int]:
    """What :func:`variant_of` asks of any sequence ``a`` to be a variant of ``b``: ``b``'s
    constant tokens (no variable, once its lists are one value), and how many tokens of ``a``
    at least are among them. Where the two differ, each place skips at most
    :data:`VARIANT_SPAN` tokens of ``b``, one of them holding a variable, so all of ``b``'s
    constants but ``VARIANT_SPAN - 1`` per variable token are matched by equal tokens of ``a``,
    each at its own position. Counting ``a``'s tokens in the set (in C) rules out most peers
    without the walk (lines of free text that never repeat share no words)."""
    b = _one_bracket_value(_one_list_value(b))
    constants = [t for t in b if WILDCARD not in t]
    variables = len(b) - len(constants)
    return frozenset(constants), len(constants) - (VARIANT_SPAN - 1) * variables


_ENDS_WITH_COMMA = methodcaller("endswith", ",")


def _one_list_value(tokens: Sequence[str]) -> Sequence[str]:
    """``tokens`` with a comma-separated list of variables (``a-<*>, b-<*>, c-<*>``) as its last
    item only: a list of any length is one value (``Assigned partitions: <*>`` / ``... <*>, <*>,
    <*>``)."""
    if not any(map(_ENDS_WITH_COMMA, tokens)) or not any(
        t[-1:] == "," and WILDCARD in t for t in tokens
    ):
        return tokens
    return [
        t
        for k, t in enumerate(tokens)
        if not (
            t[-1:] == "," and WILDCARD in t and k + 1 < len(tokens) and WILDCARD in tokens[k + 1]
        )
    ]


_OPENS_BRACKET = methodcaller("startswith", "[")
BRACKET_SPAN = 40
"""Most tokens of a bracketed list written over several tokens (see :func:`bracket_list`)."""


def bracket_list(tokens: Sequence[str]) -> range | None:
    """Where a bracketed group of at least three tokens holding a variable is (``[http://<*> is
    unreachable: remote disconnected http://<*> is unreachable: context deadline exceeded]``, a
    list printed with its brackets): one value however many items it has. None when there is
    none (the first ``[`` that the same token does not close decides)."""
    if not any(map(_OPENS_BRACKET, tokens)):
        return None
    for i, token in enumerate(tokens):
        if token[:1] != "[" or "]" in token:
            continue
        for j in range(i + 1, min(len(tokens), i + BRACKET_SPAN)):
            inner = tokens[j]
            if "[" in inner:
                return None
            if inner[-1:] == "]":
                span = range(i, j + 1)
                if len(span) < 3 or not any(WILDCARD in tokens[k] for k in span):
                    return None
                return span
        return None
    return None


def _one_bracket_value(tokens: Sequence[str]) -> Sequence[str]:
    """``tokens`` with a bracketed list (:func:`bracket_list`) as one variable."""
    span = bracket_list(tokens)
    if span is None:
        return tokens
    return [*tokens[: span.start], WILDCARD, *tokens[span.stop :]]


SLOT_SPAN = 12
"""Most tokens of a value written in words (``Connection reset by peer``, ``The server disconnected
before a response was received.``) in :func:`slot_of`."""
BOUNDED_SPAN = 128
"""Most tokens of a value written in words between constant text on both sides (see
:func:`bounded_slot`): a whole exception message (Kafka's ``CommitFailedException`` has 68)."""
BOUND = 3
"""Constant tokens needed on each side of a place for :func:`bounded_slot`."""


def slot_of(
    a: Sequence[str],
    a_gen: Container[int],
    b: Sequence[str],
    b_gen: Container[int],
    enums: tuple[Container[int], Container[int]] = ((), ()),
) -> tuple[range, range] | None:
    """Where two token sequences of different lengths differ, when that is one place of at most
    :data:`SLOT_SPAN` tokens on each side, at least one side has seen different values at every
    one of its positions there (``a_gen``, ``b_gen``: the positions a cluster generalised) and at
    least three constant tokens, and as many as the place has on either side, are the same around
    it: a value written in words (``failed: Broken pipe``, ``failed: Connection reset by peer``,
    ``failed: Operation timed out``).
    The place takes in the tokens next to it that hold an enumeration on either side (``enums``:
    those positions of ``a`` and of ``b``), since a value in words may share its last token with
    another one (``(<*>: <*> <*>)`` / ``(<*>: <*>)``); such a place must vary on both sides.
    None otherwise."""
    la, lb = len(a), len(b)
    n = min(la, lb)
    if la == lb:
        return None
    p = 0
    while p < n and a[p] == b[p]:
        p += 1
    q = 0
    while q < n - p and a[la - 1 - q] == b[lb - 1 - q]:
        q += 1
    a_enum, b_enum = enums
    took = p + q
    while p and (p - 1 in a_enum or p - 1 in b_enum):
        p -= 1
    while q and (la - q in a_enum or lb - q in b_enum):
        q -= 1
    ra, rb = range(p, la - q), range(p, lb - q)
    if p + q == took and bounded_slot(a, ra, b, rb):
        return ra, rb
    if not (0 < len(ra) <= SLOT_SPAN and 0 < len(rb) <= SLOT_SPAN):
        return None
    a_varies, b_varies = all(i in a_gen for i in ra), all(j in b_gen for j in rb)
    # a place that took in enumerations must vary on both sides (``for root from`` / ``for
    # invalid user <*> from`` is a name and a phrase, not one value in words)
    if not (a_varies and b_varies if p + q < took else a_varies or b_varies):
        return None
    around = sum(WILDCARD not in t for t in a[:p]) + sum(WILDCARD not in t for t in a[la - q :])
    # as many constant tokens as the place has: a message after a line's header (date, host,
    # process) is a statement of its own, not a value in words
    return (ra, rb) if around >= max(3, len(ra), len(rb)) else None


def bounded_slot(a: Sequence[str], ra: range, b: Sequence[str], rb: range) -> bool:
    """Whether the place where two sequences differ (``ra`` in ``a``, ``rb`` in ``b``) lies
    between at least :data:`BOUND` constant tokens on each side and holds words, at least two
    tokens on each side: ``failed: <text>. Will continue to join group.``, where the text is a
    value however long it is and whether or not it has varied yet (an exception's message).
    Two tokens at least: a lone token opposite a phrase is a name and a phrase (OpenSSH's ``for
    root from`` / ``for invalid user <*> from``). Words: a ``key=value`` token makes the place
    a record's fields (``{ act=<*> flg=<*> cmp=<*> }`` / ``{ flg=<*> cmp=<*> }``), which differ
    by which fields are written, not by a text. Counted like any value in words: the texts are
    one template only past ``enum_max`` of them."""
    if not (1 < len(ra) <= BOUNDED_SPAN and 1 < len(rb) <= BOUNDED_SPAN):
        return False
    if ra.start < BOUND or len(a) - ra.stop < BOUND:
        return False
    if not (_constants(a, range(ra.start - 1, -1, -1)) and _constants(a, range(ra.stop, len(a)))):
        return False
    return not any(_FIELD.match(a[i]) for i in ra) and not any(_FIELD.match(b[j]) for j in rb)


def _constants(tokens: Sequence[str], order: range) -> bool:
    """Whether at least :data:`BOUND` of ``tokens`` at ``order`` have no variable."""
    found = 0
    for i in order:
        if WILDCARD not in tokens[i]:
            found += 1
            if found >= BOUND:
                return True
    return False


# where to look for the next agreeing pair after a disagreement, nearest first
_RESYNC = sorted(
    ((di, dj) for di in range(VARIANT_SPAN + 1) for dj in range(VARIANT_SPAN + 1) if di or dj),
    key=lambda d: (d[0] + d[1], abs(d[0] - d[1])),
)


_OPEN = frozenset("=:([{<#@/'\"")
_CLOSE = frozenset(")]}>,;:'\"")


def _closing_tail(a: str, j: int) -> bool:
    """Whether the last ``j`` characters of ``a`` are a ``.`` or ``%`` closing a value and only
    punctuation after it (``search.`` and ``orders.`` share ``.``; ``a.txt`` and ``b.txt`` share
    no suffix: that dot is inside a name)."""
    return a[-j] in ".%" and not any(c.isalnum() or c == "\x00" for c in a[len(a) - j :])


_STATE_TAIL = re.compile(r"/[A-Z][A-Z_]*[A-Z][)\]}>,;:'\"]*")


def _state_tail(a: str, j: int) -> bool:
    """Whether the last ``j`` characters of ``a`` are ``/`` and a state name closing a value
    (``(orders/HTTP)``: a proxy and its mode, see :func:`state_names`)."""
    return a[-j] == "/" and _STATE_TAIL.fullmatch(a, len(a) - j) is not None


def state_tail(token: str) -> str | None:
    """The ``/NAME`` a token ends with (before closing punctuation) when ``NAME`` is a state
    name and something comes before it (``(<*>/HTTP)`` -> ``/HTTP``), else None."""
    cut = token.rfind("/")
    if cut <= 0 or _STATE_TAIL.fullmatch(token, cut) is None:
        return None
    return token[cut:].rstrip(")]}>,;:'\"")


def state_clash(tokens: Sequence[str], masked: Sequence[str]) -> bool:
    """Whether a sequence differs from a cluster's tokens in the state name a token ends with
    (``(<*>/HTTP)`` / ``(carts-<*>/TCP)``): as in ``Transitioned from NEW to INITED``, a state
    name is constant text, so such a line is another template."""
    for a, b in zip(tokens, masked, strict=True):
        if a != b and "/" in a and "/" in b:
            tail = state_tail(a)
            if tail is not None and (other := state_tail(b)) is not None and tail != other:
                return True
    return False


def common_shape(a: str, b: str) -> tuple[str, str]:
    """The prefix and suffix two differing tokens share, cut at punctuation (``uid=``, ``(``)."""
    # a wildcard is one symbol here, so a cut never falls inside one
    a = a.replace(WILDCARD, "\x00")
    b = b.replace(WILDCARD, "\x00")
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    while i > 0 and a[i - 1] not in _OPEN:
        i -= 1
    prefix = a[:i]
    j = 0
    limit = n - i
    while j < limit and a[-1 - j] == b[-1 - j]:
        j += 1
    while j > 0 and a[-j] not in _CLOSE and not _closing_tail(a, j) and not _state_tail(a, j):
        j -= 1
    suffix = a[len(a) - j :] if j else ""
    if "\x00" in prefix or "\x00" in suffix:
        return ("", "")
    return prefix, suffix


def fits(shape: tuple[str, str], token: str) -> bool:
    prefix, suffix = shape
    return (
        len(token) >= len(prefix) + len(suffix)
        and token.startswith(prefix)
        and token.endswith(suffix)
    )


def render(tokens: list[str]) -> str:
    text = " ".join(tokens)
    if "<*><*>" in text:
        text = _MERGE_ADJ.sub(WILDCARD, text)
    return text


def similarity(tokens: list[str], masked: tuple[str, ...]) -> float:
    """Share of positions where a cluster's ``tokens`` and a sequence agree; positions where both
    are bare wildcards say nothing either way (C-level counts)."""
    return similarity_of(tokens, masked, sum(map(eq, tokens, masked)))


def similarity_of(tokens: list[str], masked: tuple[str, ...], same: int) -> float:
    """:func:`similarity` given the number of positions where they are equal (``same``)."""
    n = len(masked)
    if not same:
        return 0.0
    wild = _WILD_ROWS.get(n)
    if wild is None:
        wild = _WILD_ROWS[n] = (WILDCARD,) * n
    both_wild = sum(map(and_, map(eq, tokens, wild), map(eq, masked, wild)))
    n -= both_wild
    return 1.0 if n == 0 else (same - both_wild) / n


def reach(cluster: Cluster) -> int:
    """How many positions where a sequence differs from ``cluster`` may still agree in
    :func:`enum_similarity` (generalised ones, and those holding values): with the positions
    that agree, a bound on it that skips the full count."""
    gen = cluster.gen
    values = cluster.values
    n = len(gen)
    if not gen.keys() >= values.keys():
        n += sum(1 for pos, seen in values.items() if seen is not None and pos not in gen)
    return n


def enum_similarity(cluster: Cluster, masked: tuple[str, ...], threshold: float = 0.0) -> float:
    """:func:`similarity` where a value an enumeration position has seen also agrees, and so
    does a variable (a token with a wildcard: ``stock-<*>:``) at a position the cluster has made
    a variable of that shape (``<*>:``), as long as at least half of the cluster's words
    (constants and enumerations) agree: a score of ``threshold`` or more is 0 otherwise, so
    variables (a list, a header's date and time) never make ``Lost previously assigned
    partitions <*>, <*>`` agree with ``Adding newly assigned partitions: <*>, <*>``.

    Counted as :func:`enum_similarity_loop` counts, position by position, but with the
    positions that agree and the words counted in C: only the positions the cluster generalised
    or holds values at are looked at one by one."""
    tokens = cluster.tokens
    n = len(masked)
    if len(tokens) != n:
        raise ValueError("enum_similarity: sequences of different lengths")
    wild = repeat(WILDCARD)
    same = sum(map(eq, tokens, masked))
    # words: tokens without a wildcard; ``agreeing``: those equal to the sequence's
    agreeing = sum(map(gt, map(eq, tokens, masked), map(contains, tokens, wild)))
    words = n - sum(map(contains, tokens, wild))
    if same and WILDCARD in masked and WILDCARD in tokens:
        row = _WILD_ROWS.get(n)
        if row is None:
            row = _WILD_ROWS[n] = (WILDCARD,) * n
        both_wild = sum(map(and_, map(eq, tokens, row), map(eq, masked, row)))
        same -= both_wild
        n -= both_wild
    words_same = agreeing
    values = cluster.values
    gen = cluster.gen
    size = len(masked)
    for pos in gen:
        if 0 <= pos < size and (a := tokens[pos]) != (b := masked[pos]):
            seen = values.get(pos)
            if seen is not None:
                words += 1  # an enumeration is a word even with a wildcard
                if b in seen:
                    same += 1
                    words_same += 1
            elif fits(gen[pos], b):
                same += 1
            if WILDCARD not in a:
                words -= 1  # counted as a word above, but a generalised position is none
    for pos, seen in values.items():
        if (
            seen is not None
            and pos not in gen
            and 0 <= pos < size
            and (a := tokens[pos]) != (b := masked[pos])
        ):
            words += 1
            if b in seen:
                same += 1
                words_same += 1
            if WILDCARD not in a:
                words -= 1
    score = 1.0 if n == 0 else same / n
    if score < threshold:
        return score  # under the threshold whatever the words say
    return 0.0 if 2 * words_same < words else score


def enum_similarity_loop(
    cluster: Cluster, masked: tuple[str, ...], threshold: float = 0.0
) -> float:
    """:func:`enum_similarity` position by position (the reference its counts are tested against):
    :func:`similarity` where a value an enumeration position has seen also agrees, and so
    does a variable (a token with a wildcard: ``stock-<*>:``) at a position the cluster has made
    a variable of that shape (``<*>:``), as long as at least half of the cluster's words
    (constants and enumerations) agree: a score of ``threshold`` or more is 0 otherwise."""
    values = cluster.values
    gen = cluster.gen
    same = 0
    n = 0
    for pos, (a, b) in enumerate(zip(cluster.tokens, masked, strict=True)):
        if a == b:
            if a != WILDCARD:
                same += 1
                n += 1
            continue
        n += 1
        seen = values.get(pos)
        if seen is not None:
            if b in seen:
                same += 1
        elif pos in gen and fits(gen[pos], b):
            same += 1
    score = 1.0 if n == 0 else same / n
    if score < threshold:
        return score  # under the threshold whatever the words say
    # the words: constants (no wildcard) and enumerations; variables never outvote them
    words = words_same = 0
    for pos, (a, b) in enumerate(zip(cluster.tokens, masked, strict=True)):
        if a == b:
            if WILDCARD not in a:
                words += 1
                words_same += 1
            continue
        seen = values.get(pos)
        if seen is not None:
            words += 1
            words_same += b in seen
        elif pos not in gen and WILDCARD not in a:
            words += 1
    return 0.0 if 2 * words_same < words else score
