"""``type: python``: call a function from an importable module (as Chaos Toolkit does).

``module`` and ``func`` name the function; ``arguments`` are passed by name; a function that takes
``configuration`` gets the experiment's configuration, one that takes ``secrets`` gets the scopes
listed in the provider's ``secrets``. The function's return value is the activity's output.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Mapping
from typing import Any

from prodshield.chaos.experiments.errors import ActivityFailed, InterruptExecution
from prodshield.chaos.experiments.providers.base import ActivityContext

# Chaos Toolkit extensions by the module they install (what a CTK experiment imports).
EXTENSIONS = {
    "chaostoxi": "chaostoolkit-toxiproxy",
    "chaosk8s": "chaostoolkit-kubernetes",
    "chaosaws": "chaostoolkit-aws",
    "chaosgcp": "chaostoolkit-google-cloud-platform",
    "chaosazure": "chaostoolkit-azure",
    "chaosprometheus": "chaostoolkit-prometheus",
    "chaosaddons": "chaostoolkit-addons",
    "chaoslib": "chaostoolkit-lib",
}


def import_hint(module: str, exc: ImportError) -> str:
    """What to do about a module an experiment names but this Python cannot import."""
    missing = (getattr(exc, "name", None) or module).split(".")[0]
    package = EXTENSIONS.get(missing)
    if package is not None:
        hint = f"a Chaos Toolkit extension: pip install {package} in prodshield's environment"
        if missing == "chaostoxi":
            hint += ", or use the built-in provider (type: toxic, docs/chaos-experiments.md)"
        return hint
    return f"install the package that provides '{missing}' in prodshield's environment"


def _function(provider: Mapping[str, Any]) -> Callable[..., Any]:
    module = importlib.import_module(str(provider["module"]))
    func = getattr(module, str(provider["func"]), None)
    if not callable(func):
        raise AttributeError(f"module '{provider['module']}' has no function '{provider['func']}'")
    found: Callable[..., Any] = func
    return found


class PythonProvider:
    type = "python"
    example: Mapping[str, Any] = {
        "type": "python",
        "module": "os.path",
        "func": "exists",
        "arguments": {"path": "/tmp"},
    }

    def validate(self, provider: Mapping[str, Any]) -> list[str]:
        if not provider.get("module"):
            return ["a python provider needs a 'module'"]
        if not provider.get("func"):
            return ["a python provider needs a 'func'"]
        arguments = provider.get("arguments") or {}
        if not isinstance(arguments, Mapping):
            return ["python provider 'arguments' must be a mapping"]
        try:
            func = _function(provider)
        except ImportError as exc:
            module = str(provider["module"])
            return [f"cannot import python module '{module}': {exc} ({import_hint(module, exc)})"]
        except AttributeError as exc:
            return [str(exc)]
        try:
            sig = inspect.signature(func)
        except (TypeError, ValueError):
            return []  # some builtins have no signature: accept
        args = dict(arguments)
        for injected in ("configuration", "secrets"):
            if injected in sig.parameters:
                args.setdefault(injected, None)
        try:
            sig.bind(**args)
        except TypeError as exc:
            return [f"arguments do not match {provider['module']}.{provider['func']}: {exc}"]
        return []

    def run(self, provider: Mapping[str, Any], context: ActivityContext) -> Any:
        try:
            func = _function(provider)
        except (ImportError, AttributeError) as exc:
            raise ActivityFailed(str(exc)) from None
        arguments = dict(provider.get("arguments") or {})
        try:
            params = inspect.signature(func).parameters
        except (TypeError, ValueError):
            params = {}  # type: ignore[assignment]
        if "secrets" in params and "secrets" in provider:
            merged: dict[str, Any] = {}
            for scope in provider.get("secrets") or []:
                merged.update(context.secrets.get(scope) or {})
            arguments["secrets"] = merged
        if "configuration" in params:
            arguments["configuration"] = dict(context.configuration)
        try:
            return func(**arguments)
        except (ActivityFailed, InterruptExecution):
            raise
        except Exception as exc:
            raise ActivityFailed(f"{type(exc).__name__}: {exc}") from exc


PROVIDER = PythonProvider()
