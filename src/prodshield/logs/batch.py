"""The batch path of the template miner (``logs templates``, ``logs parse`` on files).

The lines of a batch are grouped by a coarse shape in polars (C-speed regular expressions); each
group is masked and placed once and counted with its size. Groups are learnt in the order of
their first line, so the templates are those of :meth:`TemplateMiner.learn` line by line except
where the order in which two clusters meet inside one batch matters.
"""

from __future__ import annotations

from collections.abc import Sequence
from operator import itemgetter
from typing import Any, Protocol

from prodshield.logs.clusters import Entry
from prodshield.logs.endpoints import EndpointMasker, request_tokens
from prodshield.logs.shapes import UUID_LC, Shape, ShapeCaches, line_shape


class Learner(Protocol):
    """What the batch path needs of the miner (:class:`~prodshield.logs.templates.TemplateMiner`)."""

    shapes: ShapeCaches
    endpoints: EndpointMasker

    def learn(
        self,
        message: str,
        timestamp: float | None = None,
        *,
        want_params: bool = True,
        redacted: bool = False,
        example: str | None = None,
    ) -> tuple[Entry, list[str]]: ...

    def entry_for(self, masked: tuple[str, ...]) -> Entry: ...

    def count_lines(
        self,
        entry: Entry,
        masked: tuple[str, ...],
        n: int,
        message: str,
        first: float | None,
        last: float | None,
    ) -> None: ...


# The same classes for polars (Rust regex: no look-around), used to group a batch of lines.
_H = "[0-9a-f]"
_RS_UUID_LC = UUID_LC.pattern
_RS_HEX_WORD = (
    rf"\b(?:{_H}*[a-f]{_H}*[0-9]{_H}*[0-9]{_H}*|{_H}*[0-9]{_H}*[a-f]{_H}*[0-9]{_H}*"
    rf"|{_H}*[0-9]{_H}*[0-9]{_H}*[a-f]{_H}*)\b"
)
# Coarse shape: a digit run that starts a piece (after a space, a delimiter or the line start)
# makes that piece a variable whatever its length, so any such run is \x02; so is any other single
# digit (whose value may stay in the template: those positions are masked line by line). From
# the fine shape that is one pass of literals (Aho-Corasick in polars, much faster than regular
# expressions): a run (\x01) after a delimiter, and every digit left.
_PIECE_STARTS = " \t,;:=|\"'[](){}<>!?&#"
_COARSE_FROM = [d + "\x01" for d in _PIECE_STARTS] + list("0123456789")
_COARSE_TO = [d + "\x02" for d in _PIECE_STARTS] + ["\x02"] * 10
BATCH_MIN = 512
"""Below this many messages a batch is learnt line by line."""


def learn_many(
    miner: Learner,
    messages: Sequence[str],
    timestamps: Sequence[float | None] | None,
    entries: bool,
    examples: Sequence[str] | None = None,
) -> list[Entry]:
    """:meth:`TemplateMiner.learn_many`: with ``entries`` the entry of each message, else an
    empty list. The messages are what the miner learns (their secrets already ``<*>``);
    ``examples``: the same messages as printed (secrets masked), kept as templates' examples."""
    if examples is None:
        examples = messages
    if len(messages) < BATCH_MIN:
        learn = miner.learn
        got = [
            learn(
                message,
                timestamps[i] if timestamps is not None else None,
                want_params=False,
                redacted=True,
                example=examples[i],
            )[0]
            for i, message in enumerate(messages)
        ]
        return got if entries else []
    out: list[Any] = [None] * len(messages) if entries else []
    fine, groups = _group(messages)
    # a group's lines differ only in digits: its first line says whether they are request lines
    requests = [request_tokens(messages[members[0]]) is not None for _, _, members in groups]
    if any(requests):
        _learn_requests(miner, groups, requests, messages, examples, timestamps, out)
        groups = [g for g, request in zip(groups, requests, strict=True) if not request]
    shapes = miner.shapes
    cached = shapes.groups.get
    group_shape = shapes.group_shape
    # every group's masking first (it may fill the token caches the groups below read)
    plans = [
        cached(coarse) or group_shape(coarse, messages[members[0]], shape)
        for coarse, shape, members in groups
    ]
    # members of groups whose lines are masked one by one, and their exact shapes (one call)
    per_line = [
        i
        for known, (_, _, members) in zip(plans, groups, strict=True)
        if known.keep
        for i in members
    ]
    fine_of = dict(zip(per_line, fine.gather(per_line).to_list(), strict=True)) if per_line else {}
    count = miner.count_lines
    entry_for = miner.entry_for
    for known, (_, _, members) in zip(plans, groups, strict=True):  # in first-line order
        if known.keep:
            _learn_kept(miner, known, members, messages, examples, timestamps, fine_of, out)
            continue
        entry = known.entry
        if entry is None:
            entry = known.entry = entry_for(known.masked)
        if timestamps is None:
            count(entry, known.masked, len(members), examples[members[0]], None, None)
        else:
            first, last = _span(timestamps, members)
            count(entry, known.masked, len(members), examples[members[0]], first, last)
        if entries:
            for i in members:
                out[i] = entry
    return out


