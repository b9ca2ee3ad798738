"""Benchmark of ``prodshield audit`` against the tools a team uses today, measured in one run.

Part 1, TLS bench: a private CA and one loopback endpoint per defect (plus a clean one). Checks
that every defect is named by its rule with its reason and that the clean endpoint yields nothing;
times prodshield per endpoint (sequential, median of repeats) and per endpoint when many are
probed concurrently; times testssl.sh (Debian ``testssl.sh``, ``--add-ca`` with the bench CA,
``-S -p``) on the same endpoints in the same run, each run bounded in time.

Part 2, deploy tree: writes a vulnerable deploy tree with seeded problems in every family and its
fixed twin; measures prodshield's recall on the seeds, the findings on the twin, the time for the
whole tree; runs bandit and checkov (PyPI) on the same tree and counts the seeds each reports
(leniently: any finding of theirs within one line of a seeded line, or anywhere in the file for
file-level seeds).

Usage: python benchmarks/audit.py [--testssl-endpoints N|all] [--skip-baselines]
Baselines are looked up on PATH and in ./.bench-venv/bin (pip install bandit checkov there).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from prodshield.audit import AuditSettings, TlsTarget, audit
from prodshield.audit.tlsbench import TlsBench

ROOT = Path(__file__).resolve().parent.parent

DEFECTS = {
    "expired": "tls.expired",
    "not-yet-valid": "tls.not-yet-valid",
    "expiring-soon": "tls.expiring-soon",
    "expiring-imminent": "tls.expiring-imminent",
    "self-signed": "tls.self-signed",
    "untrusted-root": "tls.untrusted-root",
    "hostname-mismatch": "tls.hostname-mismatch",
    "weak-key": "tls.weak-key",
    "weak-signature": "tls.weak-signature",
    "incomplete-chain": "tls.incomplete-chain",
    "tls1.0": "tls.legacy-tls1.0",
    "tls1.1": "tls.legacy-tls1.1",
    "revoked": "tls.revoked",
}


def tool(name: str) -> str | None:
    local = ROOT / ".bench-venv" / "bin" / name
    if local.exists():
        return str(local)
    return shutil.which(name)


# --- part 1: TLS -----------------------------------------------------------------------------


def tls_bench(testssl_endpoints: str, repeats: int = 5) -> None:
    print("== TLS bench (loopback endpoints, private CA) ==")
    settings = AuditSettings(revocation=True, revocation_hosts=("127.0.0.1",), timeout=5)
    with TlsBench() as bench:
        endpoints = {p: bench.endpoint(p) for p in ["clean", *DEFECTS]}
        ok = True
        per_endpoint: dict[str, float] = {}
        for profile, target in endpoints.items():
            times = []
            findings: list = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                report = audit(
                    families="tls", tls_targets=[target], ca_file=bench.ca_file, settings=settings
                )
                times.append(time.perf_counter() - t0)
                findings = report.findings
            per_endpoint[profile] = statistics.median(times)
            rules = [f.rule for f in findings]
            if profile == "clean":
                good = rules == []
                detail = "nothing" if good else f"UNEXPECTED {rules}"
            else:
                hit = [f for f in findings if f.rule == DEFECTS[profile]]
                good = bool(hit)
                detail = f"{DEFECTS[profile]}: {hit[0].message}" if hit else f"MISSED (got {rules})"
            ok &= good
            print(
                f"  {profile:18s} {per_endpoint[profile] * 1000:7.1f} ms  {'ok ' if good else 'BAD'} {detail}"
            )
        seq_median = statistics.median(per_endpoint.values())
        print(f"  every defect named, clean silent: {'yes' if ok else 'NO'}")
        print(
            f"  prodshield sequential: median {seq_median * 1000:.1f} ms per endpoint "
            f"(3 handshakes + revocation check each)"
        )

        # many endpoints at once
        many: list[TlsTarget] = [bench.endpoint(p) for p in list(endpoints) * 4]
        conc_times = []
        for _ in range(3):
            t0 = time.perf_counter()
            report = audit(
                families="tls", tls_targets=many, ca_file=bench.ca_file, settings=settings
            )
            conc_times.append(time.perf_counter() - t0)
        conc = statistics.median(conc_times)
        print(
            f"  prodshield concurrent: {len(many)} endpoints in {conc * 1000:.0f} ms = "
            f"{conc / len(many) * 1000:.1f} ms per endpoint ({len(report.findings)} findings)"
        )

        exe = tool("testssl") or tool("testssl.sh")
        if exe is None:
            print("  testssl.sh: not installed (apt-get install testssl.sh); no ratio")
            return
        chosen = (
            list(endpoints)
            if testssl_endpoints == "all"
            else (
                ["clean", "expired", "tls1.0", "self-signed", "weak-key"][: int(testssl_endpoints)]
            )
        )
        ts_times = []
        for profile in chosen:
            t = endpoints[profile]
            cmd = [
                exe,
                "--quiet",
                "--color",
                "0",
                "--warnings",
                "batch",
                "--add-ca",
                str(bench.ca_file),
                "--ip",
                "127.0.0.1",
                "--connect-timeout",
                "5",
                "--openssl-timeout",
                "5",
                "-S",
                "-p",
                f"localhost:{t.port}",
            ]
            t0 = time.perf_counter()
            try:
                out = subprocess.run(cmd, capture_output=True, text=True, timeout=240).stdout
                status = "done"
            except subprocess.TimeoutExpired:
                out, status = "", "TIMED OUT at 240 s"
            elapsed = time.perf_counter() - t0
            ts_times.append(elapsed)
            noted = _testssl_notes(out, profile)
            print(
                f"  testssl.sh {profile:14s} {elapsed:6.1f} s ({status}; {noted})  "
                f"prodshield {per_endpoint[profile] * 1000:.1f} ms  "
                f"ratio {elapsed / per_endpoint[profile]:.0f}x"
            )
        ts_median = statistics.median(ts_times)
        seq_same = statistics.median(per_endpoint[p] for p in chosen)
        print(
            f"  testssl.sh median {ts_median:.1f} s per endpoint vs prodshield {seq_same * 1000:.1f} ms "
            f"on the same endpoints: prodshield takes 1/{ts_median / seq_same:.0f} of the time"
        )


def _testssl_notes(out: str, profile: str) -> str:
    low = out.lower()
    keys = {
        "expired": "expired",
        "self-signed": "self signed",
        "weak-key": "1024",
        "tls1.0": "tls 1 ",
        "clean": "ok",
    }
    key = keys.get(profile)
    if key is None:
        return "output not checked"
    return f"mentions {key!r}" if key in low else f"does not mention {key!r}"


# --- part 2: the deploy tree ---------------------------------------------------------------------


@dataclass
class Seed:
    path: str
    rule: str
    needle: str | None = None  # a substring of the seeded line; None = the whole file


STRIPE = "sk_live_" + "51HqLyjWDarjtT1zdp7dcXyZ0aB3cD5eF"
AWS_ID = "AKIA" + "QYLPMN5HFIQR7XYZ"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/" + "bPxRfiCYzq9x8Lk2Qa"  # prodshield:allow (seeded)
# values planted in the tree, split so secret scanners of this repository stay quiet
PLANTED = {
    "${BENCH_PW}": "Sup3r" + "S3cretPw",
    "${BENCH_FLASK_KEY}": "q3Zt9Lw2Rk8V" + "b6Nx4Jc1Hm7Pd5Fs0Ga",
    "${BENCH_ADMIN}": "admin:" + "admin",
}


def tree_files() -> dict[str, tuple[str, str | None, int, int]]:
    """path -> (vulnerable text, fixed text or None when the twin drops it, vuln mode, fixed mode)."""
    f: dict[str, tuple[str, str | None, int, int]] = {}
    f["app/shop/settings.py"] = (
        """import os

