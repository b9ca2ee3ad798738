"""Load-time checks of ``logs:`` the schema alone cannot make: a source's ``log_format`` or
``apache_format`` string must compile to a parser. Called by the config loader."""

from __future__ import annotations

from prodshield.config.schema import ShieldConfig
from prodshield.logs.formats.layout import LayoutError, compile_apache, compile_nginx


def layout_problems(config: ShieldConfig) -> list[tuple[tuple[str | int, ...], str]]:
    out: list[tuple[tuple[str | int, ...], str]] = []
    for i, source in enumerate(config.logs.sources):
        for key, compile_ in (("log_format", compile_nginx), ("apache_format", compile_apache)):
            text = getattr(source, key)
            if text is None:
                continue
            try:
                compile_(text)
            except LayoutError as exc:
                out.append((("logs", "sources", i, key), str(exc)))
    return out
