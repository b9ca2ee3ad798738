"""Template-mining accuracy on Loghub-2k with the corrected labels, through the CLI, against Drain3.

Usage: python benchmarks/loghub.py [--data DIR] [--systems HDFS,BGL]
       [--alt] [--whole-lines] [--no-drain3] [--no-inprocess] [--show-errors SYSTEM]
       [--show-groups SYSTEM,...] [--labelled DIR]

For each system, its ``Content`` column (headers already stripped, as in the literature; leading
blanks stripped too, since an indented line continues the record above in the ``raw`` format) is
written to a file and parsed as a user would: ``prodshield logs parse FILE --log-format raw
--output jsonl`` in a subprocess. Lines are grouped by the ``template_id`` each is given and scored
with the ``template`` text each is given. Drain3 (PyPI, default settings) runs on the same lines in
the same run (grouped by cluster id, scored with its cluster's final template); a second prodshield
row is the miner in this process (learn every line, then look each one up), for comparison.
Metrics (Jiang et al., ISSTA 2024): GA (share of lines whose predicted group is exactly their true
group), PA (share of lines whose template text equals the label), FGA (F1 over groups) and FTA (F1
over templates: a predicted template counts when its group is exact and its text equals the
label). Template texts are compared after collapsing runs of whitespace.

``--whole-lines`` also scores each system's raw lines, headers included (dates, hosts, levels),
as ``logs parse --log-format raw`` sees a real file. ``--labelled DIR`` also scores every
``*.csv`` (columns ``Content``, ``EventTemplate``) there: the systems labelled for prodshield
from real software's log statements (benchmarks/data/labelled), no rule of the miner written
for them. ``--show-groups Kafka,MinIO`` lists, for those systems, every labelled group the CLI
does not give exactly one id of its own (what GA counts as wrong): where its lines went, with
the template, an example line and the other labels sharing that id.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import subprocess
import sys
import tempfile
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path

from prodshield.logs.templates import TemplateMiner

SYSTEMS = [
    "Android", "Apache", "BGL", "HDFS", "HPC", "Hadoop", "HealthApp", "Linux",
    "Mac", "OpenSSH", "OpenStack", "Proxifier", "Spark", "Thunderbird", "Windows", "Zookeeper",
]  # fmt: skip
DATA_ENV = "PRODSHIELD_LOGHUB_2K"
LABELLED = Path(__file__).resolve().parent / "data" / "labelled"


def find_data(start: Path | None = None) -> Path | None:
    """Loghub-2k: ``$PRODSHIELD_LOGHUB_2K``, else the first ``shared/datasets/loghub-2k`` in this
    checkout's folder or a folder above it (a clone, or a worktree beside others)."""
    env = os.environ.get(DATA_ENV)
    if env:
        return Path(env)
    here = (start or Path(__file__)).resolve()
    for folder in (here, *here.parents):
        candidate = folder / "shared" / "datasets" / "loghub-2k"
        if candidate.is_dir():
            return candidate
    return None


def load(data: Path, system: str, alt: bool) -> tuple[list[str], list[str]]:
    base = data / "_alt_logparser_corrected" / system if alt else data / system
    path = base / f"{system}_2k.log_structured_corrected.csv"
    if not path.exists():
        path = data / system / f"{system}_2k.log_structured_corrected.csv"
    return load_csv(path)


def load_whole(data: Path, system: str) -> tuple[list[str], list[str]]:
    """The raw lines of ``<system>_2k.log`` (header and all, leading blanks stripped), labelled
    with the corrected templates of the same lines: ``--log-format raw`` on a real file."""
    _, truth = load(data, system, False)
    raw = (data / system / f"{system}_2k.log").read_text(encoding="utf-8", errors="replace")
    lines = [line.lstrip() for line in raw.splitlines()]
    if len(lines) != len(truth):
        raise SystemExit(f"{system}: {len(lines)} raw lines but {len(truth)} labels")
    return lines, truth


