"""Address spraying against the service's detectors: memory, findings rows and window work stay flat.

Usage: python benchmarks/logs_spray.py [--lines 100000,300000,1000000] [--unbounded]

An attacker (a botnet, or one host spraying IPv6 addresses: a /64 holds 2^64 of them) sends failed
logins, 401s and scanner probes from a new address every line. For each size it feeds, in a fresh
process, the service's own loop (``LogService``, as ``prodshield serve`` runs it) with that many
lines split between an sshd log (``Failed password for root from <address> port 22 ssh2``, IPv4 and
IPv6) and an nginx access log (``POST /login`` answered 401, and probes for ``/.env``, each on a
path of its own), with one real brute-forcer (12 failed logins) hidden among them, and prints:
the growth of the process's resident memory (MB, and MB per 100,000 distinct addresses), the
findings rows stored, the slowest and the last window's flush (the window is every 20,000 lines),
the auth_failure total over the rows (it must equal the failed-login lines) and whether the
brute-forcer got its ``brute_force`` finding.

Baseline, in the same run: the same lines with the cap on distinct keys per detector set out of
reach (``logs.detector_keys: 100000000``), as the detectors were before it (``--unbounded`` runs
only that).
"""

from __future__ import annotations

import argparse
import gc
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BRUTE = "192.0.2.77"


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _address(n: int) -> str:
    if n % 2:
        return f"2001:db8:{(n >> 16) & 0xFFFF:x}:{n & 0xFFFF:x}::{n % 97 + 1:x}"
    return f"10.{(n >> 16) & 0xFF}.{(n >> 8) & 0xFF}.{n & 0xFF}"


def _lines(total: int) -> tuple[list[bytes], list[bytes], int]:
    """(sshd lines, nginx lines, failed-login lines in the sshd log)."""
    ssh, web = [], []
    failed = 0
    for n in range(total):
        sec = n * 3600 // max(total, 1)
        stamp = f"Dec  6 10:{sec // 60:02d}:{sec % 60:02d}"
        clf = f"06/Dec/2026:10:{sec // 60:02d}:{sec % 60:02d} +0000"
        ip = _address(n)
        if n % 2 == 0:
            ssh.append(
                f"{stamp} web1 sshd[{n % 30000}]: Failed password for root from {ip} port 22 ssh2\n".encode()
            )
            failed += 1
        elif n % 4 == 1:
            web.append(
                f'{ip} - - [{clf}] "POST /login HTTP/1.1" 401 12 "-" "curl/8.5" 0.004\n'.encode()
            )
        else:
            web.append(
                f'{ip} - - [{clf}] "GET /p{n}/.env HTTP/1.1" 404 0 "-" "Mozilla/5.0" 0.001\n'.encode()
            )
    # the brute-forcer: 12 failed logins 20 s apart (10:10 to 10:13:40), among the sprayed lines
    for k in reversed(range(12)):
        sec = 600 + k * 20
        at = sec * len(ssh) // 3600
        stamp = f"Dec  6 10:{sec // 60:02d}:{sec % 60:02d}"
        ssh.insert(
            at,
            f"{stamp} web1 sshd[999]: Failed password for admin from {BRUTE} port 22 ssh2\n".encode(),
        )
        failed += 1
    return ssh, web, failed


def _run(total: int, keys: int | None) -> dict[str, Any]:
    """One size in this process: feed the service, flush every 20,000 lines, read the rows."""
    from sqlalchemy import select

    from prodshield.config import parse_config
    from prodshield.logs.service import LogService
    from prodshield.store import open_store
    from prodshield.store import tables as t

    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
    ssh, web, failed = _lines(total)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "auth.log").write_bytes(b"")
        (work / "access.log").write_bytes(b"")
        cap = f"  detector_keys: {keys}\n" if keys is not None else ""
        text = (
            "storage: sqlite:///store.db\nlogs:\n"
            "  sources:\n"
            "    - {name: auth, path: auth.log, format: syslog}\n"
            "    - {name: web, path: access.log, format: nginx}\n" + cap
        )
        loaded = parse_config(text, name=str(work / "shield.yaml"), env={}, fs_path=work / "x")
        store = open_store(f"sqlite:///{work / 'store.db'}")
        service = LogService(loaded, store)
        service._miner = service._load_miner()
        service._resolve()
        service._poll_all()
        service._flush_guarded()
        rss0 = _rss_mb()
        flushes: list[float] = []
        step = 10_000
        for i in range(0, max(len(ssh), len(web)), step):
            with (work / "auth.log").open("ab") as out:
                out.write(b"".join(ssh[i : i + step]))
            with (work / "access.log").open("ab") as out:
                out.write(b"".join(web[i : i + step]))
            while service._poll_all():
                pass
            start = time.perf_counter()
            service._flush_guarded()
            flushes.append(time.perf_counter() - start)
        rss = _rss_mb() - rss0
        f_t = t.log_findings
        with store.begin() as conn:
            rows = conn.execute(select(f_t.c.kind, f_t.c["count"], f_t.c.source)).all()
        store.close()
    auth = sum(int(r[1]) for r in rows if r[0] == "auth_failure")
    brute = any(r[0] == "brute_force" and (r[2] or {}).get("ip") == BRUTE for r in rows if r[2])
    return {
        "lines": total,
        "keys": keys,
        "rss_mb": round(rss, 1),
        "mb_per_100k": round(rss / (total / 100_000), 1),
        "rows": len(rows),
        "flush_max_s": round(max(flushes), 3),
        "flush_last_s": round(flushes[-1], 3),
        "auth_failure_total": auth,
        "failed_lines": failed,
        "brute_force_found": brute,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", default="100000,300000,1000000")
    parser.add_argument("--unbounded", action="store_true")
    parser.add_argument("--child", nargs=2, metavar=("LINES", "KEYS"))
    args = parser.parse_args()
    if args.child:
        keys = None if args.child[1] == "default" else int(args.child[1])
        print(json.dumps(_run(int(args.child[0]), keys)))
        return
    modes = ["100000000"] if args.unbounded else ["100000000", "default"]
    print(
        f"{'lines':>9} {'cap':>10} {'RSS MB':>7} {'MB/100k':>8} {'rows':>7} {'flush max':>9} "
        f"{'last':>6} {'auth total':>10} {'lines':>7} brute-forcer"
    )
    for total in map(int, args.lines.split(",")):
        for mode in modes:
            out = subprocess.run(
                [sys.executable, __file__, "--child", str(total), mode],
                capture_output=True,
                text=True,
                check=True,
            )
            r = json.loads(out.stdout.strip().splitlines()[-1])
            cap = "unbounded" if mode != "default" else "default"
            print(
                f"{r['lines']:>9} {cap:>10} {r['rss_mb']:>7} {r['mb_per_100k']:>8} {r['rows']:>7} "
                f"{r['flush_max_s']:>9} {r['flush_last_s']:>6} {r['auth_failure_total']:>10} "
                f"{r['failed_lines']:>7} {'found' if r['brute_force_found'] else 'MISSED'}"
            )


if __name__ == "__main__":
    main()
