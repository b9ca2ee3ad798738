"""The files behind shield.yaml's ``logs.sources``: one resolver for every reader of the config
(``logs scan``/``logs digest``/``logs templates`` without FILES, the log follower, the daily digest
of ``serve``), and the sources of the FILES a command is given (``named_files``)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

from prodshield.config.capabilities import LogsConfig, LogSource
from prodshield.logs.sources.files import expand_paths

COMPRESSED = (".gz", ".bz2", ".xz", ".lzma", ".zst")


class ConfiguredFile(NamedTuple):
    source: LogSource
    path: str

    @property
    def layout(self) -> Any:
        """The source's format: a compiled ``log_format``/``apache_format`` (a ``LogFormat``),
        else its format name. A bad layout string raises ``LayoutError`` (a ValueError)."""
        from prodshield.logs.formats.layout import compile_layout

        return compile_layout(self.source) or self.source.format


def source_pattern(source: LogSource, base_dir: Path) -> str:
    """The source's path, relative paths taken from the config file's folder."""
    return source.path if Path(source.path).is_absolute() else str(base_dir / source.path)


def configured_files(
    logs: LogsConfig, base_dir: Path, *, follow_only: bool = False
) -> list[ConfiguredFile]:
    """Each source's files: a glob's matching files, a folder's files (recursively, sorted), or
    the named file itself even when it does not exist yet (a follower waits for it; a one-shot
    reader checks ``os.path.isfile``). With ``follow_only``, only sources with ``follow: true``
    and no compressed files (rotated archives are not followed)."""
    out = []
    for source in logs.sources:
        if follow_only and not source.follow:
            continue
        for p in expand_paths([source_pattern(source, base_dir)]):
            if follow_only and p.endswith(COMPRESSED):
                continue
            out.append(ConfiguredFile(source, p))
    return out


def named_files(
    logs: LogsConfig, base_dir: Path, files: Sequence[str | Path], log_format: str = "auto"
) -> tuple[list[ConfiguredFile], dict[str, Any]]:
    """The FILES a command was given that are files of ``logs.sources`` (each with its path as
    given), and the compiled layouts of those whose source has a ``log_format``/``apache_format``,
    by that path: a named file is read in its source's layout, as it is without FILES, unless
    ``log_format`` names a format (not ``auto``). ``logs scan``, ``digest``, ``templates`` and
    ``parse`` share it."""
    given = {os.path.realpath(f): str(f) for f in files if str(f) != "-"}
    mine: list[ConfiguredFile] = []
    layouts: dict[str, Any] = {}
    if not given:
        return mine, layouts
    for f in configured_files(logs, base_dir):
        named = given.get(os.path.realpath(f.path))
        if named is None:
            continue
        mine.append(f._replace(path=named))
        if log_format == "auto" and (f.source.log_format or f.source.apache_format):
            layouts[named] = f.layout
    return mine, layouts
