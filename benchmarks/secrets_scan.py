"""Secret scanner benchmark: precision/recall on a labelled corpus and scanning speed.

    python benchmarks/secrets_scan.py [--corpus DIR] [--log-mb 500] [--tree-mb 200] [--skip-speed]
        [--skip-accuracy] [--skip-in-process] [--before-src DIR]

Accuracy: prodshield and detect-secrets (PyPI, the named baseline) scan the corpus in the same run;
both are scored with the corpus's own score.py rule (a secret counts once however many findings
land on its lines; other finding lines are false positives), overall and per kind.
Speed, as a user runs it first: `prodshield audit secrets` and `detect-secrets scan --all-files`
as subprocesses (start-up included; the child's CPU time) on the labelled corpus and on samples of a
generated log file and source tree, and prodshield alone on the full-size ones. Then in-process:
MB per CPU-second (this process's CPU time for prodshield; the child's for detect-secrets) on the
generated log file and source tree, with the median of several runs, and peak RSS.
With ``--before-src DIR`` (the ``src`` folder of a checkout of the code before a change), each
command-line row also runs ``prodshield`` on that code, interleaved with the current one in the
same run, and prints the after/before ratio.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

from prodshield.secrets import ScanConfig, scan_paths
from prodshield.secrets.engine import Scanner, ScanSettings
from prodshield.secrets.files import scan_file

# the first ancestor holding shared/datasets (the main checkout and worktrees under it alike)
DEFAULT_CORPUS = next(
    (
        p / "shared" / "datasets" / "secrets-dev"
        for p in Path(__file__).resolve().parents
        if (p / "shared" / "datasets" / "secrets-dev").is_dir()
    ),
    Path(__file__).resolve().parents[2] / "shared" / "datasets" / "secrets-dev",
)


def load_score(corpus: Path):  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("corpus_score", corpus / "score.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.score


def prodshield_findings(corpus: Path, out: Path) -> float:
    start = time.process_time()
    with out.open("w") as fh:
        for f in scan_paths([corpus], config=ScanConfig(include_tests=True)):
            fh.write(json.dumps({"path": f.path, "line": f.line, "kind": f.kind}) + "\n")
    return time.process_time() - start


def detect_secrets_findings(target: Path, out: Path | None) -> float:
    """Run detect-secrets as its CLI does (all plugins, default filters); returns child CPU s."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    files = (
        [str(p) for p in sorted(target.rglob("*")) if p.is_file()]
        if target.is_dir()
        else [str(target)]
    )
    with tempfile.NamedTemporaryFile("w", delete=False, suffix=".lst") as listing:
        listing.write("\n".join(files))
    code = (
        "import json,sys\n"
        "from detect_secrets import SecretsCollection\n"
        "from detect_secrets.settings import default_settings\n"
        "files=open(sys.argv[1]).read().split('\\n')\n"
        "c=SecretsCollection()\n"
        "with default_settings():\n"
        "    [c.scan_file(f) for f in files if f]\n"
        "for fn, secrets in c.json().items():\n"
        "    for s in secrets: print(json.dumps({'path': fn, 'line': s['line_number'], 'kind': s['type']}))\n"
    )
    with open(out or os.devnull, "w") as fh:
        subprocess.run(
            [sys.executable, "-c", code, listing.name], stdout=fh, check=True, timeout=3600
        )
    os.unlink(listing.name)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


