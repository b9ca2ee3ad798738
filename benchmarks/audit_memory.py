"""Peak memory (max RSS) of ``prodshield audit TREE --no-process-env --format json``, this
checkout against an older one, in the same run.

The older code is ``--before-src DIR`` (a ``src`` folder) or, by default, ``--before-rev REV``
exported with ``git archive`` (default: the commit before parsed documents stopped being kept).
Each side runs ``--repeats`` times, alternately, in a subprocess; the script prints the median max
RSS of each side, the ratio, and the CPU seconds (user+sys). The tree defaults to
``/usr/lib/python3`` (48 MB of Python on Debian); any folder works.

Usage: python benchmarks/audit_memory.py [TREE] [--before-rev REV | --before-src DIR] [--repeats N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BEFORE_REV = "b484fa8"  # keeps every parsed config document (and every text) for the run


def run(src: Path, tree: Path, out: Path) -> tuple[float, float]:
    """(max RSS in MB, CPU seconds) of one audit in a child process."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    cmd = [sys.executable, "-m", "prodshield", "audit", str(tree), "--no-process-env"]
    cmd += ["--format", "json", "-o", str(out)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{src}: audit exited {proc.returncode}")
    return usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime


def export(rev: str, into: Path) -> Path:
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", rev, "src"], check=True, capture_output=True
    ).stdout
    tar_path = into / "src.tar"
    tar_path.write_bytes(archive)
    with tarfile.open(tar_path) as tar:
        tar.extractall(into, filter="data")
    return into / "src"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("tree", nargs="?", default="/usr/lib/python3", type=Path)
    ap.add_argument("--before-rev", default=BEFORE_REV)
    ap.add_argument("--before-src", type=Path)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        before = args.before_src or export(args.before_rev, tmpdir)
        sides = {"before": before, "after": ROOT / "src"}
        rss: dict[str, list[float]] = {k: [] for k in sides}
        cpu: dict[str, list[float]] = {k: [] for k in sides}
        outputs: dict[str, str] = {}
        for _ in range(args.repeats):
            for name, src in sides.items():
                out = tmpdir / f"{name}.json"
                mb, cpu_s = run(src, args.tree, out)
                rss[name].append(mb)
                cpu[name].append(cpu_s)
                outputs[name] = out.read_text()
    size = sum(f.stat().st_size for f in args.tree.rglob("*") if f.is_file() and not f.is_symlink())
    print(f"tree {args.tree}: {size / 1e6:.1f} MB; load {os.getloadavg()[0]:.1f}")
    for name, src in sides.items():
        print(
            f"{name:6} ({src}): max RSS median {statistics.median(rss[name]):.0f} MB "
            f"{sorted(round(x) for x in rss[name])}, CPU-s median {statistics.median(cpu[name]):.2f}"
        )
    ratio = statistics.median(rss["before"]) / statistics.median(rss["after"])
    print(f"peak memory: after is 1/{ratio:.1f} of before")
    same = _findings(outputs["before"]) == _findings(outputs["after"])
    print(f"findings identical: {same}")


def _findings(text: str) -> list[object]:
    import json

    return list(json.loads(text)["findings"])


if __name__ == "__main__":
    main()