def _learn_requests(
    miner: Learner,
    groups: list[tuple[str, str, list[int]]],
    requests: list[bool],
    messages: Sequence[str],
    examples: Sequence[str],
    timestamps: Sequence[float | None] | None,
    out: list[Any],
) -> None:
    """The groups of request lines: each line masked to its endpoint (an endpoint's cluster
    is its own, so the order they are learnt in does not matter)."""
    masked_of = miner.endpoints.masked
    alike: dict[tuple[str, ...], list[int]] = {}
    for (_, _, members), request in zip(groups, requests, strict=True):
        if request:
            for i in members:
                alike.setdefault(masked_of(messages[i].split()), []).append(i)
    for masked, same in alike.items():
        first, last = _span(timestamps, same)
        entry = miner.entry_for(masked)
        miner.count_lines(entry, masked, len(same), examples[same[0]], first, last)
        if out:
            for j in same:
                out[j] = entry


def _group(messages: Sequence[str]) -> tuple[Any, list[tuple[str, str, list[int]]]]:
    """The lines' fine shapes (a polars Series, see :func:`line_shape`) and the groups of lines
    with the same coarse shape: (coarse shape, first line's fine shape, line indexes)."""
    from prodshield.logs.fastpath import load_polars

    pl = load_polars()

    fine = (
        pl.Series("m", messages, dtype=pl.String)
        .str.replace_all(_RS_UUID_LC, "\x03")
        .str.replace_all(_RS_HEX_WORD + "|[0-9]{2,}", "\x01")
    )
    frame = pl.DataFrame(
        {
            "s": (" " + fine).str.replace_many(_COARSE_FROM, _COARSE_TO),
            "f": fine,
            "i": pl.int_range(len(messages), eager=True),
        }
    )
    groups = frame.group_by("s", maintain_order=True).agg(pl.col("f").first(), pl.col("i"))
    return fine, list(
        zip(
            groups.get_column("s").to_list(),
            groups.get_column("f").to_list(),
            groups.get_column("i").to_list(),
            strict=True,
        )
    )


def _span(
    timestamps: Sequence[float | None] | None, members: list[int]
) -> tuple[float | None, float | None]:
    """The first and last timestamps of some lines (None, None: none known)."""
    if timestamps is None:
        return None, None
    times = [t for i in members if (t := timestamps[i]) is not None]
    return (min(times), max(times)) if times else (None, None)


def _learn_kept(
    miner: Learner,
    known: Shape,
    members: list[int],
    messages: Sequence[str],
    examples: Sequence[str],
    timestamps: Sequence[float | None] | None,
    fine_of: dict[int, str],
    out: list[Any],
) -> None:
    """A group where a digit of some token is part of the template: the lines are masked by the
    texts of those tokens (which alone decide how they mask), each text once."""
    masked, keep = known.masked, known.keep
    if len(members) == 1:
        i = members[0]
        alike: dict[Any, list[int]] = {None: members}
        split = {i: messages[i].split()}
    else:
        pick = itemgetter(*keep)  # one position: the token itself, else a tuple of them
        alike = {}
        split = {}
        for i in members:
            raw = messages[i].split()
            key = pick(raw)
            same = alike.get(key)
            if same is None:
                alike[key] = [i]
                split[i] = raw
            else:
                same.append(i)
    shapes = miner.shapes
    exact = shapes.tokens.get
    by_shape = shapes.token_shapes.get
    entry_for = miner.entry_for
    for same in alike.values():
        i = same[0]
        raw = split[i]
        token_shapes: list[str] | None = None
        rebuilt = list(masked)
        for k in keep:
            token = raw[k]
            m = exact(token)
            if m is None:
                if token_shapes is None:
                    token_shapes = fine_of[i].split()
                    if len(token_shapes) != len(raw):
                        token_shapes = [line_shape(token) for token in raw]
                m = by_shape(token_shapes[k])
                if m is None:
                    m = shapes.mask_by_shape(token, token_shapes[k])
                if m == "":
                    m = shapes.mask_one(token)
            rebuilt[k] = m
        one = tuple(rebuilt)
        first, last = _span(timestamps, same)
        entry = entry_for(one)
        miner.count_lines(entry, one, len(same), examples[i], first, last)
        if out:
            for j in same:
                out[j] = entry
