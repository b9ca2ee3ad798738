"""Technical-debt scan speed on a generated git repository of >= 5,000 files.

Baseline (same run): the naive approach, `git grep` for markers then one `git blame -L n,n` per
marker line. prodshield: `git grep`, a comment lexer, then one multi-range blame per file.

    python benchmarks/debt.py [--files 6000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from prodshield.logs.debt import scan_repo

AUTHORS = [
    ("Ada", "ada@example.com"),
    ("Grace", "grace@example.com"),
    ("Linus", "linus@example.com"),
    ("Barbara", "barbara@example.com"),
]
EXT = {".py": "#", ".js": "//", ".go": "//", ".sh": "#", ".java": "//", ".sql": "--"}


def git(repo: Path, *args: str, who: tuple[str, str] = AUTHORS[0]) -> None:
    env = dict(
        os.environ,
        GIT_AUTHOR_NAME=who[0],
        GIT_AUTHOR_EMAIL=who[1],
        GIT_COMMITTER_NAME=who[0],
        GIT_COMMITTER_EMAIL=who[1],
    )
    subprocess.run(["git", "-C", str(repo), *args], check=True, env=env, capture_output=True)


def build(repo: Path, files: int, seed: int = 7) -> int:
    rnd = random.Random(seed)
    git(repo, "init", "-q", "-b", "main")
    markers = 0
    paths = []
    for i in range(files):
        ext = rnd.choice(list(EXT))
        p = repo / f"pkg{i % 60}" / f"mod{i}{ext}"
        p.parent.mkdir(parents=True, exist_ok=True)
        lines = [f"{EXT[ext]} module {i}"] + [
            f"value_{j} = {rnd.randint(0, 10**6)}" for j in range(rnd.randint(20, 80))
        ]
        if rnd.random() < 0.3:
            for _ in range(rnd.randint(1, 3)):
                lines.insert(
                    rnd.randrange(1, len(lines)),
                    f"{EXT[ext]} {rnd.choice(['TODO', 'FIXME', 'HACK', 'XXX'])}: item {rnd.random():.6f}",
                )
                markers += 1
        p.write_text("\n".join(lines) + "\n")
        paths.append(p)
    # history: four commits by different authors
    chunk = len(paths) // len(AUTHORS) + 1
    for n, who in enumerate(AUTHORS):
        for p in paths[n * chunk : (n + 1) * chunk]:
            git_path = str(p.relative_to(repo))
            subprocess.run(["git", "-C", str(repo), "add", git_path], check=True)
        git(repo, "commit", "-q", "-m", f"batch {n}", who=who)
    # later edits: a quarter of the files change again, so they need a real blame
    for round_no in range(3):
        for p in rnd.sample(paths, len(paths) // 12):
            with p.open("a") as fh:
                fh.write(f"{EXT[p.suffix]} revised in round {round_no}\n")
        subprocess.run(["git", "-C", str(repo), "add", "-A"], check=True)
        git(
            repo, "commit", "-q", "-m", f"revision {round_no}", who=AUTHORS[round_no % len(AUTHORS)]
        )
    return markers


def naive(repo: Path) -> int:
    out = subprocess.run(
        ["git", "-C", str(repo), "grep", "-n", "-I", "-E", r"\b(TODO|FIXME|HACK|XXX|BUG)\b"],
        capture_output=True,
        text=True,
    ).stdout
    n = 0
    for row in out.splitlines():
        path, line, _ = row.split(":", 2)
        subprocess.run(
            ["git", "-C", str(repo), "blame", "--porcelain", "-L", f"{line},{line}", "--", path],
            capture_output=True,
            check=True,
        )
        n += 1
    return n


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=6000)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp) / "repo"
        repo.mkdir()
        t0 = time.perf_counter()
        planted = build(repo, args.files)
        print(
            f"generated {args.files} files with {planted} markers in {time.perf_counter() - t0:.1f}s"
        )
        ours, base = [], []
        for _ in range(args.rounds):
            t0 = time.perf_counter()
            report = scan_repo(repo)
            ours.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            found = naive(repo)
            base.append(time.perf_counter() - t0)
        assert len(report.items) == planted, (len(report.items), planted)
        assert all(i.author for i in report.items)
        mo, mb = statistics.median(ours), statistics.median(base)
        print(
            f"prodshield debt: {mo:.2f} s (median of {args.rounds}), {len(report.items)} markers attributed"
        )
        print(
            f"naive git grep + per-line git blame: {mb:.2f} s (median of {args.rounds}), {found} lines"
        )
        print(f"speed-up: {mb / mo:.1f}x")


if __name__ == "__main__":
    main()