import requests
import urllib3

DEBUG = True
ALLOWED_HOSTS = ["*"]
SECRET_KEY = "django-insecure-changeme"
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
CORS_ALLOW_ALL_ORIGINS = True
CORS_ALLOW_CREDENTIALS = True
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "shop",
        "USER": "postgres",
        "PASSWORD": "postgres",
        "HOST": "db",
        "OPTIONS": {"sslmode": "disable"},
    }
}
PAYMENTS_URL = "https://pay.internal"
urllib3.disable_warnings()


def charge(amount):
    return requests.post(PAYMENTS_URL, json={"amount": amount}, verify=False, timeout=10)
""",
        """import os

import requests

DEBUG = os.environ.get("DJANGO_DEBUG") == "1"
ALLOWED_HOSTS = ["shop.example.com"]
SECRET_KEY = os.environ["DJANGO_SECRET_KEY"]
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
CORS_ALLOWED_ORIGINS = ["https://shop.example.com"]
CORS_ALLOW_CREDENTIALS = True
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "shop",
        "USER": "shop",
        "PASSWORD": os.environ["DB_PASSWORD"],
        "HOST": "db",
        "OPTIONS": {"sslmode": "verify-full"},
    }
}
PAYMENTS_URL = "https://pay.internal"


def charge(amount):
    return requests.post(PAYMENTS_URL, json={"amount": amount}, verify="/etc/ssl/ca.pem", timeout=10)