def load_csv(path: Path) -> tuple[list[str], list[str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return [r["Content"].strip() for r in rows], [r["EventTemplate"] for r in rows]


def _norm(text: str) -> str:
    return " ".join(text.split())


Prediction = tuple[list[str], list[str]]
"""Per line: the group key (template id, cluster id) and the template text."""


def scores(truth: Sequence[str], predicted: Prediction) -> dict[str, float]:
    """GA, PA, FGA, FTA for one system."""
    keys, texts = predicted
    n = len(truth)
    truth_n = [_norm(t) for t in truth]
    pred_n = [_norm(p) for p in texts]
    true_groups: dict[str, set[int]] = defaultdict(set)
    pred_groups: dict[str, set[int]] = defaultdict(set)
    for i, (t, k) in enumerate(zip(truth_n, keys, strict=True)):
        true_groups[t].add(i)
        pred_groups[k].add(i)
    correct_lines = 0
    correct_groups = 0
    correct_templates = 0
    for members in pred_groups.values():
        first = next(iter(members))
        t = truth_n[first]
        if true_groups[t] == members:
            correct_lines += len(members)
            correct_groups += 1
            # a template is right when every member is given the label's text
            if all(pred_n[i] == t for i in members):
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


PARSE_ARGS = ["--log-format", "raw", "--output", "jsonl"]


def prodshield_command() -> list[str]:
    exe = Path(sys.executable).with_name("prodshield")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "prodshield"]


def run_cli(lines: Sequence[str]) -> Prediction:
    """``prodshield logs parse FILE --log-format raw --output jsonl``, as a user runs it."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "content.log"
        path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        proc = subprocess.run(
            [*prodshield_command(), "logs", "parse", str(path), *PARSE_ARGS],
            capture_output=True,
            check=True,
            env={**os.environ, "NO_COLOR": "1"},
        )
    keys = [""] * len(lines)
    texts = [""] * len(lines)
    for out in proc.stdout.splitlines():
        event = json.loads(out)
        i = event["line"] - 1
        keys[i] = event["template_id"]
        texts[i] = event["template"]
    missing = sum(1 for k in keys if not k)
    if missing:
        print(f"warning: {missing} line(s) got no event", file=sys.stderr)
    return keys, texts


def run_inprocess(lines: Sequence[str]) -> Prediction:
    """The miner in this process: learn every line, then look each one up."""
    miner = TemplateMiner()
    for line in lines:
        miner.add(line)
    keys: list[str] = []
    texts: list[str] = []
    for line in lines:
        m = miner.match(line)
        keys.append(m.template_id if m is not None else line)
        texts.append(m.template if m is not None else line)
    return keys, texts


def run_drain3(lines: Sequence[str]) -> Prediction:
    import logging

    from drain3 import TemplateMiner as Drain3Miner
    from drain3.template_miner_config import TemplateMinerConfig

    logging.getLogger("drain3").setLevel(logging.ERROR)
    config = TemplateMinerConfig()  # defaults, no config file
    miner = Drain3Miner(config=config)
    ids = [miner.add_log_message(line)["cluster_id"] for line in lines]
    by_id = {c.cluster_id: c.get_template() for c in miner.drain.clusters}
    return [str(i) for i in ids], [by_id[i] for i in ids]


def show_errors(system: str, truth: list[str], pred: Prediction) -> None:
    wrong: Counter[tuple[str, str]] = Counter()
    for t, p in zip(truth, pred[1], strict=True):
        if _norm(t) != _norm(p):
            wrong[(_norm(t), _norm(p))] += 1
    for (t, p), c in wrong.most_common(40):
        print(f"{c:5d}  truth: {t}\n       mine:  {p}")


def misgrouped(
    lines: Sequence[str], truth: Sequence[str], pred: Prediction
) -> list[tuple[str, int, list[tuple[str, int, str, str, dict[str, int]]]]]:
    """The labelled groups whose lines are not exactly one predicted group (what costs GA), the
    largest first: per group its label, its lines, and each predicted group it went to (id,
    its lines there, that group's template, an example line, the other labels it also holds)."""
    keys, texts = pred
    true_groups: dict[str, list[int]] = defaultdict(list)
    pred_groups: dict[str, list[int]] = defaultdict(list)
    for i, (t, k) in enumerate(zip(truth, keys, strict=True)):
        true_groups[_norm(t)].append(i)
        pred_groups[k].append(i)
    found = []
    for label, members in true_groups.items():
        went = Counter(keys[i] for i in members)
        if len(went) == 1 and len(pred_groups[next(iter(went))]) == len(members):
            continue
        parts = []
        for key, count in went.most_common():
            held = pred_groups[key]
            others = Counter(_norm(truth[i]) for i in held if _norm(truth[i]) != label)
            example = next(lines[i] for i in held if _norm(truth[i]) == label)
            parts.append((key, count, texts[held[0]], example, dict(others.most_common())))
        found.append((label, len(members), parts))
    found.sort(key=lambda g: (-g[1], g[0]))
    return found


def show_groups(system: str, lines: Sequence[str], truth: Sequence[str], pred: Prediction) -> None:
    groups = misgrouped(lines, truth, pred)
    lost = sum(n for _, n, _ in groups)
    print(f"\n{system}: {len(groups)} labelled group(s) not grouped exactly ({lost} lines)")
    for label, n, parts in groups:
        print(f"  label ({n} lines): {label}")
        for key, count, template, example, others in parts:
            print(f"    {count} line(s) -> {key[:16]}: {template}")
            print(f"      e.g. {example[:200]}")
            for other, c in others.items():
                print(f"      with {c} line(s) of: {other}")


def _cpu() -> float:
    """CPU seconds of this process and its finished children."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def table(
    label: str,
    systems: dict[str, tuple[list[str], list[str]]],
    parsers: dict[str, Callable[[Sequence[str]], Prediction]],
    show: str,
    groups: str = "",
) -> dict[str, dict[str, float]]:
    """Score every parser on every system; print one table per parser; return the averages."""
    results: dict[str, dict[str, dict[str, float]]] = defaultdict(dict)
    elapsed: Counter[str] = Counter()
    for system, (contents, truth) in systems.items():
        for name, fn in parsers.items():
            start = _cpu()
            pred = fn(contents)
            elapsed[name] += _cpu() - start
            results[name][system] = scores(truth, pred)
            if name.startswith("prodshield logs parse") and system == show:
                show_errors(system, truth, pred)
            if name.startswith("prodshield logs parse") and system in groups.split(","):
                show_groups(system, contents, truth, pred)
    print(f"\n## {label}")
    averages: dict[str, dict[str, float]] = {}
    for name, per_system in results.items():
        print(f"\n### {name}  (CPU {elapsed[name]:.2f} s)")
        print("| system | GA | PA | FGA | FTA |\n| --- | --- | --- | --- | --- |")
        for system, s in per_system.items():
            print(f"| {system} | {s['GA']:.3f} | {s['PA']:.3f} | {s['FGA']:.3f} | {s['FTA']:.3f} |")
        avg = {
            k: sum(s[k] for s in per_system.values()) / len(per_system)
            for k in ("GA", "PA", "FGA", "FTA")
        }
        averages[name] = avg
        print(
            f"| **average** | {avg['GA']:.3f} | {avg['PA']:.3f} | {avg['FGA']:.3f} | {avg['FTA']:.3f} |"
        )
        low = min(per_system.items(), key=lambda kv: kv[1]["GA"])
        print(f"lowest GA: {low[0]} {low[1]['GA']:.3f}")
    return averages


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", type=Path, default=None, help=f"default: ${DATA_ENV}, else shared/datasets/"
    )
    parser.add_argument("--systems", default=",".join(SYSTEMS))
    parser.add_argument("--alt", action="store_true", help="also score the logparser copy")
    parser.add_argument("--no-drain3", action="store_true")
    parser.add_argument("--no-inprocess", action="store_true")
    parser.add_argument(
        "--whole-lines", action="store_true", help="also score the raw lines, headers included"
    )
    parser.add_argument("--show-errors", default="")
    parser.add_argument(
        "--show-groups",
        default="",
        help="SYSTEM[,SYSTEM...]: the labelled groups the CLI does not group exactly",
    )
    parser.add_argument("--labelled", type=Path, default=LABELLED)
    args = parser.parse_args(argv)
    data = args.data or find_data()
    if data is None or not data.is_dir():
        where = data or f"shared/datasets/loghub-2k in or above {Path(__file__).resolve().parent}"
        print(f"loghub-2k not found ({where}): pass --data DIR or set {DATA_ENV}", file=sys.stderr)
        return 2
    data = data.resolve()
    names = [s for s in args.systems.split(",") if s]
    parsers: dict[str, Callable[[Sequence[str]], Prediction]] = {
        "prodshield logs parse (CLI)": run_cli
    }
    if not args.no_inprocess:
        parsers["prodshield miner in process"] = run_inprocess
    if not args.no_drain3:
        parsers["drain3 (default)"] = run_drain3
    labels = [("Loghub-2k, corrected labels (loghub-2.0)", False)]
    if args.alt:
        labels.append(("Loghub-2k, alt corrected labels (logparser)", True))
    for label_name, alt in labels:
        systems = {name: load(data, name, alt) for name in names}
        table(label_name, systems, parsers, args.show_errors, args.show_groups)
    if args.whole_lines:
        systems = {name: load_whole(data, name) for name in names}
        table(
            "Loghub-2k whole lines (headers included)",
            systems,
            parsers,
            args.show_errors,
            args.show_groups,
        )
    labelled = sorted(args.labelled.glob("*.csv")) if args.labelled.is_dir() else []
    if labelled:
        systems = {path.stem: load_csv(path) for path in labelled}
        table(
            "labelled for prodshield (not Loghub; no rule written for them)",
            systems,
            parsers,
            args.show_errors,
            args.show_groups,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
