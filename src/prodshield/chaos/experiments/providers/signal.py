"""``type: signal``: send SIGSTOP/SIGCONT/SIGTERM/SIGKILL (or any signal) to processes.

``signal`` names it; the targets come from ``pid_file`` (a file holding a pid) or ``pattern`` (a
regular expression searched in each process's command line, this runner excluded). At least
``min`` (1) processes must be found. The output is ``{signal, pids}``.
"""

from __future__ import annotations

import os
import re
import signal as signals
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from prodshield.chaos.experiments.errors import ActivityFailed
from prodshield.chaos.experiments.providers.base import ActivityContext
from prodshield.text import plural


def _signal(name: Any) -> signals.Signals:
    text = str(name).upper()
    if text.isdigit():
        return signals.Signals(int(text))
    if not text.startswith("SIG"):
        text = "SIG" + text
    return signals.Signals[text]


def find_pids(pattern: str) -> list[int]:
    """Pids whose command line matches ``pattern`` (the current process excluded)."""
    rx = re.compile(pattern)
    me = os.getpid()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        try:
            raw = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if raw and rx.search(raw.replace(b"\0", b" ").decode("utf-8", "replace").strip()):
            found.append(int(entry.name))
    return sorted(found)


class SignalProvider:
    type = "signal"
    example: Mapping[str, Any] = {"type": "signal", "signal": "SIGSTOP", "pid_file": "/run/app.pid"}

    def validate(self, provider: Mapping[str, Any]) -> list[str]:
        try:
            _signal(provider.get("signal"))
        except (KeyError, ValueError):
            return [f"unknown signal {provider.get('signal')!r} (e.g. SIGSTOP, SIGCONT, SIGTERM)"]
        if not provider.get("pid_file") and not provider.get("pattern"):
            return ["a signal provider needs 'pid_file' or 'pattern'"]
        if provider.get("pattern"):
            try:
                re.compile(str(provider["pattern"]))
            except re.error as exc:
                return [f"pattern is not a valid regular expression: {exc}"]
        return []

    def run(self, provider: Mapping[str, Any], context: ActivityContext) -> Any:
        sig = _signal(provider.get("signal"))
        pids: list[int] = []
        if provider.get("pid_file"):
            try:
                pids.append(int(Path(str(provider["pid_file"])).read_text().split()[0]))
            except (OSError, ValueError, IndexError) as exc:
                raise ActivityFailed(
                    f"cannot read a pid from {provider['pid_file']}: {exc}"
                ) from None
        if provider.get("pattern"):
            pids.extend(p for p in find_pids(str(provider["pattern"])) if p not in pids)
        if len(pids) < int(provider.get("min", 1)):
            raise ActivityFailed(
                f"found {plural(len(pids), 'process', 'processes')} to signal, fewer than needed"
            )
        sent = []
        for pid in pids:
            try:
                os.kill(pid, sig)
                sent.append(pid)
            except ProcessLookupError:
                continue
            except PermissionError as exc:
                raise ActivityFailed(f"cannot signal pid {pid}: {exc.strerror}") from None
        if len(sent) < int(provider.get("min", 1)):
            raise ActivityFailed("the processes to signal are gone")
        return {"signal": sig.name, "pids": sent}


PROVIDER = SignalProvider()