""",
        0o644,
        0o644,
    )
    f["app/api/app.py"] = (
        """from flask import Flask
from flask_cors import CORS

app = Flask(__name__)
app.secret_key = "${BENCH_FLASK_KEY}"
app.config["SESSION_COOKIE_SECURE"] = False
CORS(app, supports_credentials=True)

if __name__ == "__main__":
    app.run(host="0.0.0.0", debug=True)
""",
        """import os

from flask import Flask
from flask_cors import CORS

app = Flask(__name__)
app.secret_key = os.environ["FLASK_SECRET_KEY"]
app.config["SESSION_COOKIE_SECURE"] = True
CORS(app, origins=["https://shop.example.com"], supports_credentials=True)

if __name__ == "__main__":
    app.run(host="127.0.0.1")
""",
        0o644,
        0o644,
    )
    f["app/shop/payments.py"] = (
        f'''STRIPE_KEY = "{STRIPE}"
''',
        """import os

STRIPE_KEY = os.environ["STRIPE_KEY"]
""",
        0o644,
        0o644,
    )
    f["app/.env"] = (
        f"""DJANGO_DEBUG=true
FLASK_DEBUG=1
NODE_TLS_REJECT_UNAUTHORIZED=0
PYTHONHTTPSVERIFY=0
DATABASE_URL=postgres://${{BENCH_ADMIN}}@db:5432/shop?sslmode=disable
STRIPE_SECRET_KEY={STRIPE}
""",
        """DJANGO_DEBUG=false
FLASK_DEBUG=0
NODE_EXTRA_CA_CERTS=/etc/ssl/ca.pem
DATABASE_URL=postgres://shop:${DB_PASSWORD}@db:5432/shop?sslmode=verify-full
STRIPE_SECRET_KEY=${STRIPE_SECRET_KEY}
""",
        0o644,
        0o600,
    )
    f["config/production.yaml"] = (
        """app:
  name: shop
  debug: true
http:
  ssl_verify: false
cors:
  allow_origins: ["*"]
  allow_credentials: true
""",
        """app:
  name: shop
  debug: false
http:
  ssl_verify: true
cors:
  allow_origins: ["https://shop.example.com"]
  allow_credentials: true
""",
        0o644,
        0o644,
    )
    f["config/services.json"] = (
        """{
  "search": {
    "url": "https://search.internal:9200",
    "insecure_skip_verify": true
  }
}
""",
        """{
  "search": {
    "url": "https://search.internal:9200",
    "ca_file": "/etc/ssl/ca.pem"
  }
}
""",
        0o644,
        0o644,
    )
    f["config/worker.toml"] = (
        """[worker]
queue = "default"
debug = true
""",
        """[worker]
queue = "default"
debug = false
""",
        0o644,
        0o644,
    )
    f["config/legacy.ini"] = (
        """[database]
host = db.internal
user = root
password = root
""",
        """[database]
