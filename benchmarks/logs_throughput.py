"""Whole-pipeline log throughput (read, detect format, parse, mine) against Drain3 with masking.

Usage: python benchmarks/logs_throughput.py [--lines 1000000,4000000] [--drain3-lines 200000]

Builds a file from the Loghub-2k raw lines of all 16 systems with every number and hex id re-drawn
at random (values keep changing, as in production), then measures in this process:
- prodshield: ``parse_files`` + ``mine`` over the file (lines per CPU-second, MB/s, templates,
  peak RSS growth);
- Drain3 (PyPI, default settings plus masking instructions for numbers, IPs and hex ids, as its
  README suggests): ``add_log_message`` over the same lines already in memory (mining alone).
Drain3 is run on the first ``--drain3-lines`` lines only (it is slow); its rate is per CPU-second
like ours, so the ratio is fair, and it only gets faster on a shorter stream.
"""

from __future__ import annotations

import argparse
import random
import re
import resource
import sys
import time
from pathlib import Path

from prodshield.logs.api import mine, parse_files, templates
from prodshield.logs.sources.files import ReadStats
from prodshield.logs.templates import TemplateMiner

DATA = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "loghub-2k"
# digit runs that are values: not glued to a letter (ssh2, SOCKS5 and e820 are names)
_NUM = re.compile(r"(?<![A-Za-z])\d+")
# hex ids (with at least one letter and one digit, so plain numbers stay numbers)
_HEX = re.compile(r"\b(?=[0-9a-f]*[a-f])(?=[0-9a-f]*\d)[0-9a-f]{6,}\b")


def build(path: Path, total: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    sources = sorted(DATA.glob("*/*_2k.log"))
    lines: list[str] = []
    for src in sources:
        lines.extend(src.read_text(encoding="utf-8", errors="replace").splitlines())

    def num(m: re.Match[str]) -> str:
        return str(rng.randrange(10 ** min(len(m.group(0)), 9)))

    def hexid(m: re.Match[str]) -> str:
        return f"{rng.getrandbits(4 * len(m.group(0))):0{len(m.group(0))}x}"

    with path.open("w", encoding="utf-8") as out:
        for i in range(total):
            line = lines[rng.randrange(len(lines))] if i % 7 else lines[i % len(lines)]
            out.write(_NUM.sub(num, _HEX.sub(hexid, line)) + "\n")


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run_prodshield(path: Path, events: bool = False) -> dict[str, float]:
    """``logs templates`` (batches), or with ``events`` ``mine()`` (an event per line: ``logs scan``,
    the follower; ``logs parse`` is measured as a subprocess by benchmarks/logs_parse.py)."""
    stats = ReadStats()
    miner = TemplateMiner()
    before = rss_mb()
    start_cpu = time.process_time()
    start = time.perf_counter()
    if events:
        for _ in mine(parse_files([path], stats=stats), miner):
            pass
    else:
        templates([str(path)], stats=stats, miner=miner)
    cpu = time.process_time() - start_cpu
    wall = time.perf_counter() - start
    return {
        "lines": stats.lines,
        "cpu": cpu,
        "rate": stats.lines / cpu,
        "mbps": stats.bytes / 1e6 / cpu,
        "wall": wall,
        "templates": len(miner.templates()),
        "clusters": miner.cluster_count,
        "rss": rss_mb(),
        "rss_growth": rss_mb() - before,
    }


def run_drain3(path: Path, limit: int) -> dict[str, float]:
    import logging

    from drain3 import TemplateMiner as Drain3Miner
    from drain3.masking import MaskingInstruction
    from drain3.template_miner_config import TemplateMinerConfig

    logging.getLogger("drain3").setLevel(logging.ERROR)
    config = TemplateMinerConfig()
    config.masking_instructions = [
        MaskingInstruction(
            r"((?<=[^A-Za-z0-9])|^)(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})((?=[^A-Za-z0-9])|$)", "IP"
        ),
        MaskingInstruction(r"((?<=[^A-Za-z0-9])|^)(0x[a-f0-9A-F]+)((?=[^A-Za-z0-9])|$)", "HEX"),
        MaskingInstruction(r"((?<=[^A-Za-z0-9])|^)([\-\+]?\d+)((?=[^A-Za-z0-9])|$)", "NUM"),
    ]
    miner = Drain3Miner(config=config)
    lines = []
    with path.open(encoding="utf-8") as fh:
        for i, line in enumerate(fh):
            if i >= limit:
                break
            lines.append(line.rstrip("\n"))
    before = rss_mb()
    start = time.process_time()
    for line in lines:
        miner.add_log_message(line)
    cpu = time.process_time() - start
    return {
        "lines": len(lines),
        "cpu": cpu,
        "rate": len(lines) / cpu,
        "templates": len(miner.drain.clusters),
        "rss_growth": rss_mb() - before,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", default="1000000,4000000")
    parser.add_argument("--drain3-lines", type=int, default=200_000)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp"))
    args = parser.parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)  # a new --workdir is made, not a traceback
    if not DATA.exists():
        print(f"loghub-2k not found at {DATA}", file=sys.stderr)
        return 2
    sizes = [int(x) for x in args.lines.split(",") if x]
    biggest = max(sizes)
    path = args.workdir / f"prodshield-throughput-{biggest}.log"
    if not path.exists() or path.stat().st_mtime < Path(__file__).stat().st_mtime:
        print(f"building {path} ({biggest} lines)...", file=sys.stderr)
        build(path, biggest)
    drain = run_drain3(path, args.drain3_lines)
    print(
        f"drain3 (masking, default settings): {drain['lines']:.0f} lines, "
        f"{drain['rate']:,.0f} lines/CPU-s, {drain['templates']:.0f} templates, "
        f"RSS +{drain['rss_growth']:.0f} MB"
    )
    print("| path | lines | prodshield lines/CPU-s | MB/s | templates | peak RSS MB | vs Drain3 |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for size in sizes:
        part = path
        if size != biggest:
            part = args.workdir / f"prodshield-throughput-{size}.log"
            if not part.exists():
                with path.open("rb") as src, part.open("wb") as dst:
                    for i, line in enumerate(src):
                        if i >= size:
                            break
                        dst.write(line)
        for events in (False, True):
            if events and size != sizes[0]:
                continue  # the per-event path once, on the smallest size
            ours = run_prodshield(part, events=events)
            name = "mine() (event per line)" if events else "logs templates"
            print(
                f"| {name} | {ours['lines']:,.0f} | {ours['rate']:,.0f} | {ours['mbps']:.1f} | "
                f"{ours['templates']:.0f} | {ours['rss']:.0f} | "
                f"{ours['rate'] / drain['rate']:.1f}x |",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
