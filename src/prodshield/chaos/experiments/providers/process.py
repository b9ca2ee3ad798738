"""``type: process``: run an executable; the output is ``{status, stdout, stderr}``.

As in Chaos Toolkit: ``arguments`` as a string runs through the shell, as a list each item is one
argument, as a mapping each key and value are; a non-zero exit code is not a failure (the tolerance
decides); running longer than ``timeout`` is.
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
from collections.abc import Mapping
from typing import Any

from prodshield.chaos.experiments.errors import ActivityFailed
from prodshield.chaos.experiments.providers.base import ActivityContext


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


class ProcessProvider:
    type = "process"
    example: Mapping[str, Any] = {"type": "process", "path": "echo", "arguments": ["hello"]}

    def validate(self, provider: Mapping[str, Any]) -> list[str]:
        path = provider.get("path")
        if not path or not isinstance(path, str):
            return ["a process provider needs a 'path'"]
        if "${" in path:
            return []
        found = shutil.which(os.path.expanduser(path))
        if not found:
            return [f"executable '{path}' cannot be found"]
        arguments = provider.get("arguments")
        if arguments is not None and not isinstance(arguments, str | list | Mapping):
            return ["process 'arguments' must be a string, a list or a mapping"]
        timeout = provider.get("timeout")
        if timeout is not None and not isinstance(timeout, int | float):
            return ["process 'timeout' must be a number of seconds"]
        return []

    def run(self, provider: Mapping[str, Any], context: ActivityContext) -> Any:
        raw = str(provider["path"])
        path = shutil.which(os.path.expanduser(raw))
        if not path:
            raise ActivityFailed(f"executable '{raw}' cannot be found")
        arguments = provider.get("arguments") or []
        timeout = provider.get("timeout", context.timeout)
        cmd: str | list[str]
        if isinstance(arguments, str):
            cmd, shell = f"{path} {arguments}", True
        else:
            if isinstance(arguments, Mapping):
                arguments = list(itertools.chain.from_iterable(arguments.items()))
            cmd = [path, *(str(a) for a in arguments if a not in (None, ""))]
            shell = False
        try:
            proc = subprocess.run(
                cmd,
                shell=shell,
                timeout=float(timeout) if timeout is not None else None,
                capture_output=True,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise ActivityFailed(f"process took longer than {timeout}s") from None
        except OSError as exc:
            raise ActivityFailed(f"cannot run '{raw}': {exc.strerror or exc}") from None
        return {
            "status": proc.returncode,
            "stdout": _decode(proc.stdout),
            "stderr": _decode(proc.stderr),
        }


PROVIDER = ProcessProvider()
