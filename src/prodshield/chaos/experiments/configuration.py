"""``configuration`` and ``secrets``: loading (``type: env``), ``--var``/``--var-file``, and ``${name}``.

Substitution follows Chaos Toolkit: a string that is exactly one ``${name}`` becomes the value with
its own type; a longer string gets the value as text; an unknown name is left as it is (it may be
meant for the activity). prodshield adds dotted names (``${token.body.id}``) to reach into values,
and activity outputs exported with ``export_as``.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from prodshield.chaos.experiments.errors import InvalidExperiment

_PATTERN = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_.\-]*)\}")
_MISSING = object()


class Bindings:
    """The names ``${...}`` can refer to: configuration, then secrets, then exported outputs."""

    def __init__(
        self,
        configuration: dict[str, Any] | None = None,
        secrets: dict[str, Any] | None = None,
    ) -> None:
        self.configuration: dict[str, Any] = configuration or {}
        self.secrets: dict[str, Any] = secrets or {}
        self.outputs: dict[str, Any] = {}
        self._lock = threading.Lock()

    def export(self, name: str, value: Any) -> None:
        with self._lock:
            self.outputs[name] = value

    def lookup(self, name: str) -> Any:
        """The value bound to ``name`` (dotted paths reach into mappings/lists), or ``_MISSING``."""
        head, _, rest = name.partition(".")
        value = self._top(name)
        if value is not _MISSING or not rest:
            return value
        value = self._top(head)
        for part in rest.split("."):
            if isinstance(value, Mapping) and part in value:
                value = value[part]
            elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
                value = value[int(part)]
            else:
                return _MISSING
        return value

    def _top(self, key: str) -> Any:
        if key in self.configuration:
            return self.configuration[key]
        for scope in self.secrets.values():
            if isinstance(scope, Mapping) and key in scope:
                return scope[key]
        with self._lock:
            return self.outputs.get(key, _MISSING)


def substitute(data: Any, bindings: Bindings) -> Any:
    """Replace ``${name}`` forms everywhere in ``data`` (a copy; ``data`` is not changed)."""
    if isinstance(data, str):
        return _substitute_string(data, bindings)
    if isinstance(data, Mapping):
        return {k: substitute(v, bindings) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [substitute(v, bindings) for v in data]
    return data


def _substitute_string(text: str, bindings: Bindings) -> Any:
    if "${" not in text:
        return text
    whole = _PATTERN.fullmatch(text)
    if whole:
        value = bindings.lookup(whole.group(1))
        return text if value is _MISSING else value

    def repl(m: re.Match[str]) -> str:
        value = bindings.lookup(m.group(1))
        return m.group(0) if value is _MISSING else str(value)

    return _PATTERN.sub(repl, text)


# --- loading ---------------------------------------------------------------------------------

_CONVERTERS: dict[str, Any] = {
    "str": str,
    "int": int,
    "float": float,
    "bytes": lambda v: v.encode("utf-8"),
    "bool": lambda v: v.strip().lower() in ("1", "true", "yes", "on"),
    "json": json.loads,
}


def convert(type_name: str | None, value: Any) -> Any:
    if type_name is None or value is None:
        return value
    conv = _CONVERTERS.get(type_name)
    if conv is None:
        raise InvalidExperiment(
            f"unknown value type '{type_name}' (use one of {', '.join(_CONVERTERS)})"
        )
    try:
        return conv(value)
    except (ValueError, TypeError) as exc:
        raise InvalidExperiment(f"cannot read {value!r} as {type_name}: {exc}") from None


def load_configuration(
    info: Mapping[str, Any] | None, extra: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Resolve the experiment's ``configuration``; ``extra`` (from --var/--var-file) wins."""
    extra = dict(extra or {})
    conf: dict[str, Any] = {}
    for key, value in (info or {}).items():
        if key in extra:
            value = extra.pop(key)
        if isinstance(value, Mapping) and value.get("type") == "env":
            env_key = value.get("key")
            if not isinstance(env_key, str) or not env_key:
                raise InvalidExperiment(f"configuration.{key}: an env entry needs a 'key'")
            if env_key not in os.environ and "default" not in value:
                raise InvalidExperiment(
                    f"configuration.{key}: environment variable {env_key} is not set "
                    "and no default is given"
                )
            raw = os.environ.get(env_key, value.get("default"))
            conf[key] = convert(value.get("env_var_type"), raw)
        else:
            conf[key] = value
    conf.update(extra)
    return conf


