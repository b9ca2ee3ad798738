"""Differential test: the same experiments under Chaos Toolkit's ``chaos run`` and ``prodshield chaos
run`` end the same way (status, deviated, activity and rollback counts, per-activity statuses, exit
code).

Both run as real processes, each in a fresh folder of its own (the experiments touch marker files
there), with a loopback HTTP server for the http probes.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
BIN = Path(sys.executable).parent
HELPER_MODULE = """
def answer():
    return 42

def boom():
    raise RuntimeError("this probe always fails")

def is_positive(value=0):
    return value > 0
"""


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        status = 503 if self.path.startswith("/down") else 200
        body = json.dumps({"ok": status == 200, "path": self.path}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def http_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _process(name: str, script: str, kind: str = "action", **extra: Any) -> dict[str, Any]:
    return {
        "type": kind,
        "name": name,
        "provider": {"type": "process", "path": "sh", "arguments": ["-c", script]},
        **extra,
    }


MARKER_OK = _process("marker-present", "test -f marker", "probe", tolerance=0)
REMOVE_MARKER = _process("remove-marker", "rm -f marker")
RESTORE_MARKER = _process("restore-marker", "touch marker")


def _experiment(
    method: list[Any], rollbacks: list[Any] | None = None, /, **extra: Any
) -> dict[str, Any]:
    exp: dict[str, Any] = {
        "title": "differential",
        "description": "runs the same under chaos and prodshield",
        "steady-state-hypothesis": {"title": "the marker is there", "probes": [MARKER_OK]},
        "method": method,
        "rollbacks": rollbacks if rollbacks is not None else [RESTORE_MARKER],
    }
    exp.update(extra)
    return exp


def _cases(url: str) -> dict[str, tuple[dict[str, Any], list[str]]]:
    noop = _process("noop", "true")
    interrupt = _process("interrupt", "kill -TERM $PPID; sleep 2")
    return {
        "completed": (_experiment([noop, {"ref": "marker-present"}]), []),
        "deviated": (_experiment([REMOVE_MARKER]), []),
        "failing-probe-in-method": (
            _experiment(
                [
                    noop,
                    {
                        "type": "probe",
                        "name": "python-boom",
                        "provider": {"type": "python", "module": "ps_helpers", "func": "boom"},
                    },
                    {
                        "type": "probe",
                        "name": "http-unreachable",
                        "provider": {"type": "http", "url": "http://127.0.0.1:9/", "timeout": 2},
                    },
                ]
            ),
            [],
        ),
        "failing-probe-before": (
            _experiment(
                [noop],
                **{
                    "steady-state-hypothesis": {
                        "title": "python probe fails",
                        "probes": [
                            {
                                "type": "probe",
                                "name": "boom",
                                "tolerance": True,
                                "provider": {
                                    "type": "python",
                                    "module": "ps_helpers",
                                    "func": "boom",
                                },
                            }
                        ],
                    }
                },
            ),
            [],
        ),
        "tolerance-not-met-before": (
            _experiment(
                [noop],
                **{
                    "steady-state-hypothesis": {
                        "title": "the answer is not 41",
                        "probes": [
                            {
                                "type": "probe",
                                "name": "answer",
                                "tolerance": 41,
                                "provider": {
                                    "type": "python",
                                    "module": "ps_helpers",
                                    "func": "answer",
                                },
                            }
                        ],
                    }
                },
            ),
            [],
        ),
        "tolerances": (
            _experiment(
                [noop],
                **{
                    "steady-state-hypothesis": {
                        "title": "every tolerance kind",
                        "probes": [
                            {
                                "type": "probe",
                                "name": "http-status-list",
                                "tolerance": [200, 201, 204],
                                "provider": {"type": "http", "url": f"{url}/health", "timeout": 3},
                            },
                            {
                                "type": "probe",
                                "name": "answer-range",
                                "tolerance": [40, 50],
                                "provider": {
                                    "type": "python",
                                    "module": "ps_helpers",
                                    "func": "answer",
                                },
                            },
                            {
                                "type": "probe",
                                "name": "answer-range-dict",
                                "tolerance": {"type": "range", "range": [0, 100]},
                                "provider": {
                                    "type": "python",
                                    "module": "ps_helpers",
                                    "func": "answer",
                                },
                            },
                            {
                                "type": "probe",
                                "name": "stdout-regex",
                                "tolerance": {
                                    "type": "regex",
                                    "pattern": "^hello [a-z]+$",
                                    "target": "stdout",
                                },
                                "provider": {
                                    "type": "process",
                                    "path": "echo",
                                    "arguments": ["hello", "${who}"],
                                },
                            },
                            {
                                "type": "probe",
                                "name": "probe-tolerance",
                                "tolerance": {
                                    "type": "probe",
                                    "name": "positive",
                                    "provider": {
                                        "type": "python",
                                        "module": "ps_helpers",
                                        "func": "is_positive",
                                        "arguments": {},
                                    },
                                },
                                "provider": {
                                    "type": "python",
                                    "module": "ps_helpers",
                                    "func": "answer",
                                },
                            },
                            {
                                "type": "probe",
                                "name": "bool",
                                "tolerance": True,
                                "provider": {
                                    "type": "python",
                                    "module": "os.path",
                                    "func": "exists",
                                    "arguments": {"path": "marker"},
                                },
                            },
                        ],
                    },
                    "configuration": {"who": {"type": "env", "key": "PS_DIFF_WHO"}},
                },
            ),
            [],
        ),
        "http-503-before": (
            _experiment(
                [noop],
                **{
                    "steady-state-hypothesis": {
                        "title": "the service answers 200",
                        "probes": [
                            {
                                "type": "probe",
                                "name": "status",
                                "tolerance": 200,
                                "provider": {"type": "http", "url": "${base}", "timeout": 3},
                            }
                        ],
                    },
                },
            ),
            [],
        ),
        "interrupted": (_experiment([noop, interrupt, REMOVE_MARKER]), []),
        "interrupted-always": (
            _experiment([interrupt, REMOVE_MARKER]),
            ["--rollback-strategy", "always"],
        ),
        "sigusr1-leaves-with-rollbacks": (
            _experiment([_process("leave", "kill -USR1 $PPID; sleep 2")]),
            ["--rollback-strategy", "always"],
        ),
        "sigusr2-leaves-without-rollbacks": (
            _experiment([_process("leave-now", "kill -USR2 $PPID; sleep 2")]),
            ["--rollback-strategy", "always"],
        ),
        "deviated-rollbacks-default": (
            _experiment([REMOVE_MARKER]),
            ["--rollback-strategy", "default"],
        ),
        "deviated-rollbacks-never": (
            _experiment([REMOVE_MARKER]),
            ["--rollback-strategy", "never"],
        ),
        "deviated-rollbacks-deviated": (
            _experiment([REMOVE_MARKER]),
            ["--rollback-strategy", "deviated"],
        ),
        "completed-rollbacks-deviated": (_experiment([noop]), ["--rollback-strategy", "deviated"]),
        "failed-rollbacks-always": (
            _experiment(
                [noop],
                **{
                    "steady-state-hypothesis": {
                        "title": "fails",
                        "probes": [
                            {
                                "type": "probe",
                                "name": "boom",
                                "tolerance": True,
                                "provider": {
                                    "type": "python",
                                    "module": "ps_helpers",
                                    "func": "boom",
                                },
                            }
                        ],
                    }
                },
            ),
            ["--rollback-strategy", "always"],
        ),
        "runtime-rollback-strategy": (
            _experiment([REMOVE_MARKER], runtime={"rollbacks": {"strategy": "never"}}),
            [],
        ),
        "before-method-only": (
            _experiment([REMOVE_MARKER]),
            ["--hypothesis-strategy", "before-method-only"],
        ),
        "after-method-only": (
            _experiment([REMOVE_MARKER]),
            ["--hypothesis-strategy", "after-method-only"],
        ),
        "during-method-only": (
            _experiment([_process("slow", "sleep 0.3")]),
            ["--hypothesis-strategy", "during-method-only", "--hypothesis-frequency", "5"],
        ),
        "background-and-pauses": (
            _experiment(
                [
                    _process("bg", "sleep 0.2", background=True),
                    _process("fg", "true", pauses={"before": 0.1, "after": "${pause}"}),
                ],
                configuration={"pause": 0.1},
            ),
            [],
        ),
        "var-overrides": (
            _experiment(
                [_process("check-var", "test ${expected} = 7", "probe")],
                configuration={"expected": "1"},
            ),
            ["--var", "expected=7"],
        ),
        "dry-actions": (_experiment([REMOVE_MARKER]), ["--dry", "actions"]),
        "regex-deviates": (
            _experiment(
                [_process("say-bye", "echo bye > greeting")],
                [_process("say-hello", "echo hello > greeting")],
                **{
                    "steady-state-hypothesis": {
                        "title": "the greeting is hello",
                        "probes": [
                            {
                                "type": "probe",
                                "name": "greeting",
                                "tolerance": {
                                    "type": "regex",
                                    "pattern": "^hello",
                                    "target": "stdout",
                                },
                                "provider": {
                                    "type": "process",
                                    "path": "cat",
                                    "arguments": ["greeting"],
                                },
                            }
                        ],
                    }
                },
            ),
            [],
        ),
        "invalid-tolerance": (
            _experiment(
                [],
                **{
                    "steady-state-hypothesis": {
                        "title": "bad",
                        "probes": [
                            {
                                "type": "probe",
                                "name": "bad-regex",
                                "tolerance": {"type": "regex", "pattern": "(unclosed"},
                                "provider": {"type": "process", "path": "true"},
                            }
                        ],
                    }
                },
            ),
            [],
        ),
        "invalid-no-method": (
            {"title": "no method", "description": "invalid"},
            [],
        ),
        "invalid-unknown-module": (
            _experiment(
                [
                    {
                        "type": "action",
                        "name": "x",
                        "provider": {"type": "python", "module": "no_such_mod_xyz", "func": "f"},
                    }
                ]
            ),
            [],
        ),
    }


def _summary(folder: Path, code: int) -> dict[str, Any]:
    path = folder / "journal.json"
    if not path.exists():
        return {"exit": code, "journal": None}
    journal = json.loads(path.read_text())
    steady = journal.get("steady_states") or {}
    return {
        "exit": code,
        "status": journal["status"],
        "deviated": journal["deviated"],
        "activities": len(journal.get("run") or []),
        "activity_statuses": sorted(r.get("status", "?") for r in journal.get("run") or []),
        "rollbacks": len(journal.get("rollbacks") or []),
        "before": (steady.get("before") or {}).get("steady_state_met"),
        "after": (steady.get("after") or {}).get("steady_state_met"),
    }


def _run(cmd: list[str], folder: Path, env: dict[str, str]) -> dict[str, Any]:
    proc = subprocess.run(
        cmd, cwd=folder, env=env, capture_output=True, timeout=60, text=True, check=False
    )
    summary = _summary(folder, proc.returncode)
    summary["_stderr"] = proc.stderr[-2000:]
    return summary


@pytest.fixture(scope="module")
def tools() -> tuple[str, str]:
    chaos = shutil.which("chaos", path=str(BIN)) or shutil.which("chaos")
    prodshield = shutil.which("prodshield", path=str(BIN)) or shutil.which("prodshield")
    if not chaos or not prodshield:
        if IN_CI:
            pytest.fail("the chaostoolkit package (test extra) and prodshield must be installed")
        pytest.skip("chaos (chaostoolkit) or prodshield is not installed")
    return chaos, prodshield


CASE_NAMES = list(_cases("http://127.0.0.1:1"))


@pytest.mark.parametrize("case", CASE_NAMES)
def test_same_outcome_as_chaos_toolkit(
    case: str, tools: tuple[str, str], http_url: str, tmp_path: Path
) -> None:
    chaos, prodshield = tools
    experiment, extra = _cases(http_url)[case]
    helpers = tmp_path / "helpers"
    helpers.mkdir()
    (helpers / "ps_helpers.py").write_text(HELPER_MODULE)
    env = {
        **os.environ,
        "PYTHONPATH": str(helpers),
        "PS_DIFF_WHO": "world",
        "HOME": str(tmp_path),  # no user settings for chaos
    }
    if case == "http-503-before":
        experiment["configuration"] = {"base": f"{http_url}/down"}
    runs = {}
    for tool in ("chaos", "prodshield"):
        folder = tmp_path / tool
        folder.mkdir()
        (folder / "marker").touch()
        (folder / "greeting").write_text("hello\n")
        (folder / "experiment.json").write_text(json.dumps(experiment))
    commands = {
        "chaos": [chaos, "--no-version-check", "run", "experiment.json", *extra],
        "prodshield": [prodshield, "chaos", "run", "experiment.json", *extra],
    }
    with ThreadPoolExecutor(2) as pool:
        futures = {
            tool: pool.submit(_run, cmd, tmp_path / tool, env) for tool, cmd in commands.items()
        }
        runs = {tool: f.result() for tool, f in futures.items()}
    theirs, ours = runs["chaos"], runs["prodshield"]
    their_err, our_err = theirs.pop("_stderr"), ours.pop("_stderr")
    if ours.get("before") is False and ours.get("status") == "completed":
        # the one deliberate difference: a steady state not met before the method fails the run
        # (Chaos Toolkit exits 0 there); the journals agree
        assert (ours["exit"], theirs["exit"]) == (1, 0)
        ours["exit"] = theirs["exit"]
    assert ours == theirs, f"chaos stderr:\n{their_err}\nprodshield stderr:\n{our_err}"
    # the cases must exercise real differences, not all end the same way
    assert ours["exit"] in (0, 1)
