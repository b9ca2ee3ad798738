"""The detectors' view of the log library: mined events from files, and the newest lines of a file."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from prodshield.logs.api import parse_files, parse_lines, resolve_format
from prodshield.logs.event import LogEvent
from prodshield.logs.formats.base import LogFormat
from prodshield.logs.sources.files import ReadStats
from prodshield.logs.templates import TemplateMiner

TAIL_BYTES = 64 * 1024


def iter_events(
    paths: Iterable[str | Path],
    log_format: str = "auto",
    *,
    stats: ReadStats | None = None,
    miner: TemplateMiner | None = None,
) -> Iterator[LogEvent]:
    """Parsed events with their templates (one miner across all the files)."""
    from prodshield.logs.api import mine

    yield from mine(parse_files(paths, log_format, stats=stats), miner)


def parse_tail(
    path: str | Path, log_format: str | LogFormat = "auto", tail_bytes: int = TAIL_BYTES
) -> list[LogEvent]:
    """Events of the last ``tail_bytes`` of an uncompressed file, in the format the scan reads
    it in: ``log_format`` (a source's layout), or detected from the same first lines, read the
    same way, as the scan's (a head read differently, binary or over-long lines kept, could
    give the tail another format and ``--since`` a newest line the scan never sees).
    Compressed or unreadable files give nothing."""
    p = Path(path)
    if p.suffix in (".gz", ".bz2", ".xz", ".zst") or not p.is_file():
        return []
    try:
        with p.open("rb") as fh:
            size = fh.seek(0, 2)
            fh.seek(max(0, size - tail_bytes))
            tail = fh.read().decode("utf-8", "replace").splitlines()
    except OSError:
        return []
    if size > tail_bytes and tail:
        tail = tail[1:]  # the first line is probably cut
    return list(parse_lines(tail, str(p), _scan_format(p, log_format)))


def _scan_format(path: Path, log_format: str | LogFormat) -> LogFormat:
    """The format ``parse_files`` reads ``path`` in (its first ``DETECT_LINES`` when "auto")."""
    from itertools import islice

    from prodshield.logs.api import DETECT_LINES
    from prodshield.logs.sources.files import read_lines

    if not isinstance(log_format, str):
        return log_format
    head: list[str] = []
    if log_format == "auto":
        lines = read_lines(str(path), ReadStats())
        try:
            head = list(islice(lines, DETECT_LINES))
        finally:
            lines.close()  # type: ignore[attr-defined]
    return resolve_format(log_format, head)
