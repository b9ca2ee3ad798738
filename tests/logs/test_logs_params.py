"""A template's compiled parameter extractor (``logs parse`` on files) gives what the plan's
reference reading, :func:`prodshield.logs.params.params`, gives, token pattern by token pattern."""

from __future__ import annotations

import random

from prodshield.logs.params import COMPILE_MIN, Extractors, Plan, compile_plan, params

_PIECES = ["", "", ":", "-", ".", ",", "[", "]", "a", "ab", "::", "x=", '"']
_CHARS = '0123456789:-.,[]ab="'


def _masked(rng: random.Random) -> str:
    parts = [rng.choice(_PIECES) for _ in range(rng.randrange(2, 6))]
    return "<*>".join(parts)


def _token(rng: random.Random, masked: str | None) -> str:
    """A token without whitespace: mostly one the pattern fits, else any."""
    if masked is not None and rng.random() < 0.7:
        *parts, last = masked.split("<*>")
        values = ["".join(rng.choice(_CHARS) for _ in range(rng.randrange(0, 4))) for _ in parts]
        return (
            "".join(part + value for part, value in zip(parts, values, strict=True)) + last or "0"
        )
    return "".join(rng.choice(_CHARS) for _ in range(rng.randrange(0, 8))) or "0"


def test_compiled_extractors_give_the_reference_parameters() -> None:
    rng = random.Random(4)
    for _ in range(3000):
        size = rng.randrange(1, 6)
        plan: list[tuple[int, int, int, str | None]] = []
        for pos in range(size):
            kind = rng.random()
            if kind < 0.3:
                plan.append((pos, 0, 0, None))
            elif kind < 0.5:
                plan.append((pos, rng.randrange(0, 3), rng.randrange(0, 3), None))
            elif kind < 0.9:
                plan.append((pos, 0, 0, _masked(rng)))
        if not plan:
            continue
        extract = compile_plan(tuple(plan))
        for _ in range(5):
            tokens = [
                _token(rng, next((m for p, _, _, m in plan if p == pos), None))
                for pos in range(size)
            ]
            line = " ".join(tokens)
            want = params(tuple(plan), line.split())
            assert extract(line) == want, (plan, line)


def test_each_kind_of_token_pattern() -> None:
    plan: Plan = (
        (0, 0, 0, "[<*>"),
        (1, 0, 0, "<*>]"),
        (2, 0, 0, "[<*>]"),
        (3, 0, 0, "<*>:<*>:<*>"),
        (4, 0, 0, "<*>:<*>.<*>"),
        (5, 2, 0, None),
        (6, 0, 1, None),
        (7, 1, 1, None),
    )
    line = "[Sun Dec] [x] 04:47:44 04:47.44 idABC 12, (7)"
    assert compile_plan(plan)(line) == params(plan, line.split()) == [
        "Sun", "Dec", "x", "04", "47", "44", "04", "47", "44", "ABC", "12", "7"
    ]  # fmt: skip
    # tokens the patterns do not fit are their own parameter
    line = "Sun Dec[ x 04-47 0447 id 12 ()"
    assert compile_plan(plan)(line) == params(plan, line.split())


def test_a_rarely_used_plan_is_read_without_compiling() -> None:
    """A plan few lines use is read by the reference loop (compiling costs more than it saves);
    the parameters are the same."""
    plan: Plan = ((0, 0, 0, "[<*>"), (1, 0, 0, "<*>:<*>:<*>"), (2, 1, 0, None))
    line = "[Sun 04:47:44 #12"
    rare, common = Extractors(), Extractors()
    few = rare.extractor(plan, lines=COMPILE_MIN - 1)
    many = common.extractor(plan, lines=COMPILE_MIN)
    assert few is not None and many is not None
    assert few(line) == many(line) == ["Sun", "04", "47", "44", "12"]
    assert plan not in rare._extractors and plan in common._extractors
