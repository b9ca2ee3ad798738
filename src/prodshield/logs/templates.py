"""Streaming online template mining.

One pass, memory bounded by the number of templates: each message is split on whitespace, the
variable pieces of its tokens are masked (:mod:`prodshield.logs.masking`), and the masked token
sequence either hits the exact-sequence cache or is compared with the clusters of the same length
(Drain's idea: a cluster is a token sequence where positions that differed became wildcards).

A position that became a wildcard by merging keeps the set of values seen there, up to
``enum_max`` of them. While it has that few values it is treated as an *enumeration* and each value
stays in the template (``Transitioned from NEW to INITED`` and ``... from INITED to SETUP`` are two
templates, as in the labelled data); past ``enum_max`` the position is a variable for good and its
values are forgotten. When a sequence is compared with a cluster, a value one of its enumerations
has already seen agrees like a constant. The template text is the line's own text with each
variable replaced by one ``<*>`` (adjacent wildcards without a separator merge); nothing is moved.
Units of measure are never enumeration values (``KB``/``MB`` change with the magnitude), and a
message of a few tokens joins only clusters with its first word (Drain's prefix tree).

A new cluster that is an older cluster of another length with a variable written in more or fewer
tokens (``0 bytes sent`` / ``1190 bytes (1.16 KB) sent``, see :func:`_variant_of`) is a *variant*:
it keeps its own text, and its lines are given the older cluster's id. Clusters that differ in one
place holding a value written in words (``failed: Broken pipe`` / ``failed: No such file or
directory``, see :func:`_slot_of`) are counted like an enumeration: past ``enum_max`` values between
them, the younger ones join the oldest (:meth:`TemplateMiner._join_slots`).

Template ids name a cluster for its whole life. A cluster's id is given when it is created (a
hash of its first template, salted on a collision) and kept however its template generalises; an
enumeration's other values get ids derived from the cluster's id and the values where they differ
from the first template, so each stays the same while the enumeration lives and folds into the
surviving template's id when the position becomes a variable (:meth:`TemplateMiner.current_id`).
The state, ids included, round-trips through :meth:`TemplateMiner.state` (saved in the store by
:mod:`prodshield.logs.state`), so ids are the same across runs that share a store.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Container, Iterable, Sequence
from dataclasses import dataclass, field
from operator import and_, eq, itemgetter
from typing import Any

from prodshield.logs.masking import WILDCARD, mask_token

_MULTI_DIGITS = re.compile(r"\d\d+")
_ANY_DIGIT = re.compile(r"\d")
_WILD_ROWS: dict[int, tuple[str, ...]] = {}
# a UUID the shape did not hide must have an upper-case hex letter (the rest are marked)
_MAYBE_UUID = re.compile(r"[0-9a-fA-F\x01]+(?:-[0-9a-fA-F\x01]+){4}")
# lower-case UUIDs, and hex ids (a word of hex digits, at least two of them digits and one a
# letter): every one masks to <*> whatever its characters
_UUID_LC = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_HEX_WORD = re.compile(r"(?<!\w)(?=[0-9]*[a-f])(?=[a-f]*[0-9][a-f]*[0-9])[0-9a-f]+(?!\w)")
_HEX_OR_RUN = re.compile(_HEX_WORD.pattern + r"|\d\d+")
_MERGE_ADJ = re.compile(r"(?:<\*>){2,}")


# The same classes for polars (Rust regex: no look-around), used to group a batch of lines.
_H = "[0-9a-f]"
_RS_UUID_LC = _UUID_LC.pattern
_RS_HEX_WORD = (
    rf"\b(?:{_H}*[a-f]{_H}*[0-9]{_H}*[0-9]{_H}*|{_H}*[0-9]{_H}*[a-f]{_H}*[0-9]{_H}*"
    rf"|{_H}*[0-9]{_H}*[0-9]{_H}*[a-f]{_H}*)\b"
)
# Coarse shape: a digit run that starts a piece (after a space, a delimiter or the line start)
# makes that piece a variable whatever its length, so any such run is \x02; so is any other single
# digit (whose value may stay in the template: those positions are masked line by line). Literal
# pairs (Aho-Corasick in polars) are much faster than a regular expression with a capture here.
_PIECE_STARTS = " \t,;:=|\"'[](){}<>!?&#"
_COARSE_FROM = [d + c for d in _PIECE_STARTS for c in "\x010123456789"]
_COARSE_TO = [d + "\x02" for d in _PIECE_STARTS for c in "\x010123456789"]
BATCH_MIN = 512
"""Below this many messages a batch is learnt line by line."""


def _hides_uuid(shape: str) -> bool:
    return any(any(c in "ABCDEF" for c in m.group()) for m in _MAYBE_UUID.finditer(shape))


def line_shape(message: str) -> str:
    """What masking sees of a line: tokens with the same shape mask the same way.

    Masking looks at digits through their runs: a run of several digits always makes its piece a
    variable, so every such run becomes ``\\x01``, and so does a hex id (a word of hex digits, at
    least two of them digits: a variable in every context a run of digits is one); single digits
    stay as they are (``ssh2`` is a name, ``ssh22`` a value). Lower-case UUIDs (letters or not)
    become ``\\x03``.
    C-level passes only.
    """
    if "-" in message and len(message) >= 36:
        message = _UUID_LC.sub("\x03", message)
    return _HEX_OR_RUN.sub("\x01", message)


@dataclass(frozen=True, slots=True)
class MinerConfig:
    """The one general configuration; the defaults are used for every source."""

    similarity: float = 0.6
    """Share of positions that must agree for a message to join a cluster."""
    enum_max: int = 4
    """A merged position with at most this many distinct values keeps them as constants."""
    short: int = 5
    """A message of at most this many tokens joins only a cluster with the same first word
    (Drain's prefix tree: in a short message one word is too large a share to be a value)."""
    max_clusters_per_length: int = 2000
    cache_size: int = 100_000


@dataclass(slots=True)
class TemplateMatch:
    """Where one message landed."""

    template_id: str
    template: str
    params: list[str]
    cluster: int


@dataclass(slots=True)
class Template:
    """One template with its statistics, as reported by :meth:`TemplateMiner.templates`."""

    id: str
    template: str
    count: int
    example: str = ""
    first_seen: float | None = None
    last_seen: float | None = None
    variants: list[str] = field(default_factory=list)
    """The texts of the same template where a variable takes a different number of tokens
    (``0 bytes sent`` and ``1190 bytes (1.16 KB) sent``): their lines are given this id."""


@dataclass(slots=True)
class _Stat:
    """Count, an example and first/last seen of one template id."""

    count: int
    example: str
    first: float | None
    last: float | None


@dataclass(slots=True)
class _Cluster:
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
    stats: dict[str, _Stat] = field(default_factory=dict)
    # template id -> the enumeration values where it differs from ``first`` (position, value);
    # also the ids of clusters fused into this one (see TemplateMiner._fuse)
    subs: dict[str, tuple[tuple[int, str], ...]] = field(default_factory=dict)
    merged_into: _Cluster | None = None
    """Set when this cluster was fused into another (its lines now count there)."""
    joined: _Cluster | None = None
    """An older cluster of another length this one is a variant of (see :func:`_variant_of`):
    its lines are given that cluster's id."""


_Plan = tuple[tuple[int, int, int, "re.Pattern[str] | None"], ...]


@dataclass(slots=True)
class _Entry:
    """What one masked token sequence renders to in its cluster (cached per sequence)."""

    cluster: _Cluster
    masked: tuple[str, ...]
    version: int = -1
    """The cluster version ``template``, ``template_id`` and ``plan`` were rendered at."""
    template: str = ""
    template_id: str = ""
    plan: _Plan = ()
    """Where the parameters are: (position, prefix length, suffix length, pattern or None)."""
    diffs: tuple[tuple[int, str], ...] = ()
    stat: _Stat | None = None


@dataclass(slots=True)
class _Shape:
    """What masking makes of one line shape: the tokens, the positions re-masked per line, and
    the sequence's entry once placed (when no position is re-masked)."""

    masked: tuple[str, ...]
    keep: tuple[int, ...]
    entry: _Entry | None = None


def template_id(template: str) -> str:
    """The hash a new cluster's id is made from (its first template's text)."""
    return hashlib.blake2b(template.encode("utf-8"), digest_size=8).hexdigest()


def _sub_id(cluster_id: str, diffs: tuple[tuple[int, str], ...]) -> str:
    """The id of an enumeration value set of a cluster (``diffs`` empty: the cluster's own)."""
    if not diffs:
        return cluster_id
    key = cluster_id + "".join(f"\x1f{pos}\x1e{value}" for pos, value in diffs)
    return template_id(key)


def _root(cluster: _Cluster) -> _Cluster:
    """The cluster whose id ``cluster``'s lines are given (following fusions and variants)."""
    while True:
        if cluster.merged_into is not None:
            cluster = cluster.merged_into
        elif cluster.joined is not None:
            cluster = cluster.joined
        else:
            return cluster


def _id_for(cluster: _Cluster, diffs: tuple[tuple[int, str], ...]) -> str:
    """The template id of the lines of ``cluster`` whose enumeration values differ from its first
    template at ``diffs``: a variant cluster's own lines take the id of the cluster it joined."""
    if diffs or cluster.joined is None:
        return _sub_id(cluster.id, diffs)
    return _root(cluster).id


_UNIT = re.compile(
    r"[(\[]?(?:[KMGTP]i?B|[kKMGT]B|B|bytes?|[mun\u00b5]s|s|secs?|seconds?|mins?|minutes?"
    r"|hours?|h|%)[)\],.;:]*"
)


def _units(value: str, seen: Iterable[str]) -> bool:
    """Whether a new value and those an enumeration has seen are all units of measure (``KB``
    and ``MB``): a unit that changes with the magnitude is part of the value, not a constant."""
    return _UNIT.fullmatch(value) is not None and all(_UNIT.fullmatch(v) for v in seen)


def _lead(tokens: Sequence[str]) -> tuple[str, str] | None:
    """The first two tokens without a variable (None when there are not two)."""
    found = [t for t in tokens[:8] if WILDCARD not in t][:2]
    return (found[0], found[1]) if len(found) == 2 else None


VARIANT_SPAN = 2
"""Most tokens on either side of one place where two variants of a template differ."""
LEAD_PEERS = 64
"""Clusters filed per length and first two constant tokens, where variants and values written in
words are looked for (the oldest ones; bounds the work a new cluster costs)."""


def _variant_of(a: Sequence[str], b: Sequence[str]) -> bool:
    """Whether token sequences of different lengths are one template whose variable parts take a
    different number of tokens (``0 bytes sent`` / ``1190 bytes (1.16 KB) sent``, ``lifetime
    00:02`` / ``lifetime <1 sec``): walked side by side, every place where they differ is at
    most :data:`VARIANT_SPAN` tokens on each side before they agree again, each side of it that
    has tokens has a variable there, and the tokens they share hold most of their constants."""
    la, lb = len(a), len(b)
    constants = max(la - sum(WILDCARD in t for t in a), lb - sum(WILDCARD in t for t in b))
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


SLOT_SPAN = 5
"""Most tokens of a value written in words (``Connection reset by peer``) in :func:`_slot_of`."""


def _slot_of(
    a: Sequence[str], a_gen: Container[int], b: Sequence[str], b_gen: Container[int]
) -> tuple[range, range] | None:
    """Where two token sequences of different lengths differ, when that is one place of at most
    :data:`SLOT_SPAN` tokens on each side, at least one side has seen different values at every
    one of its positions there (``a_gen``, ``b_gen``: the positions a cluster generalised) and at
    least three constant tokens are the same around it: a value written in words (``failed:
    Broken pipe``, ``failed: Connection reset by peer``, ``failed: Operation timed out``).
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
    ra, rb = range(p, la - q), range(p, lb - q)
    if not (0 < len(ra) <= SLOT_SPAN and 0 < len(rb) <= SLOT_SPAN):
        return None
    if not (all(i in a_gen for i in ra) or all(j in b_gen for j in rb)):
        return None
    around = sum(WILDCARD not in t for t in a[:p]) + sum(WILDCARD not in t for t in a[la - q :])
    return (ra, rb) if around >= 3 else None


# where to look for the next agreeing pair after a disagreement, nearest first
_RESYNC = sorted(
    ((di, dj) for di in range(VARIANT_SPAN + 1) for dj in range(VARIANT_SPAN + 1) if di or dj),
    key=lambda d: (d[0] + d[1], abs(d[0] - d[1])),
)


_OPEN = frozenset("=:([{<#@/'\"")
_CLOSE = frozenset(")]}>,;:'\"")


def _common_shape(a: str, b: str) -> tuple[str, str]:
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
    while j > 0 and a[-j] not in _CLOSE:
        j -= 1
    suffix = a[len(a) - j :] if j else ""
    if "\x00" in prefix or "\x00" in suffix:
        return ("", "")
    return prefix, suffix


def _fits(shape: tuple[str, str], token: str) -> bool:
    prefix, suffix = shape
    return (
        len(token) >= len(prefix) + len(suffix)
        and token.startswith(prefix)
        and token.endswith(suffix)
    )


def _render(tokens: list[str]) -> str:
    text = " ".join(tokens)
    if "<*><*>" in text:
        text = _MERGE_ADJ.sub(WILDCARD, text)
    return text


def _compile_plan(plan: _Plan) -> Callable[[str], list[str]]:
    """:meth:`TemplateMiner.params` for one ``plan`` as a function of the line: one expression
    per variable instead of a loop over the plan for every line (``logs parse`` on files). A
    token pattern (``(.*?):(.*?)\\Z`` from ``<*>:<*>``) becomes the string operations that
    give its groups: its lazy groups split the token at the first place each separator fits,
    after its fixed prefix and suffix. The generated source holds only integers and names; the
    texts are passed in by name."""
    names: dict[str, Any] = {}
    items: list[str] = []
    for k, (pos, head, tail, pattern) in enumerate(plan):
        if pattern is None:
            if head or tail:
                items.append(f"(v := r[{pos}])[{head}:len(v) - {tail}]")
            else:
                items.append(f"r[{pos}]")
            continue
        items.append(_pattern_expression(k, pos, pattern, names))
    source = f"def extract(message):\n    r = message.split()\n    return [{', '.join(items)}]\n"
    exec(source, names)  # integers and fixed names only
    extract: Callable[[str], list[str]] = names["extract"]
    return extract


def _pattern_expression(k: int, pos: int, pattern: re.Pattern[str], names: dict[str, Any]) -> str:
    """The expression giving ``pattern``'s groups for token ``pos`` (the token itself when it
    does not match), as :meth:`TemplateMiner.params` does with the pattern."""
    parts = _PATTERN_PARTS.get(pattern.pattern)
    if parts is None or len(parts) < 2:
        names[f"match{k}"] = pattern.match
        return f"*(m.groups() if (m := match{k}(v := r[{pos}])) is not None else (v,))"
    head, *separators, tail = parts
    names[f"head{k}"], names[f"tail{k}"] = head, tail
    fits = f"len(v := r[{pos}]) >= {len(head) + len(tail)} and v.startswith(head{k})"
    fits += f" and v.endswith(tail{k})"
    inner = f"v[{len(head)}:len(v) - {len(tail)}]"
    if not separators:
        return f"({inner} if {fits} else v)"
    if len(set(separators)) == 1 and separators[0]:
        names[f"sep{k}"] = separators[0]
        n = len(separators)
        split = f"len(p := {inner}.split(sep{k}, {n})) == {n + 1}"
        return f"*(p if {fits} and {split} else (v,))"
    names[f"match{k}"] = pattern.match
    return f"*(m.groups() if (m := match{k}(v := r[{pos}])) is not None else (v,))"


_PATTERN_PARTS: dict[str, list[str]] = {}
"""A token pattern's source -> the fixed texts around and between its groups (see
:meth:`TemplateMiner._token_pattern`)."""


class TemplateMiner:
    """The streaming miner. ``add`` learns from a message; ``match`` only looks it up."""

    def __init__(self, config: MinerConfig | None = None) -> None:
        self.config = config or MinerConfig()
        self._mask_cache: dict[str, str] = {}
        self._shape_cache: dict[str, _Shape] = {}
        # token shape -> masked token ("" when its tokens must be masked one by one)
        self._token_cache: dict[str, str] = {}
        self._digit_tokens: set[str] = set()  # masked tokens of that cache that keep a digit
        # coarse line shape (batches) -> what masking makes of it
        self._group_cache: dict[str, _Shape] = {}
        self._clusters: list[_Cluster] = []
        self._by_id: dict[str, _Cluster] = {}
        self._sub_owner: dict[str, _Cluster] = {}  # every template id given -> its cluster
        self._by_length: dict[int, list[_Cluster]] = {}
        self._by_tokens: dict[tuple[str, ...], _Cluster] = {}
        self._seq_cache: dict[tuple[str, ...], _Entry] = {}
        # (length, first two constant tokens) of a cluster's first template -> those clusters,
        # oldest first (where :meth:`_variant_cluster` looks)
        self._by_lead: dict[tuple[int, str, str], list[_Cluster]] = {}
        self._token_re: dict[str, re.Pattern[str]] = {}
        self._extractors: dict[_Plan, Callable[[str], list[str]]] = {}
        self.lines = 0

    # --- learning ----------------------------------------------------------------------------

    def add(self, message: str, *, timestamp: float | None = None) -> TemplateMatch:
        """Learn from ``message`` and return its template as of now."""
        entry, params = self.learn(message, timestamp)
        return TemplateMatch(entry.template_id, entry.template, params, entry.cluster.index)

    def learn(
        self, message: str, timestamp: float | None = None, *, want_params: bool = True
    ) -> tuple[_Entry, list[str]]:
        """:meth:`add` without the result object: the sequence's entry and the parameters.

        Callers read ``entry.template`` and ``entry.template_id`` right away (the template text
        changes as the miner learns, the id stays), or keep the entry and ask :meth:`final` for
        its template once every line is learnt.
        """
        # Lines with the same "shape" mask the same way (see :func:`line_shape`), except the
        # tokens remembered in ``keep`` (whose rules count characters the shape hides, as in MAC
        # addresses), which are re-masked from the line itself.
        shape = line_shape(message)
        known = self._shape_cache.get(shape)
        raw: list[str] | None = None
        if known is None:
            raw = message.split()
            known = self._learn_shape(shape, message, raw)
        keep = known.keep
        if keep:
            if raw is None:
                raw = message.split()
            rebuilt = list(known.masked)
            for i in keep:
                rebuilt[i] = self._mask_one(raw[i])
            masked = tuple(rebuilt)
            entry = self._entry(masked)
        else:
            masked = known.masked
            cached = known.entry
            if cached is None:
                cached = known.entry = self._entry(masked)
            entry = cached
        self._account(entry, masked, 1, message, timestamp, timestamp)
        plan = entry.plan
        if not plan or not want_params:
            return entry, []
        return entry, self.params(plan, raw if raw is not None else message.split())

    def _account(
        self,
        entry: _Entry,
        masked: tuple[str, ...],
        n: int,
        message: str,
        first: float | None,
        last: float | None,
    ) -> None:
        """Count ``n`` lines of one masked sequence."""
        self.lines += n
        cluster = entry.cluster
        if cluster.merged_into is not None:
            while cluster.merged_into is not None:
                cluster = cluster.merged_into
            entry.cluster = cluster
            entry.version = -1
        cluster.count += n
        if cluster.live_enums:
            self._count_enums(cluster, masked, n)
        if entry.version != cluster.version:
            self._refresh(entry, cluster, masked)
        stat = entry.stat
        if stat is None:
            stat = cluster.stats.get(entry.template_id)
            if stat is None:
                stat = cluster.stats[entry.template_id] = _Stat(0, message[:500], first, last)
                cluster.subs[entry.template_id] = entry.diffs
                self._sub_owner.setdefault(entry.template_id, cluster)
            entry.stat = stat
        stat.count += n
        if first is not None and (stat.first is None or first < stat.first):
            stat.first = first
        if last is not None and (stat.last is None or last > stat.last):
            stat.last = last

    def add_batch(
        self, messages: Sequence[str], timestamps: Sequence[float | None] | None = None
    ) -> None:
        """Learn from many messages at once, without per-message results (``logs templates``)."""
        self.learn_many(messages, timestamps, entries=False)

    def learn_many(
        self,
        messages: Sequence[str],
        timestamps: Sequence[float | None] | None = None,
        *,
        entries: bool = True,
    ) -> list[_Entry]:
        """Learn from many messages at once; with ``entries`` the entry of each (see :meth:`final`
        for its template once everything is learnt), else an empty list.

        The lines of a batch are grouped by shape in polars (C-speed regular expressions); each
        group is masked and placed once and counted with its size. Groups are learnt in the order
        of their first line, so the templates are those of :meth:`add` line by line except where
        the order in which two clusters meet inside one batch matters.
        """
        if len(messages) < BATCH_MIN:
            learn = self.learn
            got = [
                learn(
                    message, timestamps[i] if timestamps is not None else None, want_params=False
                )[0]
                for i, message in enumerate(messages)
            ]
            return got if entries else []
        import polars as pl

        out: list[Any] = [None] * len(messages) if entries else []

        # the fine shape is line_shape(); grouping is by the coarse one (_COARSE_FROM)
        fine = (
            pl.Series("m", messages, dtype=pl.String)
            .str.replace_all(_RS_UUID_LC, "\x03")
            .str.replace_all(_RS_HEX_WORD + "|[0-9]{2,}", "\x01")
        )
        frame = pl.DataFrame(
            {
                "s": (" " + fine)
                .str.replace_many(_COARSE_FROM, _COARSE_TO)
                .str.replace_all("[0-9]", "\x02"),
                "f": fine,
                "i": pl.int_range(len(messages), eager=True),
            }
        )
        groups = frame.group_by("s", maintain_order=True).agg(pl.col("f").first(), pl.col("i"))
        member_lists = groups.get_column("i").to_list()
        known_groups = self._group_cache
        plans: list[_Shape] = []
        per_line: list[int] = []  # members of groups whose lines are masked one by one
        for coarse, shape, members in zip(
            groups.get_column("s").to_list(),
            groups.get_column("f").to_list(),
            member_lists,
            strict=True,
        ):
            known = known_groups.get(coarse)
            if known is None:
                # what masking makes of this coarse shape holds for every batch to come
                known = _Shape(*self._group_mask(messages[members[0]], shape))
                if len(known_groups) >= self.config.cache_size:
                    known_groups.clear()
                known_groups[coarse] = known
            plans.append(known)
            if known.keep:
                per_line.extend(members)
        # the exact shapes of those lines, for the token cache (one polars call)
        fine_of = (
            dict(zip(per_line, fine.gather(per_line).to_list(), strict=True)) if per_line else {}
        )
        exact = self._mask_cache.get
        by_shape = self._token_cache.get
        for known, members in zip(plans, member_lists, strict=True):  # in first-line order
            masked, keep = known.masked, known.keep
            if not keep:
                first = last = None
                if timestamps is not None:
                    times = [t for i in members if (t := timestamps[i]) is not None]
                    if times:
                        first, last = min(times), max(times)
                entry = known.entry
                if entry is None:
                    entry = known.entry = self._entry(masked)
                self._account(entry, masked, len(members), messages[members[0]], first, last)
                if entries:
                    for i in members:
                        out[i] = entry
                continue
            # a digit of some token is part of the template: the lines are masked by the texts
            # of those tokens (which alone decide how they mask), each text once
            alike: dict[tuple[str, ...], list[int]] = {}
            split: dict[int, list[str]] = {}
            for i in members:
                raw = messages[i].split()
                key = tuple([raw[k] for k in keep])
                same = alike.get(key)
                if same is None:
                    alike[key] = [i]
                    split[i] = raw
                else:
                    same.append(i)
            for same in alike.values():
                i = same[0]
                raw = split[i]
                shapes = fine_of[i].split()
                if len(shapes) != len(raw):
                    shapes = [line_shape(token) for token in raw]
                rebuilt = list(masked)
                for k in keep:
                    token = raw[k]
                    m = exact(token)
                    if m is None:
                        m = by_shape(shapes[k])
                        if m is None:
                            m = self._mask_by_shape(token, shapes[k])
                        if m == "":
                            m = self._mask_one(token)
                    rebuilt[k] = m
                one = tuple(rebuilt)
                first = last = None
                if timestamps is not None:
                    times = [t for j in same if (t := timestamps[j]) is not None]
                    if times:
                        first, last = min(times), max(times)
                entry = self._entry(one)
                self._account(entry, one, len(same), messages[i], first, last)
                if entries:
                    for j in same:
                        out[j] = entry
        return out

    def _group_mask(self, message: str, shape: str) -> tuple[tuple[str, ...], tuple[int, ...]]:
        """The masked tokens of a batch group's first line and the positions that can differ
        between its lines (a digit kept in the template, a token masked one by one)."""
        raw = message.split()
        shapes = shape.split()
        if len(shapes) != len(raw):
            shapes = raw
        get = self._token_cache.get
        digits = self._digit_tokens
        masked: list[str] = []
        keep: list[int] = []
        for i, token in enumerate(raw):
            m = get(shapes[i])
            if m is None:
                m = self._mask_by_shape(token, shapes[i])
            if m == "":
                keep.append(i)
                m = self._mask_one(token)
            elif m in digits:
                keep.append(i)
            masked.append(m)
        return tuple(masked), tuple(keep)

    def _mask_token_of(self, token: str) -> str:
        """One token, through the exact cache, then its shape's cache."""
        m = self._mask_cache.get(token)
        if m is not None:
            return m
        shape = line_shape(token)
        m = self._token_cache.get(shape)
        if m is None:
            m = self._mask_by_shape(token, shape)
        return self._mask_one(token) if m == "" else m

    def _entry(self, masked: tuple[str, ...]) -> _Entry:
        entry = self._seq_cache.get(masked)
        if entry is None:
            entry = _Entry(self._place(masked), masked)
            if len(self._seq_cache) >= self.config.cache_size:
                self._seq_cache.clear()
            self._seq_cache[masked] = entry
        return entry

    def _refresh(self, entry: _Entry, cluster: _Cluster, masked: tuple[str, ...]) -> None:
        text, plan, diffs = self._render_for(cluster, masked)
        entry.version = cluster.version
        entry.template = text
        entry.template_id = _id_for(cluster, diffs)
        entry.plan = plan
        entry.diffs = diffs
        entry.stat = None

    def _learn_shape(self, shape: str, message: str, raw: list[str]) -> _Shape:
        """Mask a line whose shape is new; remember the result for every line of that shape."""
        shapes = shape.split()
        if len(shapes) != len(raw):  # cannot happen (only digits change); be safe anyway
            shapes = raw
        masked: list[str] = []
        keep: list[int] = []
        get = self._token_cache.get
        for i, token in enumerate(raw):
            m = get(shapes[i])
            if m is None:
                m = self._mask_by_shape(token, shapes[i])
            if m == "":
                # the rules depend on this token's digits themselves: masked per line
                keep.append(i)
                m = self._mask_one(token)
            masked.append(m)
        if len(self._shape_cache) >= self.config.cache_size:
            self._shape_cache.clear()
        known = _Shape(tuple(masked), tuple(keep))
        self._shape_cache[shape] = known
        return known

    def _mask_by_shape(self, token: str, shape: str) -> str:
        """The masked token, cached under its shape when every token of that shape masks alike;
        ``""`` marks a shape whose tokens must be masked one by one."""
        masked = self._mask_one(token)
        sensitive = (
            _MULTI_DIGITS.search(masked) is not None  # the shape hides a run that was kept
            or token.count(":") >= 5  # MAC addresses count hex pairs
            or not token.isascii()
            # something the shape did not hide that may be a UUID (upper case, digits first,
            # or digit runs whose lengths the shape forgets): UUIDs count their digits
            or ("-" in shape and _hides_uuid(shape))
        )
        cache = self._token_cache
        if len(cache) >= self.config.cache_size:
            cache.clear()
            self._digit_tokens.clear()
        cache[shape] = "" if sensitive else masked
        if not sensitive and _ANY_DIGIT.search(masked) is not None:
            self._digit_tokens.add(masked)
        return "" if sensitive else masked

    def _mask_one(self, token: str) -> str:
        m = self._mask_cache.get(token)
        return m if m is not None else self._mask_slow(token)

    def _mask_slow(self, token: str) -> str:
        if token.isdigit():
            return WILDCARD  # the commonest variable: not worth a cache slot
        masked = mask_token(token)
        cache = self._mask_cache
        # constants repeat and are few; values are mostly unique: cache them only while there is
        # room, so they never evict the vocabulary
        if masked == token or len(cache) < self.config.cache_size // 2:
            if len(cache) >= self.config.cache_size:
                cache.clear()
            cache[token] = masked
        return masked

    def _count_enums(self, cluster: _Cluster, masked: tuple[str, ...], n: int = 1) -> None:
        values = cluster.values
        limit = self.config.enum_max
        live = 0
        grown = False
        for pos, seen in values.items():
            if seen is None:
                continue
            value = masked[pos]
            count = seen.get(value)
            if count is None and (len(seen) >= limit or WILDCARD in value or _units(value, seen)):
                values[pos] = None
                cluster.version += 1
                grown = True
                continue
            seen[value] = (count or 0) + n
            live += 1
            if count is None:
                grown = True
        cluster.live_enums = live
        if grown:
            self._join_slots(cluster)

    def _place(self, masked: tuple[str, ...]) -> _Cluster:
        n = len(masked)
        bucket = self._by_length.setdefault(n, [])
        best: _Cluster | None = None
        best_score = -1.0
        threshold = self.config.similarity
        # a short message joins only clusters with its first word (when both have one)
        head = masked[0] if n <= self.config.short and WILDCARD not in masked[0] else None
        # positions that agree, as a share of all: an upper bound of the similarity (positions
        # where both are wildcards count on both sides of it), so below the threshold a cluster
        # without enumerations is out without the full count
        floor = threshold * n - 1e-9
        for cluster in bucket:
            tokens = cluster.tokens
            if head is not None and tokens[0] != head and WILDCARD not in tokens[0]:
                continue
            if not cluster.live_enums:
                if sum(map(eq, tokens, masked)) < floor:
                    continue
                score = self._similarity(tokens, masked)
            else:
                score = self._similarity(tokens, masked)
                if score < threshold:
                    score = self._enum_similarity(cluster, masked)
            if score >= threshold and score > best_score:
                best, best_score = cluster, score
        if best is None:
            if len(bucket) >= self.config.max_clusters_per_length:
                # bounded memory: the least-used cluster of this length absorbs the newcomer
                best = min(bucket, key=lambda c: c.count)
            else:
                joined = self._variant_cluster(masked)
                best = self._new_cluster(masked)
                best.joined = joined
                self._file_lead(best)
                bucket.append(best)
                if joined is None:
                    self._join_slots(best)
                return best
        return self._merge(best, masked)

    def _variant_cluster(self, masked: tuple[str, ...]) -> _Cluster | None:
        """The oldest cluster of another length ``masked`` is a variant of (:func:`_variant_of`),
        among those whose first template starts with the same two constant tokens (see
        :meth:`_file_lead`)."""
        lead = _lead(masked)
        if lead is None:
            return None
        n = len(masked)
        found: _Cluster | None = None
        by_lead = self._by_lead
        for length in range(max(1, n - 2 * VARIANT_SPAN), n + 2 * VARIANT_SPAN + 1):
            peers = by_lead.get((length, *lead)) if length != n else None
            if not peers:
                continue
            for cluster in peers:  # oldest first
                if found is not None and cluster.index > found.index:
                    break
                if cluster.merged_into is None and _variant_of(cluster.tokens, masked):
                    found = cluster
                    break
        return None if found is None else _root(found)

    def _join_slots(self, cluster: _Cluster) -> None:
        """Clusters of other lengths that differ from ``cluster`` only where a value is written
        in words (:func:`_slot_of`) are one template once that place has had more than
        ``enum_max`` values between them (until then, like a one-token enumeration, each value
        is a template): the younger clusters join the oldest one."""
        group = self._slot_group(cluster)
        for peer, span in group[1:]:
            if all(pos in peer.gen for pos in span):
                # the place is known to vary in ``peer``: its group holds the values of every length
                around_peer = self._slot_group(peer)
                if len(around_peer) > len(group):
                    group = around_peer
                break
        if sum(self._span_values(member, span) for member, span in group) <= self.config.enum_max:
            return
        root = _root(min((member for member, _ in group), key=lambda c: _root(c).index))
        for member, span in group:
            self._unenumerate(member, span)
            if member is not root and member.joined is None and _root(member) is member:
                member.joined = root
                member.version += 1

    def _slot_group(self, cluster: _Cluster) -> list[tuple[_Cluster, range]]:
        """``cluster`` and the clusters :func:`_slot_of` pairs it with, each with its place."""
        if cluster.merged_into is not None:
            return []
        lead = _lead(cluster.first)
        if lead is None:
            return []
        n = len(cluster.tokens)
        gen = cluster.gen
        group: list[tuple[_Cluster, range]] = []
        for length in range(max(1, n - SLOT_SPAN + 1), n + SLOT_SPAN):
            for peer in self._by_lead.get((length, *lead), ()) if length != n else ():
                if peer.merged_into is not None or not (gen or peer.gen):
                    continue
                spans = _slot_of(cluster.tokens, gen, peer.tokens, peer.gen)
                if spans is None:
                    continue
                if not group:
                    group.append((cluster, spans[0]))
                group.append((peer, spans[1]))
        return group

    def _span_values(self, cluster: _Cluster, span: range) -> int:
        """How many values ``cluster`` has seen at ``span`` (past ``enum_max``: one more)."""
        most = 1
        for pos in span:
            if pos in cluster.gen:
                seen = cluster.values.get(pos)
                most = max(most, self.config.enum_max + 1 if seen is None else len(seen))
        return most

    @staticmethod
    def _unenumerate(cluster: _Cluster, positions: range) -> None:
        """Enumerations at ``positions`` become variables (they hold a value in words)."""
        values = cluster.values
        changed = False
        for pos in positions:
            if values.get(pos) is not None:
                values[pos] = None
                changed = True
        if changed:
            cluster.version += 1
            cluster.live_enums = sum(1 for v in values.values() if v is not None)

    def _file_lead(self, cluster: _Cluster) -> None:
        lead = _lead(cluster.first)
        if lead is not None:
            peers = self._by_lead.setdefault((len(cluster.first), *lead), [])
            if len(peers) < LEAD_PEERS:
                peers.append(cluster)

    def _new_cluster(self, masked: tuple[str, ...], cid: str | None = None) -> _Cluster:
        if cid is None:
            base = template_id(_render(list(masked)))
            cid, salt = base, 0
            # the same first template made twice (rare): salt it
            while cid in self._by_id or cid in self._sub_owner:
                salt += 1
                cid = template_id(f"{base}#{salt}")
        cluster = _Cluster(len(self._clusters), cid, masked, list(masked))
        self._clusters.append(cluster)
        self._by_id[cid] = cluster
        self._by_tokens.setdefault(masked, cluster)
        return cluster

    @staticmethod
    def _enum_similarity(cluster: _Cluster, masked: tuple[str, ...]) -> float:
        """:meth:`_similarity` where a value an enumeration position has seen also agrees."""
        values = cluster.values
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
            if seen is not None and b in seen:
                same += 1
        return 1.0 if n == 0 else same / n

    @staticmethod
    def _similarity(tokens: list[str], masked: tuple[str, ...]) -> float:
        # positions where both sides are bare wildcards say nothing either way (C-level counts)
        n = len(masked)
        same = sum(map(eq, tokens, masked))
        if not same:
            return 0.0
        wild = _WILD_ROWS.get(n)
        if wild is None:
            wild = _WILD_ROWS[n] = (WILDCARD,) * n
        both_wild = sum(map(and_, map(eq, tokens, wild), map(eq, masked, wild)))
        n -= both_wild
        return 1.0 if n == 0 else (same - both_wild) / n

    def _merge(self, cluster: _Cluster, masked: tuple[str, ...]) -> _Cluster:
        """Generalise ``cluster`` to take ``masked``; returns the cluster that holds it (another
        one when the generalised tokens are those of an older cluster: they are fused)."""
        tokens = cluster.tokens
        before = tuple(tokens)
        gen = cluster.gen
        fresh = False
        for pos, (a, b) in enumerate(zip(tokens, masked, strict=True)):
            if a == b:
                continue
            shape = gen.get(pos)
            if shape is None:
                # first disagreement here: every earlier member had ``a``
                fresh = True
                cluster.values[pos] = (
                    None if WILDCARD in a or _units(b, (a,)) else {a: cluster.count}
                )
                shape = _common_shape(a, b)
            elif not _fits(shape, b):
                shape = ("", "")
            else:
                continue
            gen[pos] = shape
            tokens[pos] = shape[0] + WILDCARD + shape[1]
        cluster.version += 1
        cluster.live_enums = sum(1 for v in cluster.values.values() if v is not None)
        if fresh:
            self._join_slots(cluster)
        after = tuple(tokens)
        if after == before:
            return cluster
        by_tokens = self._by_tokens
        if by_tokens.get(before) is cluster:
            del by_tokens[before]
        other = by_tokens.get(after)
        if other is None or other is cluster:
            by_tokens[after] = cluster
            return cluster
        keep, gone = (other, cluster) if other.index < cluster.index else (cluster, other)
        self._fuse(keep, gone)
        by_tokens[after] = keep
        return keep

    def _fuse(self, keep: _Cluster, gone: _Cluster) -> None:
        """Two clusters that generalised to the same tokens are one template: ``keep`` (the
        older) takes ``gone``'s lines, statistics and ids (which stay valid as aliases)."""
        limit = self.config.enum_max
        for pos, shape in gone.gen.items():
            keep.gen.setdefault(pos, shape)
        values = keep.values
        for pos in set(values) | set(gone.values):
            mine, theirs = values.get(pos), gone.values.get(pos)
            if mine is None or theirs is None or pos not in values or pos not in gone.values:
                values[pos] = None  # a variable on one side (or a wildcard constant)
                continue
            for value, count in theirs.items():
                mine[value] = mine.get(value, 0) + count
            if len(mine) > limit:
                values[pos] = None
        keep.count += gone.count
        keep.version += 1
        keep.live_enums = sum(1 for v in values.values() if v is not None)

        def moved(diffs: tuple[tuple[int, str], ...]) -> tuple[tuple[int, str], ...]:
            seq = list(gone.first)
            for pos, value in diffs:
                seq[pos] = value
            return tuple(
                (pos, seq[pos])
                for pos in sorted(values)
                if values[pos] is not None and seq[pos] != keep.first[pos]
            )

        for sub, diffs in [(gone.id, ()), *gone.subs.items()]:
            keep.subs[sub] = moved(diffs)
            self._sub_owner[sub] = keep
        for sub, stat in gone.stats.items():
            new = moved(gone.subs.get(sub, ()))
            new_id = _sub_id(keep.id, new)
            mine_stat = keep.stats.get(new_id)
            if mine_stat is None:
                keep.stats[new_id] = stat
                keep.subs.setdefault(new_id, new)
                self._sub_owner[new_id] = keep
                continue
            mine_stat.count += stat.count
            if stat.first is not None and (mine_stat.first is None or stat.first < mine_stat.first):
                mine_stat.first = stat.first
            if stat.last is not None and (mine_stat.last is None or stat.last > mine_stat.last):
                mine_stat.last = stat.last
        gone.merged_into = keep
        gone.stats = {}
        self._by_length[len(gone.tokens)].remove(gone)
        self._clusters.remove(gone)

    # --- looking up --------------------------------------------------------------------------

    def final(self, entry: _Entry) -> _Entry:
        """``entry`` (from :meth:`learn`) rendered as its cluster is now: the template a line
        learnt earlier has once every line is learnt (``logs parse`` on files)."""
        cluster = entry.cluster
        if cluster.merged_into is not None:
            while cluster.merged_into is not None:
                cluster = cluster.merged_into
            entry.cluster = cluster
            entry.version = -1
        if entry.version != cluster.version:
            self._refresh(entry, cluster, entry.masked)
        return entry

    def match(self, message: str) -> TemplateMatch | None:
        """The template ``message`` belongs to, without learning; None when nothing fits."""
        found = self._find(message)
        return None if found is None else self._result(*found)

    def _find(self, message: str) -> tuple[_Cluster, list[str], tuple[str, ...]] | None:
        raw = message.split()
        get = self._mask_cache.get
        masked = tuple([m if (m := get(t)) is not None else self._mask_slow(t) for t in raw])
        entry = self._seq_cache.get(masked)
        cluster = entry.cluster if entry is not None else None
        while cluster is not None and cluster.merged_into is not None:
            cluster = cluster.merged_into
        if cluster is None:
            for candidate in self._by_length.get(len(masked), ()):
                gen = candidate.gen
                if all(
                    a == b or (i in gen and _fits(gen[i], b))
                    for i, (a, b) in enumerate(zip(candidate.tokens, masked, strict=True))
                ):
                    cluster = candidate
                    break
        if cluster is None:
            return None
        return cluster, raw, masked

    def _result(self, cluster: _Cluster, raw: list[str], masked: tuple[str, ...]) -> TemplateMatch:
        text, plan, diffs = self._render_for(cluster, masked)
        return TemplateMatch(_id_for(cluster, diffs), text, self.params(plan, raw), cluster.index)

    def _render_for(
        self, cluster: _Cluster, masked: tuple[str, ...]
    ) -> tuple[str, _Plan, tuple[tuple[int, str], ...]]:
        """The template text for this masked sequence, how to pull its parameters, and the
        enumeration values where it differs from the cluster's first template (its id)."""
        values = cluster.values
        gen = cluster.gen
        first = cluster.first
        plan: list[tuple[int, int, int, re.Pattern[str] | None]] = []
        diffs: list[tuple[int, str]] = []
        out: list[str] = []
        for pos, tok in enumerate(cluster.tokens):
            if pos in gen:
                if values.get(pos) is not None:
                    tok = masked[pos]  # an enumeration: the value is part of the template
                    if tok != first[pos]:
                        diffs.append((pos, tok))
                else:
                    prefix, suffix = gen[pos]
                    plan.append((pos, len(prefix), len(suffix), None))
                    out.append(tok)
                    continue
            out.append(tok)
            if tok == WILDCARD:
                plan.append((pos, 0, 0, None))
            elif WILDCARD in tok:
                plan.append((pos, 0, 0, self._token_pattern(tok)))
        return _render(out), tuple(plan), tuple(diffs)

    def extractor(self, entry: _Entry) -> Callable[[str], list[str]] | None:
        """A function giving a line's parameters under ``entry``'s template (None: it has none),
        for many lines of one template (``logs parse`` on files).

        Variables that are whole tokens are picked with one C call; others by the plan (a slice
        of the token, or its token pattern, compiled once per token shape).
        """
        plan = entry.plan
        if not plan:
            return None
        if all(not head and not tail and pattern is None for _, head, tail, pattern in plan):
            if len(plan) == 1:
                pos = plan[0][0]
                return lambda message: [message.split()[pos]]
            pick = itemgetter(*[p[0] for p in plan])
            return lambda message: list(pick(message.split()))
        extract = self._extractors.get(plan)
        if extract is None:
            if len(self._extractors) >= 10_000:
                self._extractors.clear()
            extract = self._extractors[plan] = _compile_plan(plan)
        return extract

    @staticmethod
    def params(plan: _Plan, raw: list[str]) -> list[str]:
        """The values behind each ``<*>`` of an entry's template (``plan``) in a line's tokens."""
        params: list[str] = []
        for pos, head, tail, pattern in plan:
            value = raw[pos]
            if pattern is None:
                params.append(value[head : len(value) - tail] if head or tail else value)
            else:
                found = pattern.match(value)
                if found is None:
                    params.append(value)
                else:
                    params.extend(found.groups())
        return params

    def _token_pattern(self, masked: str) -> re.Pattern[str]:
        pattern = self._token_re.get(masked)
        if pattern is None:
            parts = masked.split(WILDCARD)
            pattern = re.compile("(.*?)".join(re.escape(part) for part in parts) + r"\Z", re.S)
            if len(self._token_re) > 50_000:
                self._token_re.clear()
            if len(_PATTERN_PARTS) > 50_000:
                _PATTERN_PARTS.clear()
            self._token_re[masked] = pattern
            _PATTERN_PARTS[pattern.pattern] = parts
        return pattern

    # --- reporting and state -----------------------------------------------------------------

    @property
    def cluster_count(self) -> int:
        return len(self._clusters)

    def templates(self) -> list[Template]:
        """Every template seen, most frequent first, under its current id.

        Counts of an enumeration value that has since become a variable are folded into the
        template that replaced it (see :meth:`current_id`).
        """
        merged: dict[str, Template] = {}
        for cluster in self._clusters:
            for sub, stat in cluster.stats.items():
                live = self._live_diffs(cluster, cluster.subs.get(sub, ()))
                key = _id_for(cluster, live)
                tpl = merged.get(key)
                if tpl is None or cluster.joined is not None:
                    masked = list(cluster.first)
                    for pos, value in live:
                        masked[pos] = value
                    text = self._render_for(cluster, tuple(masked))[0]
                    if tpl is None:
                        merged[key] = Template(
                            key, text, stat.count, stat.example, stat.first, stat.last
                        )
                        continue
                    if text != tpl.template and text not in tpl.variants:
                        tpl.variants.append(text)
                tpl.count += stat.count
                if stat.first is not None and (
                    tpl.first_seen is None or stat.first < tpl.first_seen
                ):
                    tpl.first_seen = stat.first
                    tpl.example = stat.example
                if stat.last is not None and (tpl.last_seen is None or stat.last > tpl.last_seen):
                    tpl.last_seen = stat.last
        return sorted(merged.values(), key=lambda t: (-t.count, t.template))

    def current_id(self, template_id: str) -> str:
        """The id that now stands for ``template_id``: itself, unless it named an enumeration
        value that has become a variable (then the id of the template that absorbed it).

        Ids this miner never gave are returned unchanged.
        """
        cluster = self._sub_owner.get(template_id)
        if cluster is None:
            return template_id
        return _id_for(cluster, self._live_diffs(cluster, cluster.subs.get(template_id, ())))

    @staticmethod
    def _live_diffs(
        cluster: _Cluster, diffs: tuple[tuple[int, str], ...]
    ) -> tuple[tuple[int, str], ...]:
        values = cluster.values
        return tuple(d for d in diffs if values.get(d[0]) is not None)

    def state(self) -> dict[str, Any]:
        """A JSON-serialisable snapshot to resume from (see :meth:`from_state`)."""
        return {
            "version": 2,
            "lines": self.lines,
            "clusters": [
                {
                    "id": c.id,
                    "first": list(c.first),
                    "tokens": c.tokens,
                    "count": c.count,
                    "values": [[p, v] for p, v in c.values.items()],
                    "gen": [[p, list(v)] for p, v in c.gen.items()],
                    "stats": {k: [v.count, v.example, v.first, v.last] for k, v in c.stats.items()},
                    "subs": {k: [list(d) for d in v] for k, v in c.subs.items()},
                    "joined": None if c.joined is None else _root(c.joined).id,
                }
                for c in self._clusters
            ],
        }

    @classmethod
    def from_state(cls, state: dict[str, Any], config: MinerConfig | None = None) -> TemplateMiner:
        """A miner resuming from :meth:`state` (ids kept); an empty one for an unknown state.

        A version-1 state (ids were hashes of the template text) is read too: its clusters get
        ids from their current template and its statistics are placed by their examples.
        """
        miner = cls(config)
        version = state.get("version") if state else None
        if version not in (1, 2):
            return miner
        miner.lines = int(state.get("lines", 0))
        old_stats: list[tuple[str, list[Any]]] = []
        joins: list[tuple[_Cluster, str]] = []
        for item in state.get("clusters", []):
            tokens = [str(t) for t in item["tokens"]]
            first = tuple(str(t) for t in item.get("first", tokens))
            if len(first) != len(tokens):
                continue
            cluster = miner._new_cluster(first, str(item["id"]) if "id" in item else None)
            values = {int(p): (None if v is None else dict(v)) for p, v in item["values"]}
            cluster.tokens = tokens
            cluster.count = int(item["count"])
            cluster.values = values
            cluster.gen = {int(p): (str(v[0]), str(v[1])) for p, v in item.get("gen", [])}
            cluster.live_enums = sum(1 for v in values.values() if v is not None)
            miner._by_length.setdefault(len(tokens), []).append(cluster)
            miner._file_lead(cluster)
            if item.get("joined"):
                joins.append((cluster, str(item["joined"])))
            miner._by_tokens.pop(first, None)
            miner._by_tokens.setdefault(tuple(tokens), cluster)
            stats = item.get("stats", {})
            if version == 1:
                old_stats.extend(stats.items())
                continue
            for sub, (count, example, seen_first, seen_last) in stats.items():
                cluster.stats[str(sub)] = _Stat(int(count), str(example), seen_first, seen_last)
            for sub, diffs in item.get("subs", {}).items():
                cluster.subs[str(sub)] = tuple((int(p), str(v)) for p, v in diffs)
                miner._sub_owner[str(sub)] = cluster
        for cluster, joined in joins:
            target = miner._by_id.get(joined)
            if target is not None and target is not cluster:
                cluster.joined = target
        for _text, (count, example, seen_first, seen_last) in old_stats:
            found = miner._find(str(example))
            if found is None:
                continue
            cluster, _raw, masked = found
            diffs = miner._render_for(cluster, masked)[2]
            sub = _sub_id(cluster.id, diffs)
            stat = cluster.stats.get(sub)
            if stat is None:
                cluster.stats[sub] = _Stat(int(count), str(example), seen_first, seen_last)
                cluster.subs[sub] = diffs
                miner._sub_owner[sub] = cluster
            else:
                stat.count += int(count)
        return miner
