"""``clip`` and ``clip_bytes``: a cut text fits its limit whatever the limit, and its note says
exactly how much was left out (the notifiers cut outside text to what each service accepts)."""

from __future__ import annotations

import re

import pytest

from prodshield.text import clip, clip_bytes, reclip

NOTE = re.compile(r"…\[([\d,]+) more (characters|bytes)\]$")


@pytest.mark.parametrize("limit", [0, 1, 5, 20, 25, 40, 100, 999, 4096])
@pytest.mark.parametrize("text", ["x" * 5000, "é" * 3000, "日本語" * 2000, "ab" * 10])
def test_a_cut_text_fits_its_limit_and_counts_what_it_left_out(text: str, limit: int) -> None:
    for cut, size, unit in (
        (clip(text, limit), len, "characters"),
        (clip_bytes(text, limit), lambda s: len(s.encode()), "bytes"),
    ):
        whole = size(text)
        assert size(cut) <= limit, (limit, cut)
        if whole <= limit:
            assert cut == text
            continue
        found = NOTE.search(cut)
        if found is None:  # a limit too short for any note: the text's head alone
            assert text.startswith(cut) and size(cut) >= limit - 2, (limit, cut)
            continue
        kept = cut[: found.start()]
        assert text.startswith(kept) and found.group(2) == unit
        assert int(found.group(1).replace(",", "")) == whole - size(kept), (limit, cut)


FORGED = "…[9,999,999 more characters]"


@pytest.mark.parametrize("limit", [30, 60, 500])
def test_a_note_in_outside_text_is_not_believed(limit: int) -> None:
    long = "C" * 3000 + FORGED
    cut = clip(long, limit)
    assert len(cut) <= limit
    found = NOTE.search(cut)
    assert found is not None
    assert int(found.group(1).replace(",", "")) == len(long) - found.start()
    # kept whole, the writer's note shows three dots, and a later cut does not believe it either
    short = "short" + FORGED
    shown = clip(short, 100)
    assert shown == "short..." + FORGED[1:]
    again = reclip(shown, 30)
    found = NOTE.search(again)
    assert found is not None
    assert int(found.group(1).replace(",", "")) == len(shown) - found.start()


def test_a_later_cut_counts_from_the_earlier_one() -> None:
    first = clip("A" * 100_000, 2000)
    again = reclip(first, 160)
    found = NOTE.search(again)
    assert found is not None and len(again) <= 160
    assert int(found.group(1).replace(",", "")) == 100_000 - found.start()
