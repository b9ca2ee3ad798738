"""The full crash loop: SIGKILL `prodshield serve` at random points 50+ times while it checks a
flapping target, follows a growing log and notifies GitHub (the stand-in), then kill
`prodshield db upgrade` mid-migration on fresh stores. Prints what survived.

    python benchmarks/crashloop.py [--kills 50] [--migration-kills 10] [--seed 1]

Baseline: none to compare against; the figures are absolute (lost and duplicated must be 0). The
same harness runs shortened in CI (tests/web/test_crash_loop.py).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from support.crash_harness import run_crash_loop


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=50)
    parser.add_argument("--migration-kills", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="prodshield-crash-") as tmp:
        r = run_crash_loop(
            Path(tmp), kills=args.kills, migration_kills=args.migration_kills, seed=args.seed
        )
    print(f"serve killed with SIGKILL: {r.kills} times ({r.elapsed_s:.0f} s in all)")
    print(
        f"log lines: {r.lines_written} written, {r.lines_consumed} consumed after the last restart"
    )
    print(
        f"critical lines: {r.critical_written} written, {r.critical_counted} counted in findings "
        f"(lost {max(0, r.critical_written - r.critical_counted)}, "
        f"counted twice {max(0, r.critical_counted - r.critical_written)})"
    )
    print(
        f"incidents: {r.incidents}; GitHub issues: {r.issues}; outbox rows: {r.outbox_rows}, "
        f"never delivered: {r.outbox_unsent}; duplicate events in GitHub: {r.duplicate_events}, "
        f"duplicate issues: {r.duplicate_subjects}"
    )
    print(f"at most {r.open_incidents_max} open incident per check; integrity_check: {r.integrity}")
    print(
        f"db upgrade killed mid-migration: {r.migration_kills}, finished cleanly: {r.migrations_ok}"
    )
    print("verdict:", "PASS" if r.ok else "FAIL: " + "; ".join(r.problems))
    return 0 if r.ok else 1


if __name__ == "__main__":
    sys.exit(main())