host = db.internal
user = shop
""",
        0o644,
        0o644,
    )
    f["deploy/nginx/shop.conf"] = (
        """server {
    listen 443 ssl;
    server_name shop.example.com;
    ssl_protocols TLSv1 TLSv1.1 TLSv1.2;
    ssl_ciphers RC4-SHA:DES-CBC3-SHA:HIGH;
    server_tokens on;
    location /media/ {
        autoindex on;
    }
    location /api/ {
        add_header Access-Control-Allow-Origin $http_origin;
        add_header Access-Control-Allow-Credentials true;
        proxy_pass http://127.0.0.1:8000;
    }
}
""",
        """server {
    listen 443 ssl;
    server_name shop.example.com;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_ciphers HIGH:!aNULL:!MD5;
    server_tokens off;
    location /media/ {
        autoindex off;
    }
    location /api/ {
        add_header Access-Control-Allow-Origin https://shop.example.com;
        add_header Access-Control-Allow-Credentials true;
        proxy_pass http://127.0.0.1:8000;
    }
}
""",
        0o644,
        0o644,
    )
    f["deploy/Dockerfile"] = (
        """FROM python:latest
WORKDIR /srv
COPY . /srv
ENV DB_PASSWORD=${BENCH_PW}
RUN pip install -r requirements.txt
EXPOSE 8000 22
CMD ["gunicorn", "shop.wsgi"]
""",
        """FROM python:3.12-slim
WORKDIR /srv
COPY . /srv
RUN pip install -r requirements.txt && useradd -r app
EXPOSE 8000
USER app
CMD ["gunicorn", "shop.wsgi"]
""",
        0o644,
        0o644,
    )
    f["deploy/stack.yml"] = (
        """services:
  web:
    image: shop/web:1.4.2
    user: root
    ports:
      - "8000:8000"
  agent:
    image: monitor/agent:2.1
    privileged: true
    volumes:
      - /var/run/docker.sock:/var/run/docker.sock
  db:
    image: postgres:16
    ports:
      - "5432:5432"
    environment:
      POSTGRES_PASSWORD: postgres
""",
        """services:
  web:
    image: shop/web:1.4.2
    user: "1000:1000"
    ports:
      - "8000:8000"
  agent:
    image: monitor/agent:2.1
    volumes:
      - agent-data:/data
  db:
    image: postgres:16
    ports:
      - "127.0.0.1:5432:5432"
    environment:
      POSTGRES_PASSWORD: ${POSTGRES_PASSWORD}
volumes:
  agent-data: {}
""",
        0o644,
        0o644,
    )
    f["deploy/k8s/deployment.yaml"] = (
        """apiVersion: apps/v1
kind: Deployment
metadata:
  name: shop
spec:
  template:
    spec:
      hostNetwork: true
      securityContext:
        runAsUser: 0
      containers:
        - name: web
          image: shop/web:1.4.2
          securityContext:
            privileged: true
            allowPrivilegeEscalation: true
          env:
            - name: DB_PASSWORD
              value: ${BENCH_PW}
""",
        """apiVersion: apps/v1
kind: Deployment
metadata:
  name: shop
spec:
  template:
    spec:
      securityContext:
        runAsNonRoot: true
        runAsUser: 10001
      containers:
        - name: web
          image: shop/web:1.4.2
          securityContext:
            privileged: false
            allowPrivilegeEscalation: false
          env:
            - name: DB_PASSWORD
              valueFrom:
                secretKeyRef: {name: shop-db, key: password}
""",
        0o644,
        0o644,
    )
    # fixed: the Secret leaves the repository (external-secrets / a vault), so the twin has none
    f["deploy/k8s/secret.yaml"] = (
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: shop-db\nstringData:\n"
        "  password: ${BENCH_PW}\n",
        None,
        0o644,
        0o644,
    )
    f["deploy/postgres/pg_hba.conf"] = (
        """local   all   postgres               peer
host    all   all       0.0.0.0/0    trust
""",
        """local   all   postgres               peer
