"""Streaming online template mining.

One pass, memory bounded by the number of templates: each message is split on whitespace, the
variable pieces of its tokens are masked (:mod:`prodshield.logs.masking`), and the masked token
sequence either hits the exact-sequence cache or is compared with the clusters of the same length
(Drain's idea: a cluster is a token sequence where positions that differed became wildcards).

A position that became a wildcard by merging keeps the set of values seen there, up to
``enum_max`` of them. While it has that few values it is treated as an *enumeration* and each value
stays in the template (``Transitioned from NEW to INITED`` and ``... from INITED to SETUP`` are two
templates, as in the labelled data); past ``enum_max`` the position is a variable for good and its
values are forgotten. The template text follows the labelling conventions: each variable is one
``<*>``, adjacent wildcards without a separator merge.

Template ids are a stable hash of the template text, so they do not depend on the order in which
clusters were created, and the state round-trips through :meth:`TemplateMiner.state`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from operator import and_, eq
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


# A value restated in parentheses with its unit ("18846 bytes (18.4 KB)") and an approximate
# duration ("lifetime <1 sec") are one value each: joined to one token, so that a line with them and
# a line without them have the same number of tokens (and land in one template).
_UNITS = r"(?:[KMGTP]i?B|[kKMGT]?B|bytes|ms|us|µs|s|sec|secs|seconds?|min|mins|minutes?|h|hours?|%)"
_DURATIONS = r"(?:ms|us|µs|s|sec|secs|seconds?|min|mins|minutes?|h|hours?)"
_RESTATED = re.compile(rf" \((\d[\d.,]*) ?({_UNITS})\)")
_APPROX = re.compile(rf"(?<!\S)([<>]=?|~)(\d[\d.]*) ({_DURATIONS})\b")


def _hides_uuid(shape: str) -> bool:
    return any(any(c in "ABCDEF" for c in m.group()) for m in _MAYBE_UUID.finditer(shape))


def join_values(message: str) -> str:
    """``message`` with restated and approximate values joined to one token each."""
    if " (" in message:
        message = _RESTATED.sub(r"(\1\2)", message)
    if "<" in message or ">" in message or "~" in message:
        message = _APPROX.sub(r"\1\2\3", message)
    return message


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


@dataclass(slots=True)
class _Cluster:
    index: int
    tokens: list[str]
    count: int = 0
    # generalized position -> {masked value: count}, or None once it has too many values
    values: dict[int, dict[str, int] | None] = field(default_factory=dict)
    # generalized position -> the (prefix, suffix) its values share, e.g. ("(", ")")
    gen: dict[int, tuple[str, str]] = field(default_factory=dict)
    version: int = 0
    """Bumped whenever the template text can change (a merge, an enumeration overflowing)."""
    live_enums: int = 0
    # per rendered template: count, example, first/last seen
    stats: dict[str, list[Any]] = field(default_factory=dict)


def template_id(template: str) -> str:
    """The stable id of a template text."""
    return hashlib.blake2b(template.encode("utf-8"), digest_size=8).hexdigest()


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


class TemplateMiner:
    """The streaming miner. ``add`` learns from a message; ``match`` only looks it up."""

    def __init__(self, config: MinerConfig | None = None) -> None:
        self.config = config or MinerConfig()
        self._mask_cache: dict[str, str] = {}
        # line shape -> (masked sequence, positions re-masked per line)
        self._shape_cache: dict[str, list[Any]] = {}
        # token shape -> masked token ("" when its tokens must be masked one by one)
        self._token_cache: dict[str, str] = {}
        self._digit_tokens: set[str] = set()  # masked tokens of that cache that keep a digit
        # coarse line shape (batches) -> [masked sequence, positions masked per line, entry]
        self._group_cache: dict[str, list[Any]] = {}
        self._clusters: list[_Cluster] = []
        self._by_length: dict[int, list[_Cluster]] = {}
        # masked sequence -> [cluster, cluster version, template, template id, param plan, stats]
        self._seq_cache: dict[tuple[str, ...], list[Any]] = {}
        self._token_re: dict[str, re.Pattern[str]] = {}
        self.lines = 0

    # --- learning ----------------------------------------------------------------------------

    def add(self, message: str, *, timestamp: float | None = None) -> TemplateMatch:
        """Learn from ``message`` and return its template as of now."""
        entry, params = self.learn(message, timestamp)
        return TemplateMatch(entry[3], entry[2], params, entry[0].index)

    def learn(self, message: str, timestamp: float | None = None) -> tuple[list[Any], list[str]]:
        """:meth:`add` without the result object: the sequence entry and the parameters.

        The entry is ``[cluster, version, template, template id, param plan, stats]``; callers
        read ``entry[2]`` (template) and ``entry[3]`` (id) right away, it changes as the miner
        learns.
        """
        # Lines with the same "shape" mask the same way (see :func:`line_shape`), except the
        # tokens remembered in ``keep`` (whose rules count characters the shape hides, as in MAC
        # addresses), which are re-masked from the line itself.
        text = join_values(message)
        shape = line_shape(text)
        known = self._shape_cache.get(shape)
        raw: list[str] | None = None
        if known is None:
            raw = text.split()
            known = self._learn_shape(shape, text, raw)
        keep = known[1]
        if keep:
            if raw is None:
                raw = text.split()
            rebuilt = list(known[0])
            for i in keep:
                rebuilt[i] = self._mask_one(raw[i])
            masked = tuple(rebuilt)
            entry = self._entry(masked)
        else:
            masked = known[0]
            entry = known[2]
            if entry is None:
                entry = known[2] = self._entry(masked)
        self._account(entry, masked, 1, message, timestamp, timestamp)
        plan = entry[4]
        if not plan:
            return entry, []
        return entry, self._params(plan, raw if raw is not None else text.split())

    def _account(
        self,
        entry: list[Any],
        masked: tuple[str, ...],
        n: int,
        message: str,
        first: float | None,
        last: float | None,
    ) -> None:
        """Count ``n`` lines of one masked sequence."""
        self.lines += n
        cluster = entry[0]
        cluster.count += n
        if cluster.live_enums:
            self._count_enums(cluster, masked, n)
        if entry[1] != cluster.version:
            self._refresh(entry, cluster, masked)
        stat = entry[5]
        if stat is None:
            stat = cluster.stats.get(entry[2])
            if stat is None:
                stat = cluster.stats[entry[2]] = [0, message[:500], first, last]
            entry[5] = stat
        stat[0] += n
        if first is not None and (stat[2] is None or first < stat[2]):
            stat[2] = first
        if last is not None and (stat[3] is None or last > stat[3]):
            stat[3] = last

    def add_batch(
        self, messages: Sequence[str], timestamps: Sequence[float | None] | None = None
    ) -> None:
        """Learn from many messages at once, without per-message results (``logs templates``).

        The lines of a batch are grouped by shape in polars (C-speed regular expressions); each
        group is masked and placed once and counted with its size. Groups are learnt in the order
        of their first line, so the templates are those of :meth:`add` line by line except where
        the order in which two clusters meet inside one batch matters.
        """
        if len(messages) < BATCH_MIN:
            for i, message in enumerate(messages):
                self.learn(message, timestamps[i] if timestamps is not None else None)
            return
        import polars as pl

        # the fine shape is line_shape(); grouping is by the coarse one (_COARSE_FROM)
        # Shapes of the raw lines: join_values() acts alike on every line of a coarse group, so
        # it is applied to a group's first line (and to lines learnt one by one) only.
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
        plans: list[list[Any]] = []
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
                first_message = messages[members[0]]
                text = join_values(first_message)
                if text != first_message:
                    shape = line_shape(text)
                known = [*self._group_mask(text, shape), None]
                if len(known_groups) >= self.config.cache_size:
                    known_groups.clear()
                known_groups[coarse] = known
            plans.append(known)
            if known[1]:
                per_line.extend(members)
        # the exact shapes of those lines, for the token cache (one polars call)
        fine_of = (
            dict(zip(per_line, fine.gather(per_line).to_list(), strict=True)) if per_line else {}
        )
        exact = self._mask_cache.get
        by_shape = self._token_cache.get
        for known, members in zip(plans, member_lists, strict=True):  # in first-line order
            masked, keep = known[0], known[1]
            if not keep:
                first = last = None
                if timestamps is not None:
                    times = [t for i in members if (t := timestamps[i]) is not None]
                    if times:
                        first, last = min(times), max(times)
                entry = known[2]
                if entry is None:
                    entry = known[2] = self._entry(masked)
                self._account(entry, masked, len(members), messages[members[0]], first, last)
                continue
            for i in members:  # a digit of some token is part of the template: line by line
                message = messages[i]
                text = join_values(message)
                raw = text.split()
                shapes = fine_of[i].split() if text == message else []
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
                ts = timestamps[i] if timestamps is not None else None
                self._account(self._entry(one), one, 1, message, ts, ts)

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

    def _entry(self, masked: tuple[str, ...]) -> list[Any]:
        entry = self._seq_cache.get(masked)
        if entry is None:
            cluster = self._place(masked)
            entry = [cluster, -1, "", "", (), None]
            if len(self._seq_cache) >= self.config.cache_size:
                self._seq_cache.clear()
            self._seq_cache[masked] = entry
        return entry

    def _refresh(self, entry: list[Any], cluster: _Cluster, masked: tuple[str, ...]) -> None:
        text, plan = self._render_for(cluster, masked)
        entry[1:] = [cluster.version, text, template_id(text), plan, None]

    def _learn_shape(self, shape: str, message: str, raw: list[str]) -> list[Any]:
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
        known: list[Any] = [tuple(masked), tuple(keep), None]
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
        for pos, seen in values.items():
            if seen is None:
                continue
            value = masked[pos]
            seen[value] = seen.get(value, 0) + n
            if len(seen) > limit or WILDCARD in value:
                values[pos] = None
                cluster.version += 1
            else:
                live += 1
        cluster.live_enums = live

    def _place(self, masked: tuple[str, ...]) -> _Cluster:
        n = len(masked)
        bucket = self._by_length.setdefault(n, [])
        best: _Cluster | None = None
        best_score = -1.0
        threshold = self.config.similarity
        for cluster in bucket:
            score = self._similarity(cluster.tokens, masked)
            if score >= threshold and score > best_score:
                best, best_score = cluster, score
        if best is None:
            if len(bucket) >= self.config.max_clusters_per_length:
                # bounded memory: the least-used cluster of this length absorbs the newcomer
                best = min(bucket, key=lambda c: c.count)
            else:
                best = _Cluster(len(self._clusters), list(masked))
                self._clusters.append(best)
                bucket.append(best)
                return best
        self._merge(best, masked)
        return best

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

    def _merge(self, cluster: _Cluster, masked: tuple[str, ...]) -> None:
        tokens = cluster.tokens
        gen = cluster.gen
        for pos, (a, b) in enumerate(zip(tokens, masked, strict=True)):
            if a == b:
                continue
            shape = gen.get(pos)
            if shape is None:
                # first disagreement here: every earlier member had ``a``
                cluster.values[pos] = None if WILDCARD in a else {a: cluster.count}
                shape = _common_shape(a, b)
            elif not _fits(shape, b):
                shape = ("", "")
            else:
                continue
            gen[pos] = shape
            tokens[pos] = shape[0] + WILDCARD + shape[1]
        cluster.version += 1
        cluster.live_enums = sum(1 for v in cluster.values.values() if v is not None)

    # --- looking up --------------------------------------------------------------------------

    def match(self, message: str) -> TemplateMatch | None:
        """The template ``message`` belongs to, without learning; None when nothing fits."""
        raw = join_values(message).split()
        get = self._mask_cache.get
        masked = tuple([m if (m := get(t)) is not None else self._mask_slow(t) for t in raw])
        entry = self._seq_cache.get(masked)
        cluster = entry[0] if entry is not None else None
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
        return self._result(cluster, raw, masked)

    def _result(self, cluster: _Cluster, raw: list[str], masked: tuple[str, ...]) -> TemplateMatch:
        text, plan = self._render_for(cluster, masked)
        return TemplateMatch(template_id(text), text, self._params(plan, raw), cluster.index)

    def _render_for(
        self, cluster: _Cluster, masked: tuple[str, ...]
    ) -> tuple[str, tuple[tuple[int, int, int, re.Pattern[str] | None], ...]]:
        """The template text for this masked sequence and how to pull its parameters."""
        values = cluster.values
        gen = cluster.gen
        plan: list[tuple[int, int, int, re.Pattern[str] | None]] = []
        out: list[str] = []
        for pos, tok in enumerate(cluster.tokens):
            if pos in gen:
                if values.get(pos) is not None:
                    tok = masked[pos]  # an enumeration: the value is part of the template
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
        return _render(out), tuple(plan)

    @staticmethod
    def _params(
        plan: tuple[tuple[int, int, int, re.Pattern[str] | None], ...], raw: list[str]
    ) -> list[str]:
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
            pattern = re.compile(
                "(.*?)".join(re.escape(part) for part in masked.split(WILDCARD)) + r"\Z", re.S
            )
            if len(self._token_re) > 50_000:
                self._token_re.clear()
            self._token_re[masked] = pattern
        return pattern

    # --- reporting and state -----------------------------------------------------------------

    @property
    def cluster_count(self) -> int:
        return len(self._clusters)

    def templates(self) -> list[Template]:
        """Every template seen, most frequent first."""
        merged: dict[str, Template] = {}
        for cluster in self._clusters:
            for text, (count, example, first, last) in cluster.stats.items():
                # a template seen before its cluster generalized is folded into the current one
                current = self.match(example)
                key = current.template if current is not None else text
                tpl = merged.get(key)
                if tpl is None:
                    merged[key] = Template(template_id(key), key, count, example, first, last)
                else:
                    tpl.count += count
                    if first is not None and (tpl.first_seen is None or first < tpl.first_seen):
                        tpl.first_seen = first
                    if last is not None and (tpl.last_seen is None or last > tpl.last_seen):
                        tpl.last_seen = last
        return sorted(merged.values(), key=lambda t: (-t.count, t.template))

    def state(self) -> dict[str, Any]:
        """A JSON-serialisable snapshot to resume from (see :meth:`from_state`)."""
        return {
            "version": 1,
            "lines": self.lines,
            "clusters": [
                {
                    "tokens": c.tokens,
                    "count": c.count,
                    "values": [[p, v] for p, v in c.values.items()],
                    "gen": [[p, list(v)] for p, v in c.gen.items()],
                    "stats": c.stats,
                }
                for c in self._clusters
            ],
        }

    @classmethod
    def from_state(cls, state: dict[str, Any], config: MinerConfig | None = None) -> TemplateMiner:
        miner = cls(config)
        if not state or state.get("version") != 1:
            return miner
        miner.lines = int(state.get("lines", 0))
        for item in state.get("clusters", []):
            values = {int(p): (None if v is None else dict(v)) for p, v in item["values"]}
            cluster = _Cluster(
                index=len(miner._clusters),
                tokens=[str(t) for t in item["tokens"]],
                count=int(item["count"]),
                values=values,
                gen={int(p): (str(v[0]), str(v[1])) for p, v in item.get("gen", [])},
                live_enums=sum(1 for v in values.values() if v is not None),
                stats={str(k): list(v) for k, v in item.get("stats", {}).items()},
            )
            miner._clusters.append(cluster)
            miner._by_length.setdefault(len(cluster.tokens), []).append(cluster)
        return miner
