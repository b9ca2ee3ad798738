"""Every example in the docs, run as a reader would run it.

From README.md and docs/*.md:

- a fenced ``bash`` block whose first command starts with ``prodshield`` is run line by line, as a
  subprocess, in a workspace folder for that page (the page's blocks in order, sharing it): each
  line must exit 0, print no traceback and finish within two minutes;
- a fenced ``yaml`` block whose top-level keys are all ``shield.yaml`` sections is a config
  snippet: written alone to a file, it must pass ``prodshield config check`` (the ``${VAR}``s it
  names set, as a user would have them).

An HTML comment right before a block changes that:
``<!-- journey: skip (reason) -->`` skips it (keep these few: the reason is printed),
``<!-- journey: exits N -->`` expects exit code N from each line (a gate that fails on purpose),
``<!-- journey: background -->`` runs each line as a long-lived service: it must still be running
after a few seconds, then stop cleanly on Ctrl-C (SIGINT).

The workspace holds what the pages' examples name: ``shield.yaml`` watching a loopback web server
(``serve`` and the chaos API on free ports), ``access.log`` (nginx) and ``app.log``, an ``app/``
deploy tree with a planted secret, ``experiment.json`` (a Chaos Toolkit experiment probing the
server), a webhook notifier ``ops`` posting to that server, and a git repository with a TODO.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from prodshield.config.schema import ShieldConfig

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
MARKER = re.compile(r"<!--\s*journey:\s*(.*?)\s*-->\s*$")
FENCE = re.compile(r"^```(\w*)\s*$")
MAX_SKIPS = 8
"""Skips are for examples that need the network or a real production host; keep them few."""


@dataclass(frozen=True)
class Example:
    page: Path
    line: int
    lang: str
    text: str
    marker: str | None

    @property
    def id(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"

    @property
    def kind(self) -> str | None:
        if self.lang in ("bash", "sh") and _commands(self.text)[:1]:
            first = _commands(self.text)[0]
            return "command" if first.startswith("prodshield") else None
        if self.lang in ("yaml", "yml"):
            try:
                data = yaml.safe_load(self.text)
            except yaml.YAMLError:
                return "config"  # a broken snippet fails its check
            sections = set(ShieldConfig.model_fields)
            if isinstance(data, dict) and data and set(map(str, data)) <= sections:
                return "config"
        return None


def _commands(text: str) -> list[str]:
    """The block's command lines, continuation lines joined, comment lines dropped."""
    out: list[str] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.rstrip()
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        out.append((pending + line).strip())
        pending = ""
    return out


def collect() -> list[Example]:
    examples: list[Example] = []
    for page in PAGES:
        lines = page.read_text(encoding="utf-8").splitlines()
        i = 0
        while i < len(lines):
            m = FENCE.match(lines[i])
            if not m:
                i += 1
                continue
            start = i
            j = i + 1
            while j < len(lines) and not lines[j].startswith("```"):
                j += 1
            marker = None
            k = start - 1
            while k >= 0 and not lines[k].strip():
                k -= 1
            if k >= 0 and (mm := MARKER.match(lines[k].strip())):
                marker = mm.group(1)
            examples.append(
                Example(page, start + 1, m.group(1), "\n".join(lines[start + 1 : j]) + "\n", marker)
            )
            i = j + 1
    return [e for e in examples if e.kind is not None]


EXAMPLES = collect()


# -- the workspace ---------------------------------------------------------------------------