hostssl shop  shop      10.0.0.0/8   scram-sha-256
""",
        0o644,
        0o644,
    )
    f["deploy/postgres/postgresql.conf"] = (
        "listen_addresses = '*'\nport = 5432\n",
        "listen_addresses = 'localhost'\nport = 5432\n",
        0o644,
        0o644,
    )
    f["deploy/mongod.conf"] = (
        "net:\n  port: 27017\n  bindIp: 0.0.0.0\n",
        "net:\n  port: 27017\n  bindIp: 127.0.0.1\n",
        0o644,
        0o644,
    )
    f["deploy/redis/redis.conf"] = (
        "bind 0.0.0.0\nprotected-mode no\nport 6379\n",
        "bind 127.0.0.1\nprotected-mode yes\nport 6379\naclfile /etc/redis/users.acl\n",
        0o644,
        0o644,
    )
    f[".github/workflows/preview.yml"] = (
        """name: preview
on:
  pull_request_target:
permissions: write-all
jobs:
  preview:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
        with:
          ref: ${{ github.event.pull_request.head.sha }}
      - run: make preview
""",
        """name: preview
on:
  pull_request:
permissions:
  contents: read
jobs:
  preview:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: make preview
""",
        0o644,
        0o644,
    )
    f[".aws/credentials"] = (
        f"[default]\naws_access_key_id = {AWS_ID}\naws_secret_access_key = {AWS_SECRET}\n",
        "[default]\nregion = eu-west-1\n",
        0o644,
        0o600,
    )
    f["deploy/kubeconfig"] = (
        "apiVersion: v1\nkind: Config\nclusters: []\n",
        "apiVersion: v1\nkind: Config\nclusters: []\n",
        0o644,
        0o600,
    )
    f[".pgpass"] = (
        "db.internal:5432:shop:shop:${PGPASSWORD}\n",
        "db.internal:5432:shop:shop:${PGPASSWORD}\n",
        0o644,
        0o600,
    )
    f["deploy/.ssh/authorized_keys"] = (
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5 deploy@ci\n",
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5 deploy@ci\n",
        0o600,
        0o600,
    )
    f["deploy/scripts/migrate.sh"] = (
        "#!/bin/sh\nexec python manage.py migrate\n",
        "#!/bin/sh\nexec python manage.py migrate\n",
        0o777,
        0o755,
    )
    f["deploy/ops-notes.txt"] = (
        f"temporary key for the migration: {AWS_ID}\n",
        "keys live in the vault; ask #ops\n",
        0o644,
        0o644,
    )
    f["deploy/.env.worker"] = ("QUEUE=default\n", "QUEUE=default\n", 0o600, 0o600)
    for rel, (vuln, good, vmode, fmode) in f.items():
        for mark, value in PLANTED.items():
            vuln = vuln.replace(mark, value)
        f[rel] = (vuln, good, vmode, fmode)
    return f


SEEDS = [
    Seed("app/shop/settings.py", "config.django-debug", "DEBUG = True"),
    Seed("app/shop/settings.py", "config.allowed-hosts-wildcard", "ALLOWED_HOSTS"),
    Seed("app/shop/settings.py", "config.placeholder-secret-key", "SECRET_KEY"),
    Seed("app/shop/settings.py", "config.session-cookie-insecure", "SESSION_COOKIE_SECURE"),
    Seed("app/shop/settings.py", "config.csrf-cookie-insecure", "CSRF_COOKIE_SECURE"),
    Seed("app/shop/settings.py", "config.python-cors-wildcard-credentials", "CORS_ALLOW_ALL"),
    Seed("app/shop/settings.py", "config.default-credentials", '"PASSWORD"'),
    Seed("app/shop/settings.py", "config.sslmode-disable", "sslmode"),
    Seed("app/shop/settings.py", "config.urllib3-warnings-disabled", "disable_warnings"),
    Seed("app/shop/settings.py", "config.python-tls-verify-disabled", "verify=False"),
    Seed("app/api/app.py", "config.hardcoded-secret-key", "secret_key"),
    Seed("app/api/app.py", "config.session-cookie-insecure", "SESSION_COOKIE_SECURE"),
    Seed("app/api/app.py", "config.python-cors-wildcard-credentials", "CORS("),
    Seed("app/api/app.py", "config.flask-debug", "app.run"),
    Seed("app/shop/payments.py", "secrets.leak", "STRIPE_KEY"),
    Seed("app/.env", "config.debug-enabled", "DJANGO_DEBUG"),
    Seed("app/.env", "config.flask-debug-env", "FLASK_DEBUG"),
    Seed("app/.env", "config.node-tls-reject-unauthorized", "NODE_TLS"),
    Seed("app/.env", "config.pythonhttpsverify-off", "PYTHONHTTPSVERIFY"),
    Seed("app/.env", "config.default-credentials", "DATABASE_URL"),
    Seed("app/.env", "config.sslmode-disable", "DATABASE_URL"),
    Seed("app/.env", "environment.dotenv-secret", "STRIPE_SECRET_KEY"),
    Seed("app/.env", "secrets.leak", "STRIPE_SECRET_KEY"),
    Seed("app/.env", "permissions.env-file-readable"),
    Seed("config/production.yaml", "config.debug-enabled", "debug:"),
    Seed("config/production.yaml", "config.tls-verify-disabled", "ssl_verify"),
    Seed("config/production.yaml", "config.cors-wildcard-credentials", "allow_origins"),
    Seed("config/services.json", "config.tls-verify-disabled", "insecure_skip_verify"),
    Seed("config/worker.toml", "config.debug-enabled", "debug"),
    Seed("config/legacy.ini", "config.default-credentials", "password"),
    Seed("deploy/nginx/shop.conf", "config.nginx-legacy-tls", "ssl_protocols"),
    Seed("deploy/nginx/shop.conf", "config.nginx-weak-ciphers", "ssl_ciphers"),
    Seed("deploy/nginx/shop.conf", "config.nginx-server-tokens", "server_tokens"),
    Seed("deploy/nginx/shop.conf", "config.nginx-autoindex", "autoindex"),
    Seed("deploy/nginx/shop.conf", "config.nginx-cors-wildcard-credentials", "Allow-Origin"),
    Seed("deploy/Dockerfile", "config.docker-latest-tag", "FROM"),
    Seed("deploy/Dockerfile", "config.docker-secret-in-env", "ENV DB_PASSWORD"),
    Seed("deploy/Dockerfile", "config.docker-expose-ssh", "EXPOSE"),
    Seed("deploy/Dockerfile", "config.docker-root-user", "FROM"),
    Seed("deploy/stack.yml", "config.compose-root-user", "user: root"),
    Seed("deploy/stack.yml", "config.compose-privileged", "privileged"),
    Seed("deploy/stack.yml", "config.compose-docker-socket", "docker.sock"),
    Seed("deploy/stack.yml", "config.compose-database-port-public", "5432:5432"),
    Seed("deploy/stack.yml", "config.compose-default-password", "POSTGRES_PASSWORD"),
    Seed("deploy/k8s/deployment.yaml", "config.k8s-host-network", "hostNetwork"),
    Seed("deploy/k8s/deployment.yaml", "config.k8s-run-as-root", "runAsUser"),
    Seed("deploy/k8s/deployment.yaml", "config.k8s-privileged", "privileged"),
    Seed("deploy/k8s/deployment.yaml", "config.k8s-privilege-escalation", "allowPrivilege"),
    Seed("deploy/k8s/deployment.yaml", "config.k8s-plaintext-secret-env", "value: Sup3r"),
    Seed("deploy/k8s/secret.yaml", "config.k8s-secret-manifest", "stringData"),
    Seed("deploy/postgres/pg_hba.conf", "config.pghba-trust", "trust"),
    Seed("deploy/postgres/pg_hba.conf", "config.pghba-open-to-world", "0.0.0.0/0"),
    Seed("deploy/postgres/postgresql.conf", "config.database-listen-all", "listen_addresses"),
    Seed("deploy/mongod.conf", "config.database-listen-all", "bindIp"),
    Seed("deploy/redis/redis.conf", "config.redis-no-password"),
    Seed("deploy/redis/redis.conf", "config.redis-protected-mode-off", "protected-mode"),
    Seed(
        ".github/workflows/preview.yml",
        "config.gha-pull-request-target-checkout",
        "actions/checkout",
    ),
    Seed(".github/workflows/preview.yml", "config.gha-write-all", "write-all"),
    Seed(".aws/credentials", "permissions.credentials-readable"),
    Seed(".aws/credentials", "secrets.leak", "aws_access_key_id"),
    Seed("deploy/kubeconfig", "permissions.kubeconfig-readable"),
    Seed(".pgpass", "permissions.client-credential-file"),
    Seed("deploy/.ssh", "permissions.ssh-dir-open"),
    Seed("deploy/scripts/migrate.sh", "permissions.world-writable"),
    Seed("deploy/ops-notes.txt", "permissions.secret-content-readable"),
    Seed("deploy/ops-notes.txt", "secrets.leak", "temporary key"),
    Seed("deploy/.env.worker", "permissions.wrong-owner"),
    Seed("deploy/tls/server.key", "permissions.private-key-readable"),
    Seed("deploy/tls/server.crt", "tls.expired"),
    Seed("deploy/tls-old/server.crt", "tls.key-mismatch"),
    Seed("deploy/tls-weak/server.crt", "tls.weak-key"),
    Seed("(environment)", "environment.process-secret"),
]


def write_tree(root: Path, fixed: bool, bench: TlsBench) -> None:
    for rel, (vuln, good, vmode, fmode) in tree_files().items():
        text = good if fixed else vuln
        if text is None:
            continue
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
        p.chmod(fmode if fixed else vmode)
    (root / "deploy/.ssh").chmod(0o700 if fixed else 0o755)
    if not fixed and os.geteuid() == 0:
        os.chown(root / "deploy/.env.worker", 65534, -1)
    if fixed:
        # the twin keeps valid certificates and no private keys in the tree (they live in a vault)
        for d in ("tls", "tls-old", "tls-weak"):
            _crt, key = bench.write_files("clean", root / "deploy" / d)
            key.unlink()
    else:
        bench.write_files("expired", root / "deploy/tls")
        (root / "deploy/tls/server.key").chmod(0o644)
        bench.write_files("key-mismatch", root / "deploy/tls-old")
        bench.write_files("weak-key", root / "deploy/tls-weak")


def seed_line(root: Path, seed: Seed) -> int | None:
    if seed.needle is None:
        return None
    for n, line in enumerate((root / seed.path).read_text().splitlines(), 1):
        if seed.needle in line:
            return n
    raise SystemExit(f"seed needle {seed.needle!r} not in {seed.path}")


def run_prodshield(root: Path, environ: dict[str, str]):
    return audit([root], environ=environ, repo_root=root)


def deploy_tree(skip_baselines: bool, repeats: int = 7) -> None:
    print("== deploy tree (vulnerable tree and fixed twin, written by the benchmark) ==")
    with tempfile.TemporaryDirectory() as tmp, TlsBench() as bench:
        vuln, twin = Path(tmp, "vulnerable"), Path(tmp, "fixed")
        write_tree(vuln, False, bench)
        write_tree(twin, True, bench)
        env_vuln = {"HOME": "/srv", "PAYMENTS_API_KEY": STRIPE}
        env_twin = {"HOME": "/srv", "PAYMENTS_API_KEY_FILE": "/run/secrets/payments"}
        if os.geteuid() != 0:
            print("  (not root: the wrong-owner seed cannot be planted and will count as missed)")

        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            report = run_prodshield(vuln, env_vuln)
            times.append(time.perf_counter() - t0)
        found = {(f.path or "(environment)", f.rule, f.line) for f in report.findings}
        caught = []
        for s in SEEDS:
            line = seed_line(vuln, s) if s.path != "(environment)" else None
            ok = any(
                p == s.path and r == s.rule and (line is None or ln == line) for p, r, ln in found
            )
            caught.append(ok)
            if not ok:
                print(f"  missed: {s.path} {s.rule} (line {line})")
        recall = sum(caught) / len(SEEDS)
        twin_report = run_prodshield(twin, env_twin)
        files = sum(1 for p in vuln.rglob("*") if p.is_file())
        print(
            f"  seeded problems: {len(SEEDS)} in {files} files, families "
            f"{sorted({s.rule.split('.')[0] for s in SEEDS})}"
        )
        print(
            f"  prodshield recall: {sum(caught)}/{len(SEEDS)} = {recall:.3f} "
            f"({len(report.findings)} findings in all)"
        )
        print(f"  prodshield findings on the fixed twin: {len(twin_report.findings)}")
        for f in twin_report.findings:
            print(f"    twin: {f.location} {f.rule}: {f.message}")
        print(
            f"  prodshield whole tree: first run {times[0] * 1000:.0f} ms, median "
            f"{statistics.median(times) * 1000:.0f} ms over {repeats} runs"
        )

        if skip_baselines:
            return
        union: set[int] = set()
        for name, runner in (("bandit", _bandit), ("checkov", _checkov)):
            exe = tool(name)
            if exe is None:
                print(f"  {name}: not installed (pip install {name}); skipped")
                continue
            t0 = time.perf_counter()
            hits = runner(exe, vuln)
            elapsed = time.perf_counter() - t0
            got = set()
            for i, s in enumerate(SEEDS):
                if s.path == "(environment)":
                    continue
                line = seed_line(vuln, s)
                lines = hits.get(s.path, [])
                if (line is None and lines) or any(
                    line is not None and abs(x - line) <= 1 for x in lines
                ):
                    got.add(i)
            union |= got
            print(
                f"  {name}: reports {len(got)}/{len(SEEDS)} seeds "
                f"({sum(len(v) for v in hits.values())} findings) in {elapsed:.1f} s; "
                f"prodshield is {elapsed / statistics.median(times):.0f}x faster"
            )
        print(
            f"  bandit + checkov together: {len(union)}/{len(SEEDS)} = {len(union) / len(SEEDS):.3f}"
        )


def _rel(root: Path, name: str) -> str:
    p = Path(name.lstrip("/")) if not Path(name).is_absolute() else Path(name)
    try:
        return str(Path(name).resolve().relative_to(root.resolve()))
    except ValueError:
        return str(p)


def _bandit(exe: str, root: Path) -> dict[str, list[int]]:
    out = subprocess.run(
        [exe, "-r", str(root), "-f", "json", "-q"], capture_output=True, text=True, timeout=600
    ).stdout
    data = json.loads(out or "{}")
    hits: dict[str, list[int]] = {}
    for r in data.get("results", []):
        hits.setdefault(_rel(root, r["filename"]), []).append(int(r["line_number"]))
    return hits


def _checkov(exe: str, root: Path) -> dict[str, list[int]]:
    proc = subprocess.run(
        [exe, "-d", str(root), "-o", "json", "--quiet", "--compact"],
        capture_output=True,
        text=True,
        timeout=900,
    )
    try:
        data = json.loads(proc.stdout or "[]")
    except ValueError:
        return {}
    reports = data if isinstance(data, list) else [data]
    hits: dict[str, list[int]] = {}
    for rep in reports:
        for c in (rep.get("results") or {}).get("failed_checks", []):
            path = str(c.get("file_path", "")).lstrip("/")
            rng = c.get("file_line_range") or [0, 0]
            lines = list(range(int(rng[0]), int(rng[-1]) + 1)) or [0]
            hits.setdefault(path, []).extend(lines)
    return hits


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--testssl-endpoints",
        default="3",
        help="how many endpoints testssl.sh scans (a number or 'all')",
    )
    parser.add_argument("--skip-baselines", action="store_true")
    parser.add_argument("--only", choices=("tls", "tree"))
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    if args.only in (None, "tls"):
        tls_bench("0" if args.skip_baselines else args.testssl_endpoints)
    if args.only in (None, "tree"):
        deploy_tree(args.skip_baselines)


if __name__ == "__main__":
    main()
