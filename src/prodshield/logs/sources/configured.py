"""The files behind shield.yaml's ``logs.sources``: one resolver for every reader of the config
(``logs scan``/``logs digest`` without FILES, the log follower, the daily digest of ``serve``)."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from prodshield.config.capabilities import LogsConfig, LogSource
from prodshield.logs.sources.files import expand_paths


class ConfiguredFile(NamedTuple):
    source: LogSource
    path: str


def source_pattern(source: LogSource, base_dir: Path) -> str:
    """The source's path, relative paths taken from the config file's folder."""
    return source.path if Path(source.path).is_absolute() else str(base_dir / source.path)


def configured_files(
    logs: LogsConfig, base_dir: Path, *, follow_only: bool = False
) -> list[ConfiguredFile]:
    """Each source's files: a glob's matching files, a folder's files (recursively, sorted), or
    the named file itself even when it does not exist yet (a follower waits for it; a one-shot
    reader checks ``os.path.isfile``)."""
    out = []
    for source in logs.sources:
        if follow_only and not source.follow:
            continue
        out += [ConfiguredFile(source, p) for p in expand_paths([source_pattern(source, base_dir)])]
    return out
