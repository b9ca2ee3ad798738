"""A round imports a check type's driver before its timers start (newcomer trial, minor 2: the
first `import psycopg` blocked the loop while an HTTP check next to it was being timed), and
builds the secret scanner that redacts a failure's message (a second trial: the first failing
check built it mid-round, and the quick start's loopback checks measured ~210 ms, failing
`[RESPONSE_TIME] < 200`)."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import sys
from prodshield.config import parse_config
from prodshield.monitor.api import expand_checks
from prodshield.monitor.probe import Probe

config = parse_config(
    "checks:\\n"
    "  - {name: db, type: postgres, dsn: 'postgresql://postgres@127.0.0.1:9/postgres'}\\n",
    name="shield.yaml",
    env={},
)
assert "psycopg" not in sys.modules
Probe().prepare(expand_checks(config.config))
print("psycopg" in sys.modules)
"""


def test_prepare_imports_the_postgres_driver_before_the_round() -> None:
    # a fresh interpreter: the test process may have imported psycopg already
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "True"


SCANNER = """
from prodshield.config import parse_config
from prodshield.monitor.api import expand_checks
from prodshield.monitor.probe import Probe
from prodshield.secrets import engine

config = parse_config(
    "checks:\\n  - {name: web, type: tcp, host: 127.0.0.1, port: 9}\\n", name="shield.yaml", env={}
)
assert engine._DEFAULT is None
Probe().prepare(expand_checks(config.config))
print(engine._DEFAULT is not None)
"""


def test_prepare_builds_the_secret_scanner_a_failure_message_needs() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCANNER], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "True"


CERTIFICATES = """
import sys
from prodshield.config import parse_config
from prodshield.monitor.api import expand_checks
from prodshield.monitor.probe import Probe

config = parse_config(
    "checks:\\n  - {name: cert, type: tls, host: 127.0.0.1, port: 9}\\n", name="shield.yaml", env={}
)
assert "cryptography.x509" not in sys.modules
Probe().prepare(expand_checks(config.config))
print("cryptography.x509" in sys.modules)
"""


def test_prepare_imports_the_certificate_parser_a_tls_check_needs() -> None:
    # newcomer trial, major 3: imported by the first certificate read, it blocked the loop for
    # 0.2-0.3 s while the round's other checks were being timed
    done = subprocess.run(
        [sys.executable, "-c", CERTIFICATES],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "True"