def accuracy(corpus: Path, work: Path) -> None:
    score = load_score(corpus)
    labels = corpus / "labels.csv"
    ours, theirs = work / "prodshield.jsonl", work / "detect_secrets.jsonl"
    cpu_ours = prodshield_findings(corpus, ours)
    cpu_theirs = detect_secrets_findings(corpus, theirs)
    a, b = score(str(ours), str(labels)), score(str(theirs), str(labels))
    size = sum(p.stat().st_size for p in corpus.rglob("*") if p.is_file()) / 1e6
    print(f"corpus: {corpus} ({a['secrets']} secrets, {size:.1f} MB)")
    print(f"{'':24}{'precision':>10}{'recall':>8}{'f1':>8}{'TP':>6}{'FP':>6}{'FN':>6}")
    for name, r in (("prodshield", a), ("detect-secrets 1.5", b)):
        print(
            f"{name:24}{r['precision']:>10.4f}{r['recall']:>8.4f}{r['f1']:>8.4f}{r['tp']:>6}{r['fp']:>6}{r['fn']:>6}"
        )
    print(f"f1 ratio prodshield/detect-secrets: {a['f1'] / max(b['f1'], 1e-9):.2f}")
    print(
        f"corpus speed (MB/CPU-s): prodshield {size / cpu_ours:.1f}, detect-secrets {size / cpu_theirs:.2f}, "
        f"ratio {cpu_theirs / cpu_ours:.0f}x"
    )
    print("\nrecall per kind            prodshield  detect-secrets")
    for kind, v in a["per_kind_recall"].items():
        print(
            f"  {kind:26} {v['found']:4}/{v['secrets']:<4} {v['recall']:.3f}   {b['per_kind_recall'][kind]['recall']:.3f}"
        )
    print(f"\nfalse positives by labelled kind (prodshield): {a['fp_by_label_kind']}")


# -- speed ---------------------------------------------------------------------------------------

_LOG_LINES = (
    '{ip} - - [12/Mar/2024:10:19:14 +0000] "GET /api/v1/orders/{n}?page=2 HTTP/1.1" 200 {n} "https://shop.example.com/" "Mozilla/5.0 (X11; Linux x86_64)"',
    "2024-03-12T10:19:14.{ms}Z INFO  [pool-3-thread-{t}] svc.billing.Gateway - processed order id={n} status=ok duration_ms={ms}",
    "2024-03-12T10:19:14.{ms}Z WARN  [worker-{t}] cache miss key=user:{n}:profile ttl=300 retry=1",
    '{ip} - - [12/Mar/2024:10:19:15 +0000] "POST /login HTTP/1.1" 302 0 "-" "curl/8.4.0"',
)


def make_log(path: Path, megabytes: int) -> None:
    rnd = random.Random(5)
    target = megabytes * 1_000_000
    written = 0
    with path.open("w") as fh:
        batch: list[str] = []
        i = 0
        while written < target:
            i += 1
            line = _LOG_LINES[i % len(_LOG_LINES)].format(
                ip=f"10.{i % 250}.{i % 199}.{i % 97}",
                n=rnd.randint(1, 99999),
                ms=i % 1000,
                t=i % 16,
            )
            if i % 20000 == 0:
                line += " api_key=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"
            batch.append(line)
            written += len(line) + 1
            if len(batch) == 10000:
                fh.write("\n".join(batch) + "\n")
                batch.clear()
        if batch:
            fh.write("\n".join(batch) + "\n")