def load_secrets(
    info: Mapping[str, Any] | None, extra: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Resolve ``secrets`` (scopes of name -> value or ``{type: env, key: VAR}``)."""
    extra = extra or {}
    out: dict[str, Any] = {}
    for scope, entries in (info or {}).items():
        if not isinstance(entries, Mapping):
            out[scope] = entries
            continue
        resolved: dict[str, Any] = {}
        scope_extra = extra.get(scope) if isinstance(extra.get(scope), Mapping) else {}
        for name, value in entries.items():
            if scope_extra and name in scope_extra:
                resolved[name] = scope_extra[name]
            elif isinstance(value, Mapping) and value.get("type") == "env":
                env_key = value.get("key")
                if not isinstance(env_key, str) or env_key not in os.environ:
                    raise InvalidExperiment(
                        f"secrets.{scope}.{name}: environment variable {env_key} is not set"
                    )
                resolved[name] = os.environ[env_key]
            elif isinstance(value, Mapping) and value.get("type") == "vault":
                raise InvalidExperiment(
                    f"secrets.{scope}.{name}: vault secrets are not supported; use type: env"
                )
            else:
                resolved[name] = value
        out[scope] = resolved
    return out


def parse_vars(items: list[str]) -> dict[str, Any]:
    """``--var key[:type]=value`` entries (types: str, int, float, bytes, bool, json)."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise InvalidExperiment(f"--var {item!r}: expected name[:type]=value")
        type_name = None
        if ":" in key:
            key, type_name = key.rsplit(":", 1)
        out[key] = convert(type_name, value)
    return out


def load_var_files(paths: list[Path]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``--var-file``: JSON/YAML with ``configuration``/``secrets`` keys, or a ``.env`` file.

    A ``.env`` file sets environment variables for this run (as Chaos Toolkit does), so
    ``type: env`` entries see them.
    """
    config: dict[str, Any] = {}
    secrets: dict[str, Any] = {}
    for path in paths:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise InvalidExperiment(f"--var-file {path}: {exc.strerror or exc}") from None
        if path.suffix == ".env" or path.name.startswith(".env"):
            for n, line in enumerate(text.splitlines(), 1):
                line = line.strip()
                if not line or line.startswith("#"):
                    continue
                key, sep, value = line.removeprefix("export ").partition("=")
                if not sep:
                    raise InvalidExperiment(f"{path}:{n}: expected NAME=value")
                os.environ[key.strip()] = value.strip().strip("'\"")
            continue
        data = parse_document(text, path)
        if not isinstance(data, Mapping):
            raise InvalidExperiment(f"--var-file {path}: expected a mapping")
        config.update(data.get("configuration") or {})
        for scope, entries in (data.get("secrets") or {}).items():
            secrets.setdefault(scope, {}).update(entries or {})
    return config, secrets


def parse_document(text: str, path: Path) -> Any:
    """JSON for ``.json`` files, YAML otherwise; errors name the file, line and column."""
    if path.suffix.lower() == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidExperiment(f"{path}:{exc.lineno}:{exc.colno}: {exc.msg}") from None
        except RecursionError:
            raise InvalidExperiment(f"{path}: nested too deeply") from None
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        return yaml.load(text, Loader=loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise InvalidExperiment(f"{where}: {exc.problem or exc}") from None
    except yaml.YAMLError as exc:  # ReaderError (a control character) spans two lines
        raise InvalidExperiment(f"{path}: {str(exc).splitlines()[0]}") from None
    except RecursionError:
        raise InvalidExperiment(f"{path}: nested too deeply") from None
