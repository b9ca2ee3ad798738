"""What redaction costs ``prodshield logs parse``: the default (secrets masked) against
``--no-redact`` (the lines as they are, the output before redaction existed), in the same run.

Usage: python benchmarks/logs_parse_redaction.py [--lines 200000] [--runs 5] [--workdir /tmp]
       [--baseline-src /work/main/src] [--nginx]

The file is the one benchmarks/logs_throughput.py builds (Loghub-2k raw lines of all 16 systems,
numbers and hex ids re-drawn at random); about a quarter of its lines hold a literal the
redaction prefilter wakes on (``@``, ``auth``, ``password``...), a few an actual secret shape.
Each run is one ``logs parse FILE --output jsonl`` subprocess writing to /dev/null; its figure is
the child's CPU seconds (user + system, start-up included). The variants alternate, ``--runs``
times each, and the medians are compared. ``--baseline-src`` adds a third variant: the same
command with another checkout's ``src`` first on ``PYTHONPATH`` (e.g. main before this change).
``--nginx`` runs on an nginx access log instead (combined format with a referer URL and a user
agent on every line, paths and numbers drawn at random): ``fields`` are redacted too.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import logs_throughput
from logs_parse import prodshield_command
from logs_throughput import DATA, build


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(path: Path, extra: tuple[str, ...], env: dict[str, str] | None) -> float:
    before = _children_cpu()
    with open(os.devnull, "wb") as sink:
        subprocess.run(
            [*prodshield_command(), "logs", "parse", str(path), "--output", "jsonl", *extra],
            stdout=sink,
            stderr=subprocess.DEVNULL,
            check=True,
            env=env,
            cwd=path.parent,
        )
    return _children_cpu() - before


def build_nginx(path: Path, total: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    paths = ("/api/v1/users/{n}", "/static/app.{h}.js", "/login", "/api/orders?id={n}", "/health")
    with path.open("w", encoding="utf-8") as out:
        for i in range(total):
            url = rng.choice(paths).format(n=rng.randint(1, 99_999), h=f"{rng.getrandbits(20):x}")
            out.write(
                f"10.0.{rng.randint(0, 255)}.{rng.randint(0, 255)} - - "
                f"[04/Dec/2026:10:{i // 6000 % 60:02d}:{i // 100 % 60:02d} +0000] "
                f'"GET {url} HTTP/1.1" {rng.choice((200, 200, 200, 404, 500))} '
                f'{rng.randint(100, 99_999)} "https://example.com/" '
                f'"Mozilla/5.0 (X11; Linux x86_64)" {rng.random():.3f}\n'
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp"))
    parser.add_argument("--data", type=Path, default=DATA, help="the loghub-2k folder")
    parser.add_argument("--baseline-src", type=Path, help="another checkout's src directory")
    parser.add_argument("--log-format", default="raw")
    parser.add_argument("--nginx", action="store_true", help="an nginx access log instead")
    args = parser.parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)  # a new --workdir is made, not a traceback
    if not args.data.exists():
        print(f"loghub-2k not found at {args.data}", file=sys.stderr)
        return 2
    logs_throughput.DATA = args.data
    if args.nginx:
        path = args.workdir / f"prodshield-parse-nginx-{args.lines}.log"
        if not path.exists():
            build_nginx(path, args.lines)
        args.log_format = "nginx"
    else:
        path = args.workdir / f"prodshield-parse-{args.lines}.log"
    if not path.exists():
        print(f"building {path} ({args.lines} lines)...", file=sys.stderr)
        build(path, args.lines)
    fmt = ("--log-format", args.log_format)
    variants: dict[str, tuple[tuple[str, ...], dict[str, str] | None]] = {
        "--no-redact (baseline)": ((*fmt, "--no-redact"), None),
        "default (redacted)": (fmt, None),
    }
    if args.baseline_src:
        env = dict(os.environ, PYTHONPATH=str(args.baseline_src.resolve()))
        variants[f"{args.baseline_src} (no flag)"] = (fmt, env)
    times: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(args.runs):
        for name, (extra, env) in variants.items():
            times[name].append(run(path, extra, env))
    base = statistics.median(times["--no-redact (baseline)"])
    print(f"logs parse, {args.lines:,} lines, --log-format {args.log_format}, {args.runs} runs")
    print("| variant | median CPU-s | lines per CPU-s | vs --no-redact |")
    print("| --- | --- | --- | --- |")
    for name, values in times.items():
        med = statistics.median(values)
        print(f"| {name} | {med:.2f} | {args.lines / med:,.0f} | {med / base:.3f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
