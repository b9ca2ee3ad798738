"""Template-mining accuracy on Loghub-2k with the corrected labels, against Drain3.

Usage: python benchmarks/loghub.py [--data ../shared/datasets/loghub-2k] [--systems HDFS,BGL]
       [--alt] [--no-drain3] [--show-errors SYSTEM]

Feeds each system's ``Content`` column (headers already stripped, as in the literature) to
prodshield's miner with its one default configuration, and to Drain3 (PyPI, default settings) in the
same run. Metrics (Jiang et al., ISSTA 2024): GA (share of lines whose predicted group is exactly
their true group), PA (share of lines whose template text equals the label), FGA (F1 over groups)
and FTA (F1 over templates: a predicted template counts when its group is exact and its text equals
the label). Template texts are compared after collapsing runs of whitespace. Each line is scored
with the template its cluster has at the end of the stream, for both parsers.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path

from prodshield.logs.templates import TemplateMiner

SYSTEMS = [
    "Android", "Apache", "BGL", "HDFS", "HPC", "Hadoop", "HealthApp", "Linux",
    "Mac", "OpenSSH", "OpenStack", "Proxifier", "Spark", "Thunderbird", "Windows", "Zookeeper",
]  # fmt: skip
DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "loghub-2k"


def load(data: Path, system: str, alt: bool) -> tuple[list[str], list[str]]:
    base = data / "_alt_logparser_corrected" / system if alt else data / system
    path = base / f"{system}_2k.log_structured_corrected.csv"
    if not path.exists():
        path = data / system / f"{system}_2k.log_structured_corrected.csv"
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return [r["Content"] for r in rows], [r["EventTemplate"] for r in rows]


def _norm(text: str) -> str:
    return " ".join(text.split())


def scores(truth: Sequence[str], predicted: Sequence[str]) -> dict[str, float]:
    """GA, PA, FGA, FTA for one system; ``predicted`` are template texts (equal text = one group)."""
    n = len(truth)
    truth_n = [_norm(t) for t in truth]
    pred_n = [_norm(p) for p in predicted]
    true_groups: dict[str, set[int]] = defaultdict(set)
    pred_groups: dict[str, set[int]] = defaultdict(set)
    for i, (t, p) in enumerate(zip(truth_n, pred_n, strict=True)):
        true_groups[t].add(i)
        pred_groups[p].add(i)
    correct_lines = 0
    correct_groups = 0
    correct_templates = 0
    for p, members in pred_groups.items():
        first = next(iter(members))
        t = truth_n[first]
        if true_groups[t] == members:
            correct_lines += len(members)
            correct_groups += 1
            if p == t:
                correct_templates += 1
    pa = sum(1 for t, p in zip(truth_n, pred_n, strict=True) if t == p) / n

    def f1(correct: int) -> float:
        if correct == 0:
            return 0.0
        precision = correct / len(pred_groups)
        recall = correct / len(true_groups)
        return 2 * precision * recall / (precision + recall)

    return {
        "GA": correct_lines / n,
        "PA": pa,
        "FGA": f1(correct_groups),
        "FTA": f1(correct_templates),
    }


def run_prodshield(lines: Sequence[str]) -> list[str]:
    miner = TemplateMiner()
    for line in lines:
        miner.add(line)
    out = []
    for line in lines:
        m = miner.match(line)
        out.append(m.template if m is not None else line)
    return out


def run_drain3(lines: Sequence[str]) -> list[str]:
    import logging

    from drain3 import TemplateMiner as Drain3Miner
    from drain3.template_miner_config import TemplateMinerConfig

    logging.getLogger("drain3").setLevel(logging.ERROR)
    config = TemplateMinerConfig()  # defaults, no config file
    miner = Drain3Miner(config=config)
    ids = [miner.add_log_message(line)["cluster_id"] for line in lines]
    by_id = {c.cluster_id: c.get_template() for c in miner.drain.clusters}
    return [by_id[i] for i in ids]


def show_errors(system: str, contents: list[str], truth: list[str], pred: list[str]) -> None:
    wrong: Counter[tuple[str, str]] = Counter()
    for t, p in zip(truth, pred, strict=True):
        if _norm(t) != _norm(p):
            wrong[(_norm(t), _norm(p))] += 1
    for (t, p), c in wrong.most_common(40):
        print(f"{c:5d}  truth: {t}\n       mine:  {p}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--systems", default=",".join(SYSTEMS))
    parser.add_argument("--alt", action="store_true", help="also score the logparser copy")
    parser.add_argument("--no-drain3", action="store_true")
    parser.add_argument("--show-errors", default="")
    args = parser.parse_args(argv)
    data = args.data.resolve()
    if not data.exists():
        print(f"loghub-2k not found at {data}", file=sys.stderr)
        return 2
    systems = [s for s in args.systems.split(",") if s]
    parsers: dict[str, Callable[[Sequence[str]], list[str]]] = {"prodshield": run_prodshield}
    if not args.no_drain3:
        parsers["drain3 (default)"] = run_drain3
    labels = [("corrected (loghub-2.0)", False)]
    if args.alt:
        labels.append(("alt corrected (logparser)", True))
    for label_name, alt in labels:
        results: dict[str, dict[str, dict[str, float]]] = defaultdict(dict)
        elapsed: Counter[str] = Counter()
        for system in systems:
            contents, truth = load(data, system, alt)
            for name, fn in parsers.items():
                start = time.process_time()
                pred = fn(contents)
                elapsed[name] += time.process_time() - start
                results[name][system] = scores(truth, pred)
                if name == "prodshield" and system == args.show_errors:
                    show_errors(system, contents, truth, pred)
        print(f"\n## labels: {label_name}")
        for name, per_system in results.items():
            print(f"\n### {name}  (CPU {elapsed[name]:.2f} s)")
            print("| system | GA | PA | FGA | FTA |\n| --- | --- | --- | --- | --- |")
            for system, s in per_system.items():
                print(
                    f"| {system} | {s['GA']:.3f} | {s['PA']:.3f} | {s['FGA']:.3f} | {s['FTA']:.3f} |"
                )
            avg = {
                k: sum(s[k] for s in per_system.values()) / len(per_system)
                for k in ("GA", "PA", "FGA", "FTA")
            }
            print(
                f"| **average** | {avg['GA']:.3f} | {avg['PA']:.3f} | {avg['FGA']:.3f} | {avg['FTA']:.3f} |"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
