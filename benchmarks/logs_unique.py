"""Hostile input for the per-event path: ``prodshield logs parse FILE --output jsonl`` on lines of
free text that never repeat, against Drain3 with masking on the same lines, in the same run.

Usage: python benchmarks/logs_unique.py [--lines 20000] [--drain3-lines 20000] [--workdir /tmp]
       [--runs 1]

Anyone who can write to a followed log can write such lines; each one makes a cluster, and when
placing a line cost a comparison with every cluster of its length the service fell behind (about
300 lines/s). Two files are generated deterministically (seeded):
- ``words``: 10 to 30 words of random letters, fresh on every line;
- ``prose``: 3 to 40 words drawn from a vocabulary of 2,000, so words repeat across lines but
  lines do not;
- ``header``: the same prose after one constant header (``myapp INFO:``), as a service logs a
  text its users wrote (every line shares the first two words, where variants are looked for).
prodshield runs as a subprocess writing to /dev/null; its figure is lines per CPU-second of that
process including start-up (as in benchmarks/logs_parse.py). Drain3 (PyPI, default settings plus
masking for IPs, hex and numbers) mines the first ``--drain3-lines`` lines already in memory in
this process (mining only: the ratio flatters Drain3). With ``--runs N`` every measurement is taken
N times and the medians are printed.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from logs_parse import run_parse
from logs_throughput import run_drain3

LETTERS = "abcdefghijklmnopqrstuvwxyz"


def words_lines(total: int, seed: int = 11) -> list[str]:
    """Lines of 10 to 30 random words that never repeat."""
    rng = random.Random(seed)

    def word() -> str:
        return "".join(rng.choice(LETTERS) for _ in range(rng.randint(3, 10)))

    return [" ".join(word() for _ in range(rng.randint(10, 30))) for _ in range(total)]


def prose_lines(total: int, seed: int = 13) -> list[str]:
    """Lines of 3 to 40 words from one vocabulary (words repeat, lines do not)."""
    rng = random.Random(seed)
    vocabulary = sorted(
        {"".join(rng.choice(LETTERS) for _ in range(rng.randint(1, 9))) for _ in range(2000)}
    )
    return [
        " ".join(rng.choice(vocabulary) for _ in range(rng.randint(3, 40))) for _ in range(total)
    ]


def header_lines(total: int) -> list[str]:
    """:func:`prose_lines` after one constant header."""
    return [f"myapp INFO: {line}" for line in prose_lines(total, seed=17)]


KINDS: dict[str, Callable[[int], list[str]]] = {
    "words": words_lines,
    "prose": prose_lines,
    "header": header_lines,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=20_000)
    parser.add_argument("--drain3-lines", type=int, default=20_000)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp"))
    parser.add_argument("--runs", type=int, default=1, help="medians of this many runs")
    parser.add_argument("--kinds", default=",".join(KINDS), help="some of: " + ", ".join(KINDS))
    args = parser.parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)  # a new --workdir is made, not a traceback
    print("| input | lines | prodshield lines/CPU-s | Drain3 lines/CPU-s | ratio |")
    print("| --- | --- | --- | --- | --- |")
    for kind in args.kinds.split(","):
        path = args.workdir / f"prodshield-unique-{kind}-{args.lines}.log"
        path.write_text("\n".join(KINDS[kind](args.lines)) + "\n", encoding="utf-8")
        ours: list[float] = []
        theirs: list[float] = []
        for _ in range(args.runs):
            ours.append(args.lines / run_parse(path, "--log-format", "raw"))
            theirs.append(run_drain3(path, args.drain3_lines)["rate"])
        rate, drain_rate = statistics.median(ours), statistics.median(theirs)
        print(
            f"| {kind} | {args.lines:,} | {rate:,.0f} | {drain_rate:,.0f} "
            f"| {rate / drain_rate:.1f}x |",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
