"""Detector precision and recall on generated logs with injected, labelled incidents.

Generates a day of realistic nginx access, PostgreSQL and application (Python logging) logs, with
incidents injected at random times: brute force (401 bursts from one IP), out-of-memory kills,
error spikes on an endpoint, slow queries and scanners. Benign look-alikes are mixed in (single
401s, slow-ish queries under the threshold, a busy but healthy endpoint). Then runs
`prodshield logs scan` on the files and scores findings against the labels per kind.

    python benchmarks/logs_detect.py [--seed 1] [--lines 300000]
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

ENDPOINTS = [
    f"/api/v1/{name}"
    for name in (
        "users",
        "orders",
        "items",
        "cart",
        "search",
        "login",
        "profile",
        "payments",
        "reviews",
        "stock",
        "shipping",
        "coupons",
    )
]
QUERIES = [
    "SELECT * FROM users WHERE id = {n}",
    "SELECT id, total FROM orders WHERE user_id = {n} ORDER BY created_at DESC LIMIT 20",
    "UPDATE stock SET qty = qty - 1 WHERE item_id = {n}",
    "INSERT INTO events (kind, payload) VALUES ('click', '{{\"n\": {n}}}')",
    "SELECT count(*) FROM sessions WHERE expires_at > now()",
    "DELETE FROM carts WHERE updated_at < now() - interval '{n} days'",
]
SLOW_QUERIES = [
    "SELECT * FROM orders o JOIN items i ON i.order_id = o.id WHERE o.status = 'open' AND i.sku LIKE '%{n}%'",
    "SELECT user_id, sum(total) FROM payments GROUP BY user_id HAVING sum(total) > {n}",
    "UPDATE reports SET done = true WHERE batch = {n}",
    "SELECT * FROM audit_log WHERE actor = 'u{n}' ORDER BY ts",
]
AGENTS = [
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Safari/604.1",
    "curl/8.5.0",
]
SCANNER_AGENTS = [
    "sqlmap/1.7.2#stable (https://sqlmap.org)",
    "Mozilla/5.00 (Nikto/2.5.0)",
    "Nuclei - Open-source project",
]
PROBES = [
    "/.env",
    "/.git/config",
    "/wp-login.php",
    "/index.php?page=../../../../etc/passwd",
    "/search?q=1%27%20OR%20%271%27=%271",
    "/phpmyadmin/index.php",
    "/?q=<script>alert(1)</script>",
]


def rand_ip(rnd: random.Random) -> str:
    return (
        f"{rnd.randint(11, 220)}.{rnd.randint(0, 255)}.{rnd.randint(0, 255)}.{rnd.randint(1, 254)}"
    )


def generate(folder: Path, lines: int, seed: int) -> dict[str, set[str]]:
    rnd = random.Random(seed)
    start = datetime(2026, 11, 24, 0, 0, tzinfo=UTC)
    labels: dict[str, set[str]] = defaultdict(set)
    access: list[tuple[datetime, str]] = []
    pg: list[tuple[datetime, str]] = []
    app: list[tuple[datetime, str]] = []
    clients = [rand_ip(rnd) for _ in range(400)]

    def when() -> datetime:
        return start + timedelta(seconds=rnd.uniform(0, 86400))

    def nginx(
        ts: datetime, ip: str, method: str, path: str, status: int, rt: float, agent: str
    ) -> str:
        return (
            f'{ip} - - [{ts:%d/%b/%Y:%H:%M:%S +0000}] "{method} {path} HTTP/1.1" {status} {rnd.randint(200, 9000)} '
            f'"-" "{agent}" {rt:.3f} {rt * 0.9:.3f}'
        )

    spiky = set(rnd.sample(ENDPOINTS, 3))
    for ep in spiky:
        labels["error_rate"].add(f"GET {ep}")
    n_access = int(lines * 0.6)
    for _ in range(n_access):
        ts, ep = when(), rnd.choice(ENDPOINTS)
        status = 500 if rnd.random() < 0.002 else (401 if rnd.random() < 0.003 else 200)
        access.append(
            (
                ts,
                nginx(
                    ts,
                    rnd.choice(clients),
                    "GET",
                    f"{ep}/{rnd.randint(1, 9999)}" if rnd.random() < 0.5 else ep,
                    status,
                    rnd.lognormvariate(-3.5, 0.6),
                    rnd.choice(AGENTS),
                ),
            )
        )
    for ep in spiky:  # an error spike: 25% 5xx for 20 minutes
        t0 = when()
        for _ in range(rnd.randint(400, 900)):
            ts = t0 + timedelta(seconds=rnd.uniform(0, 1200))
            access.append(
                (
                    ts,
                    nginx(
                        ts,
                        rnd.choice(clients),
                        "GET",
                        ep,
                        503 if rnd.random() < 0.5 else 200,
                        rnd.lognormvariate(-3, 0.5),
                        rnd.choice(AGENTS),
                    ),
                )
            )
    for _ in range(12):  # brute force: 401 bursts
        ip, t0 = rand_ip(rnd), when()
        labels["brute_force"].add(ip)
        for _ in range(rnd.randint(40, 150)):
            ts = t0 + timedelta(seconds=rnd.uniform(0, 120))
            access.append(
                (ts, nginx(ts, ip, "POST", "/api/v1/login", 401, 0.05, "python-requests/2.31"))
            )
    for _ in range(30):  # benign: a few wrong passwords, spread out
        ip = rand_ip(rnd)
        for _ in range(rnd.randint(1, 4)):
            ts = when()
            access.append(
                (ts, nginx(ts, ip, "POST", "/api/v1/login", 401, 0.05, rnd.choice(AGENTS)))
            )
    for _ in range(10):  # scanners
        ip, t0 = rand_ip(rnd), when()
        labels["scanner_probe"].add(ip)
        agent = rnd.choice(SCANNER_AGENTS)
        for probe in rnd.sample(PROBES, rnd.randint(3, len(PROBES))):
            ts = t0 + timedelta(seconds=rnd.uniform(0, 60))
            access.append((ts, nginx(ts, ip, "GET", probe, 404, 0.01, agent)))

    for _ in range(int(lines * 0.25)):
        ts = when()
        q = rnd.choice(QUERIES).format(n=rnd.randint(1, 10**6))
        ms = (
            rnd.uniform(0.05, 120) if rnd.random() > 0.01 else rnd.uniform(300, 480)
        )  # some slow-ish, under 500
        pg.append(
            (
                ts,
                f"{ts:%Y-%m-%d %H:%M:%S.%f}"[:-3]
                + f" UTC [{rnd.randint(1000, 9999)}] app@shop LOG:  duration: {ms:.3f} ms  statement: {q}",
            )
        )
    for sq in SLOW_QUERIES:
        for _ in range(rnd.randint(3, 12)):
            ts = when()
            pg.append(
                (
                    ts,
                    f"{ts:%Y-%m-%d %H:%M:%S.%f}"[:-3]
                    + f" UTC [{rnd.randint(1000, 9999)}] app@shop LOG:  duration: {rnd.uniform(800, 9000):.3f} ms  statement: {sq.format(n=rnd.randint(1, 999))}",
                )
            )
        labels["slow_query"].add(sq.split(" WHERE")[0].split(" GROUP")[0][:40])

    for _ in range(int(lines * 0.15)):
        ts = when()
        msg = rnd.choice(
            [
                "request handled in {n} ms",
                "cache hit for key user:{n}",
                "job {n} finished",
                "connected to payments gateway",
                "user {n} logged in",
            ]
        ).format(n=rnd.randint(1, 99999))
        app.append((ts, f"{ts:%Y-%m-%d %H:%M:%S,%f}"[:-3] + f" INFO app.worker: {msg}"))
    for proc in ("worker-billing", "worker-search", "celery-reports"):
        ts = when()
        labels["out_of_memory"].add(proc)
        app.append(
            (
                ts,
                f"{ts:%Y-%m-%d %H:%M:%S,%f}"[:-3]
                + f" ERROR app.supervisor: Out of memory: Killed process {rnd.randint(100, 9999)} ({proc}) total-vm:8123456kB",
            )
        )
    app.append(
        (
            when(),
            "2026-11-24 12:00:00,000 WARNING app.memory: memory usage at 71% (below the 90% limit)",
        )
    )

    for name, rows in (("access.log", access), ("postgresql.log", pg), ("app.log", app)):
        rows.sort(key=lambda r: r[0])
        (folder / name).write_text("\n".join(r[1] for r in rows) + "\n")
    return labels


def key_of(finding: dict) -> str | None:
    src, kind = finding["source"], finding["kind"]
    if kind in ("brute_force", "scanner_probe"):
        return src.get("ip")
    if kind in ("error_rate", "http_5xx_burst"):
        return src.get("endpoint")
    if kind == "slow_query":
        return str(src.get("query", ""))[:40]
    if kind == "out_of_memory":
        return src.get("detail")
    return None


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--lines", type=int, default=300_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        labels = generate(folder, args.lines, args.seed)
        files = [str(folder / n) for n in ("access.log", "postgresql.log", "app.log")]
        size = sum(Path(f).stat().st_size for f in files)
        t0 = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "prodshield", "logs", "scan", *files, "--format", "json"],
            capture_output=True,
            text=True,
        )
        elapsed = time.perf_counter() - t0
        if proc.returncode not in (0, 1):
            sys.exit(f"scan failed: {proc.stderr.strip()[:500]}")
        data = json.loads(proc.stdout)
    print(
        f"{data['stats'].get('events')} events, {size / 1e6:.1f} MB scanned in {elapsed:.2f} s "
        f"({size / 1e6 / elapsed:.1f} MB/s, whole CLI run)"
    )
    print(f"{'kind':<16} {'labels':>6} {'found':>6} {'tp':>4} {'precision':>9} {'recall':>7}")
    for kind, truth in sorted(labels.items()):
        # an error spike on an endpoint is its 5xx finding: a burst, or a high rate
        kinds = ("error_rate", "http_5xx_burst") if kind == "error_rate" else (kind,)
        found = {key_of(f) for f in data["findings"] if f["kind"] in kinds}
        found.discard(None)
        if kind == "slow_query":
            tp = {
                k for k in truth if any(str(f).startswith(k) or k.startswith(str(f)) for f in found)
            }
            fp = [
                f
                for f in found
                if not any(str(f).startswith(k) or k.startswith(str(f)) for k in truth)
            ]
            precision = (len(found) - len(fp)) / len(found) if found else 0.0
        else:
            tp = truth & found
            precision = len(tp) / len(found) if found else 0.0
        recall = len(tp) / len(truth)
        print(
            f"{kind:<16} {len(truth):>6} {len(found):>6} {len(tp):>4} {precision:>9.3f} {recall:>7.3f}"
        )


if __name__ == "__main__":
    main()
