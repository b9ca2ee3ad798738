"""The per-event path as a user runs it: ``prodshield logs parse FILE --output jsonl`` against
Drain3 with masking, in the same run.

Usage: python benchmarks/logs_parse.py [--lines 500000] [--drain3-lines 100000] [--workdir /tmp]
       [--runs 3]

The file is the one benchmarks/logs_throughput.py builds (Loghub-2k raw lines of all 16 systems,
every number and hex id re-drawn at random). prodshield runs as a subprocess writing to /dev/null;
its figure is lines per CPU-second of that process *including start-up* (user + system time of
the child). Drain3 (PyPI, default settings plus masking instructions for IPs, hex and numbers, as
its README suggests) mines the first ``--drain3-lines`` lines already in memory in this process:
no start-up, no reading, no parsing, no output, so the ratio flatters Drain3. A second baseline
does the same work as ``logs parse`` with Drain3: a subprocess that reads the file, mines each line,
extracts its parameters and writes one JSON object per line (start-up included). With ``--runs N``
every measurement is taken N times, alternating, and the medians are printed.

Before the first run prodshield's modules are byte-compiled (``compileall``, into the
``__pycache__`` folders git ignores), as an installed package's are and as drain3's are in
site-packages: with ``PYTHONDONTWRITEBYTECODE`` set, a source checkout would otherwise compile its
modules again at every start (start-up no user's install pays; benchmarks/logs_follow.py does the
same).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import logs_throughput
from logs_throughput import DATA, build, run_drain3


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def prodshield_command() -> list[str]:
    exe = Path(sys.executable).with_name("prodshield")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "prodshield"]


def run_parse(path: Path, *extra: str) -> float:
    """CPU seconds of one ``logs parse`` subprocess (start-up included)."""
    before = _children_cpu()
    with open(os.devnull, "wb") as sink:
        subprocess.run(
            [*prodshield_command(), "logs", "parse", str(path), "--output", "jsonl", *extra],
            stdout=sink,
            stderr=subprocess.DEVNULL,
            check=True,
        )
    return _children_cpu() - before


DRAIN3_JSONL = """
import json, logging, sys
from drain3 import TemplateMiner
from drain3.masking import MaskingInstruction
from drain3.template_miner_config import TemplateMinerConfig
logging.getLogger("drain3").setLevel(logging.ERROR)
config = TemplateMinerConfig()
config.masking_instructions = [
    MaskingInstruction(
        r"((?<=[^A-Za-z0-9])|^)(\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3})((?=[^A-Za-z0-9])|$)", "IP"
    ),
    MaskingInstruction(r"((?<=[^A-Za-z0-9])|^)(0x[a-f0-9A-F]+)((?=[^A-Za-z0-9])|$)", "HEX"),
    MaskingInstruction(r"((?<=[^A-Za-z0-9])|^)([\\-\\+]?\\d+)((?=[^A-Za-z0-9])|$)", "NUM"),
]
miner = TemplateMiner(config=config)
out = sys.stdout
limit = int(sys.argv[2])
with open(sys.argv[1], encoding="utf-8") as fh:
    for number, line in enumerate(fh, 1):
        if number > limit:
            break
        message = line.rstrip("\\n")
        result = miner.add_log_message(message)
        template = result["template_mined"]
        params = miner.extract_parameters(template, message, exact_matching=False) or []
        out.write(json.dumps({"line": number, "message": message,
                              "template_id": result["cluster_id"], "template": template,
                              "params": [p.value for p in params]}) + "\\n")
"""


def run_drain3_jsonl(path: Path, limit: int) -> float:
    """CPU seconds of a Drain3 subprocess doing ``logs parse``'s work on the first lines."""
    before = _children_cpu()
    with open(os.devnull, "wb") as sink:
        subprocess.run(
            [sys.executable, "-c", DRAIN3_JSONL, str(path), str(limit)],
            stdout=sink,
            check=True,
        )
    return _children_cpu() - before


def byte_compile() -> None:
    """prodshield's modules byte-compiled, as an installed package's are (see the docstring)."""
    import prodshield

    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(Path(prodshield.__file__).parent)],
        stdout=subprocess.DEVNULL,
        check=False,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=500_000)
    parser.add_argument("--drain3-lines", type=int, default=100_000)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp"))
    parser.add_argument("--data", type=Path, default=DATA, help="the loghub-2k folder")
    parser.add_argument("--runs", type=int, default=1, help="medians of this many runs")
    args = parser.parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)  # a new --workdir is made, not a traceback
    if not args.data.exists():
        print(f"loghub-2k not found at {args.data}", file=sys.stderr)
        return 2
    logs_throughput.DATA = args.data
    path = args.workdir / f"prodshield-parse-{args.lines}.log"
    if not path.exists():
        print(f"building {path} ({args.lines} lines)...", file=sys.stderr)
        build(path, args.lines)
    tiny = args.workdir / "prodshield-parse-1.log"
    tiny.write_text("one line\n", encoding="utf-8")
    byte_compile()
    variants = (
        ("logs parse FILE", ()),
        ("logs parse FILE --log-format raw", ("--log-format", "raw")),
    )
    mining: list[float] = []
    jsonl: list[float] = []
    startups: list[float] = []
    cpus: dict[str, list[float]] = {label: [] for label, _ in variants}
    for _ in range(args.runs):
        mining.append(run_drain3(path, args.drain3_lines)["rate"])
        startups.append(run_parse(tiny))
        jsonl.append(args.drain3_lines / run_drain3_jsonl(path, args.drain3_lines))
        for label, extra in variants:
            cpus[label].append(run_parse(path, *extra))
    median = statistics.median
    drain_rate, jsonl_rate = median(mining), median(jsonl)
    print(
        f"medians of {args.runs} run(s): Drain3 with masking (in process, mining only): "
        f"{args.drain3_lines:,} lines, {drain_rate:,.0f} lines/CPU-s; Drain3 doing logs parse's "
        f"work (subprocess: read, mine, parameters, JSON lines): {jsonl_rate:,.0f} lines/CPU-s; "
        f"prodshield start-up {median(startups):.2f} CPU-s"
    )
    print(
        "| command | lines | CPU-s (with start-up) | lines per CPU-s | vs Drain3 mining "
        "| vs Drain3 doing the same |"
    )
    print("| --- | --- | --- | --- | --- | --- |")
    for label, _ in variants:
        cpu = median(cpus[label])
        rate = args.lines / cpu
        print(
            f"| `{label}` | {args.lines:,} | {cpu:.2f} | {rate:,.0f} | "
            f"{rate / drain_rate:.1f}x | {rate / jsonl_rate:.1f}x |",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