class _Site(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = json.dumps({"status": "UP"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:  # the webhook notifier's receiver
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Site)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


ACCESS_LOG = "".join(
    [
        f'203.0.113.7 - - [05/Dec/2026:10:{m:02d}:00 +0000] "GET /api/orders HTTP/1.1" 200 512 "-" "curl/8"\n'
        for m in range(0, 20)
    ]
    + [
        f'198.51.100.9 - - [05/Dec/2026:10:20:{s:02d} +0000] "POST /login HTTP/1.1" 401 32 "-" "python-requests/2"\n'
        for s in range(0, 30)
    ]
    + [
        '203.0.113.7 - - [05/Dec/2026:10:21:00 +0000] "GET /api/orders HTTP/1.1" 500 64 "-" "curl/8"\n'
    ]
)
APP_LOG = (
    "2026-12-05 10:00:00,000 INFO app: started\n"
    "2026-12-05 10:05:00,000 ERROR app: payment service timed out after 30s\n"
    "2026-12-05 10:06:00,000 WARNING app: slow request GET /api/orders took 2300 ms\n"
)


def _workspace(folder: Path, site: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "shield.yaml").write_text(
        f"""storage: sqlite:///prodshield.db
environments:
  production:
    vars: {{base_url: "{site}"}}
checks:
  - name: website
    type: http
    url: "{{base_url}}/"
    environments: [production]
    conditions: ["[STATUS] == 200", "[BODY].status == UP"]
  - name: nightly-backup
    type: heartbeat
    period: 24h
notifiers:
  ops: {{type: webhook, url: "{site}/hook"}}
logs:
  sources:
    - {{name: nginx, path: access.log, format: nginx, environment: production}}
    - {{name: app, path: app.log}}
audit:
  paths: [app]
chaos:
  api: {{host: 127.0.0.1, port: 0}}
serve:
  host: 127.0.0.1
  port: 0
""",
        encoding="utf-8",
    )
    (folder / "access.log").write_text(ACCESS_LOG, encoding="utf-8")
    (folder / "app.log").write_text(APP_LOG, encoding="utf-8")
    app = folder / "app"
    app.mkdir(exist_ok=True)
    (app / "settings.py").write_text("DEBUG = True\n# TODO: read the secret key from the vault\n")
    env = app / ".env"
    env.write_text("DATABASE_URL=postgres://shop:Sup3rS3cretPassw0rd@db.internal/shop\n")
    env.chmod(0o644)
    (folder / "experiment.json").write_text(
        json.dumps(
            {
                "version": "1.0.0",
                "title": "The site answers",
                "description": "A steady-state probe against the loopback site.",
                "steady-state-hypothesis": {
                    "title": "site is up",
                    "probes": [
                        {
                            "type": "probe",
                            "name": "site-answers",
                            "tolerance": 200,
                            "provider": {"type": "http", "url": f"{site}/", "timeout": 5},
                        }
                    ],
                },
                "method": [
                    {
                        "type": "probe",
                        "name": "site-again",
                        "provider": {"type": "http", "url": f"{site}/", "timeout": 5},
                    }
                ],
                "rollbacks": [],
            },
            indent=2,
        ),
        encoding="utf-8",
    )
    git = ["git", "-c", "user.name=Docs Reader", "-c", "user.email=reader@example.com"]
    subprocess.run([*git, "init", "-q"], cwd=folder, check=True)
    subprocess.run([*git, "add", "app/settings.py"], cwd=folder, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "app"], cwd=folder, check=True)


def _env(folder: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PRODSHIELD_", "GITHUB_", "SLACK_")) and k != "COLUMNS"
    }
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["HOME"] = str(folder / ".home")
    env["COLUMNS"] = "100"
    return env


_workspaces: dict[Path, Path] = {}


@pytest.fixture
def workspace(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, site: str
) -> Path:
    page = request.node.callspec.params["example"].page
    if page not in _workspaces:
        folder = tmp_path_factory.mktemp(page.stem)
        _workspace(folder, site)
        _workspaces[page] = folder
    return _workspaces[page]


# -- the tests -------------------------------------------------------------------------------


def _check_output(cmd: str, rc: int | None, out: str, err: str, expected: set[int]) -> None:
    both = out + err
    assert "Traceback" not in both and "internal error" not in both, f"{cmd}\n{both[-3000:]}"
    assert rc in expected, f"{cmd}: exit {rc}, expected {sorted(expected)}\n{both[-3000:]}"


def _run_background(cmd: str, folder: Path) -> None:
    """Start a service, wait for its first line (start-up can be slow on a loaded machine), let
    it work a little, then Ctrl-C it: it must still be running then, and stop cleanly."""
    proc = subprocess.Popen(
        cmd,
        shell=True,
        cwd=folder,
        env=_env(folder),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    chunks: list[str] = []
    started = threading.Event()

    def pump(stream: object) -> None:
        for line in stream:  # type: ignore[attr-defined]
            chunks.append(line)
            started.set()

    pumps = [
        threading.Thread(target=pump, args=(s,), daemon=True) for s in (proc.stdout, proc.stderr)
    ]
    for t in pumps:
        t.start()
    try:
        started.wait(90)
        time.sleep(3)
        alive = proc.poll() is None
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    for t in pumps:
        t.join(10)
    output = "".join(chunks)
    assert started.is_set(), f"{cmd} printed nothing in 90 s"
    assert alive, f"{cmd} stopped by itself (exit {proc.returncode})\n{output[-3000:]}"
    _check_output(cmd, proc.returncode, output, "", {0, 130, -signal.SIGINT})


def _run(cmd: str, folder: Path, timeout: float = 120) -> tuple[int, str, str]:
    """Run one command line; past ``timeout`` its whole process group is killed (nothing leaks)."""
    proc = subprocess.Popen(
        cmd,
        shell=True,
        cwd=folder,
        env=_env(folder),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        pytest.fail(f"{cmd}: still running after {timeout:.0f} s\n{out[-2000:]}{err[-2000:]}")
    return proc.returncode, out, err


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.id for e in EXAMPLES])
def test_doc_example(example: Example, workspace: Path, tmp_path: Path) -> None:
    marker = example.marker or ""
    if marker.startswith("skip"):
        pytest.skip(f"{example.id}: {marker}")
    if example.kind == "config":
        snippet = tmp_path / "shield.yaml"
        snippet.write_text(example.text, encoding="utf-8")
        env = _env(tmp_path)
        for name in re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)", example.text):
            env.setdefault(name, f"{name.lower()}-value-for-the-docs-journey")
        result = subprocess.run(
            ["prodshield", "config", "check", "-c", str(snippet)],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        _check_output("config check", result.returncode, result.stdout, result.stderr, {0})
        return
    expected = {0}
    if m := re.match(r"exits\s+([\d,\s]+)", marker):
        expected = {int(x) for x in re.split(r"[,\s]+", m.group(1).strip()) if x}
    for cmd in _commands(example.text):
        if marker.startswith("background"):
            _run_background(cmd, workspace)
            continue
        rc, out, err = _run(cmd, workspace)
        _check_output(cmd, rc, out, err, expected)


def test_skips_are_few_and_say_why() -> None:
    skips = [e for e in EXAMPLES if (e.marker or "").startswith("skip")]
    assert len(skips) <= MAX_SKIPS, [e.id for e in skips]
    for e in skips:
        assert re.match(r"skip\s*\(.{10,}\)", e.marker or ""), f"{e.id}: a skip says why"


CAPABILITY_PAGES = [
    "config.md",
    "monitor.md",
    "maintenance.md",
    "logs.md",
    "audit.md",
    "secrets.md",
    "chaos-proxy.md",
    "chaos-experiments.md",
    "notify.md",
    "web.md",
    "db.md",
    "debt.md",
]


@pytest.mark.parametrize("name", CAPABILITY_PAGES)
def test_each_capability_page_has_commands_the_journey_runs(name: str) -> None:
    runnable = [
        e
        for e in EXAMPLES
        if e.page.name == name and e.kind == "command" and not (e.marker or "").startswith("skip")
    ]
    assert runnable, f"docs/{name} shows no command a reader can run (a ```bash block)"