def make_tree(root: Path, megabytes: int) -> None:
    """A source tree of real code: the Python standard library's .py files, copied as many times
    as needed (every 200th file gets a planted token, so findings are exercised too)."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    sources = sorted(p for p in stdlib.rglob("*.py") if "site-packages" not in p.parts)
    target = megabytes * 1_000_000
    written = 0
    copy = 0
    while written < target:
        copy += 1
        for i, src in enumerate(sources):
            try:
                text = src.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                continue
            if i % 200 == 0:
                text += "\nGITHUB_TOKEN = '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'\n"
            dest = root / f"copy{copy}" / src.relative_to(stdlib)
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_text(text, encoding="utf-8")
            written += len(text)
            if written >= target:
                return


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def time_prodshield(target: Path, engine: str, runs: int) -> float:
    cpu: list[float] = []
    config = ScanConfig(include_tests=True, engine=engine)
    for _ in range(runs):
        scanner = Scanner(settings=ScanSettings(engine=engine))
        start = time.process_time()
        if target.is_file():
            for _f in scan_file(target, scanner=scanner):
                pass
        else:
            for _f in scan_paths([target], respect_gitignore=False, config=config):
                pass
        cpu.append(time.process_time() - start)
    return statistics.median(cpu)


def speed(
    work: Path,
    log_mb: int,
    tree_mb: int,
    runs: int,
    baseline_mb: int,
    engine_mb: int,
    corpus: Path,
    in_process: bool = True,
    before_src: Path | None = None,
) -> None:
    """Full-size figures for the default engine; the other engines and detect-secrets (about
    1000x slower) on smaller samples of the same generators, so the run ends in minutes. Then
    the same inputs (and the labelled corpus) through both command lines."""
    targets = {}
    for name, size in (
        ("log", log_mb),
        ("tree", tree_mb),
        ("log_engines", engine_mb),
        ("tree_engines", engine_mb),
        ("log_ds", baseline_mb),
        ("tree_ds", baseline_mb),
    ):
        path = work / name
        (make_log if name.startswith("log") else make_tree)(path, size)
        targets[name] = (path, size)
    corpus_mb = sum(p.stat().st_size for p in corpus.rglob("*") if p.is_file()) / 1e6
    cli_speed(
        work,
        [
            (f"labelled corpus {corpus.name} ({corpus_mb:.1f} MB)", corpus, corpus_mb, True),
            (f"log file, {baseline_mb} MB sample", targets["log_ds"][0], baseline_mb, True),
            (f"source tree, {baseline_mb} MB sample", targets["tree_ds"][0], baseline_mb, True),
            (f"log file, {log_mb} MB", targets["log"][0], log_mb, False),
            (f"source tree, {tree_mb} MB", targets["tree"][0], tree_mb, False),
        ],
        runs,
        before_src,
    )
    if not in_process:
        return
    print(f"\nin-process speed (median of {runs} runs, MB per CPU-second; peak RSS below)")
    for kind, label in (("log", "log file"), ("tree", "source tree")):
        path, size = targets[kind]
        ours = size / time_prodshield(path, "hyperscan", runs)
        epath, esize = targets[f"{kind}_engines"]
        engines = {}
        for e in ("hyperscan", "re2", "python"):
            try:
                engines[e] = esize / time_prodshield(epath, e, runs)
            except ImportError:  # re2 is an optional engine (google-re2)
                continue
        dpath, dsize = targets[f"{kind}_ds"]
        ds = dsize / detect_secrets_findings(dpath, None)
        print(
            f"  {label} {size} MB: prodshield (hyperscan) {ours:7.1f}   detect-secrets ({dsize} MB sample) "
            f"{ds:5.2f}   ratio {ours / ds:,.0f}x"
        )
        print(
            f"    engines on a {esize} MB sample: "
            + ", ".join(f"{e} {v:.1f}" for e, v in engines.items())
        )
    print(
        f"  peak RSS of this process: {peak_rss_mb():.0f} MB (4 MiB blocks; independent of file size)"
    )


# -- the user's path: both command lines as subprocesses, start-up included -------------------


def _child_cpu(command: tuple[list[str], Path], src: Path | None = None) -> tuple[float, float]:
    """Run a command in its folder (output discarded); its CPU seconds (user + system) and wall
    seconds. ``src``: the prodshield code it runs (PYTHONPATH), default the installed one."""
    cmd, cwd = command
    env = None if src is None else {**os.environ, "PYTHONPATH": str(src)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    result = subprocess.run(
        cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=3600,
        check=False, env=env,
    )  # fmt: skip
    wall = time.perf_counter() - start
    if result.returncode not in (0, 1):  # 1: findings at or above --fail-on
        raise SystemExit(f"{cmd[0]} failed: {result.stderr.decode(errors='replace')[:500]}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime), wall


def _where(target: Path) -> tuple[Path, str]:
    """Run in the folder scanned (or the file's folder) on a relative path, as users do:
    detect-secrets silently scans nothing when given a folder outside the current one."""
    return (target, ".") if target.is_dir() else (target.parent, target.name)


def prodshield_cli(target: Path) -> tuple[list[str], Path]:
    """``prodshield audit secrets`` as a user runs it on a tree or a log (JSON report, no gate)."""
    exe = Path(sys.executable).with_name("prodshield")
    cwd, arg = _where(target)
    flags = ["--format", "json", "--include-tests", "--no-gitignore", "--fail-on", "none"]
    return [str(exe), "audit", "secrets", arg, *flags], cwd


def detect_secrets_cli(target: Path) -> tuple[list[str], Path]:
    """``detect-secrets scan`` as a user runs it outside git (every file of the folder)."""
    exe = Path(sys.executable).with_name("detect-secrets")
    cwd, arg = _where(target)
    return [str(exe), "scan", "--all-files", arg], cwd


def cli_speed(
    work: Path,
    inputs: list[tuple[str, Path, float, bool]],
    runs: int,
    before_src: Path | None = None,
) -> None:
    """MB per CPU-second of each command line, start-up included (median of ``runs``); the
    ``bool`` says whether detect-secrets scans that input too (it is ~1000x slower). With
    ``before_src``, the same command on that code too, runs interleaved."""
    empty = work / "empty"
    empty.mkdir(exist_ok=True)
    (empty / "a.txt").write_text("nothing here\n")
    now_src = Path(__file__).resolve().parents[1] / "src" if before_src else None
    startup = statistics.median(_child_cpu(prodshield_cli(empty), now_src)[0] for _ in range(runs))
    ds_startup = statistics.median(_child_cpu(detect_secrets_cli(empty))[0] for _ in range(runs))
    print(
        f"\ncommand lines as subprocesses, start-up included (median of {runs} runs; CPU = the "
        f"child's user + system)\n  start-up on a one-line file: prodshield {startup:.2f} CPU-s, "
        f"detect-secrets {ds_startup:.2f} CPU-s"
    )
    if before_src is not None:
        then = statistics.median(
            _child_cpu(prodshield_cli(empty), before_src)[0] for _ in range(runs)
        )
        print(f"  start-up of the code before ({before_src}): {then:.2f} CPU-s")
    before_head = f"{'before':>14}{'after/before':>14}" if before_src else ""
    print(
        f"  {'input':44}{'prodshield MB/CPU-s':>21}{'detect-secrets':>16}{'ratio':>9}{before_head}"
    )
    for label, path, size, with_ds in inputs:
        ours: list[tuple[float, float]] = []
        theirs: list[float] = []
        for _ in range(runs):
            ours.append(_child_cpu(prodshield_cli(path), now_src))
            if before_src is not None:
                theirs.append(_child_cpu(prodshield_cli(path), before_src)[0])
        cpu = statistics.median(c for c, _ in ours)
        wall = statistics.median(w for _, w in ours)
        cells = f"  {label:44}{size / cpu:>12.1f} ({wall:5.1f} s)"
        if with_ds:
            ds = statistics.median(_child_cpu(detect_secrets_cli(path))[0] for _ in range(runs))
            cells += f"{size / ds:>16.2f}{ds / cpu:>8,.0f}x"
        else:
            cells += " " * 25
        if theirs:
            then = statistics.median(theirs)
            cells += f"{size / then:>14.1f}{then / cpu:>13.2f}x"
        print(cells)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS.resolve())
    ap.add_argument("--log-mb", type=int, default=500)
    ap.add_argument("--tree-mb", type=int, default=200)
    ap.add_argument(
        "--baseline-mb", type=int, default=2, help="size of the sample detect-secrets scans"
    )
    ap.add_argument("--engine-mb", type=int, default=50, help="sample size for re2/python engines")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--skip-speed", action="store_true")
    ap.add_argument("--skip-accuracy", action="store_true")
    ap.add_argument(
        "--skip-in-process",
        action="store_true",
        help="speed through the command lines only (no library figures, no engine samples)",
    )
    ap.add_argument(
        "--before-src",
        type=Path,
        default=None,
        help="src folder of the code before a change: its command line is measured beside",
    )
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="prodshield-bench-") as tmp:
        work = Path(tmp)
        if not args.skip_accuracy:
            accuracy(args.corpus, work)
        if not args.skip_speed:
            speed(
                work,
                args.log_mb,
                args.tree_mb,
                args.runs,
                args.baseline_mb,
                args.engine_mb,
                args.corpus,
                in_process=not args.skip_in_process,
                before_src=args.before_src.resolve() if args.before_src else None,
            )


if __name__ == "__main__":
    main()
