"""The files behind shield.yaml's ``logs.sources``: one resolver for every reader of the config
(``logs scan``/``logs digest`` without FILES, the log follower, the daily digest of ``serve``)."""

from __future__ import annotations

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
