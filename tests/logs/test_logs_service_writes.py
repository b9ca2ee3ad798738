"""What the log service's window costs the store: the rows it wrote before are updated without
being looked for (a statement for all of them, not a query and a statement), and one that went
missing meanwhile (retention) is written again with the window's counts."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import event, select

from prodshield.config import parse_config
from prodshield.logs.findings import LogFinding
from prodshield.logs.service import LogService
from prodshield.store import Store
from prodshield.store import tables as t
from support import secrets_tokens as tok

LINES = [f"worker {n} finished job {n * 7} in {n % 5}.2s" for n in range(40)] + [
    f"cache miss for key user:{n}" for n in range(30)
]


def _service(store: Store, tmp_path: Path) -> LogService:
    (tmp_path / "app.log").write_text("")
    config = "storage: sqlite:///unused.db\nlogs:\n  sources:\n    - {name: app, path: app.log, format: raw}\n"
    path = tmp_path / "shield.yaml"
    path.write_text(config)
    loaded = parse_config(config, name=str(path), env={}, fs_path=path)
    service = LogService(loaded, store, window_s=3600, poll_s=0.05)
    service._miner = service._load_miner()
    service._resolve()
    return service


@contextmanager
def _statements(store: Store) -> Iterator[list[str]]:
    seen: list[str] = []

    def note(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        seen.append(" ".join(statement.split()))

    event.listen(store.engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(store.engine, "before_cursor_execute", note)


def _window(service: LogService, tmp_path: Path, lines: list[str]) -> None:
    with (tmp_path / "app.log").open("a") as out:
        out.write("\n".join(lines) + "\n")
    service._poll_all()
    service._flush()


def _stored(store: Store) -> tuple[dict[str, int], dict[str, int]]:
    with store.connect() as conn:
        templates = {r.id: int(r._mapping["count"]) for r in conn.execute(select(t.log_templates))}
        counts: dict[str, int] = {}
        for r in conn.execute(select(t.log_template_counts)):
            counts[r.template_id] = counts.get(r.template_id, 0) + int(r._mapping["count"])
    return templates, counts


def test_a_window_updates_the_template_rows_it_wrote_without_looking_for_them(
    store: Store, tmp_path: Path
) -> None:
    service = _service(store, tmp_path)
    try:
        _window(service, tmp_path, LINES)
        first, _ = _stored(store)
        with _statements(store) as seen:
            _window(service, tmp_path, LINES)
    finally:
        for f in service.followed.values():
            f.follower.close()
    templates, counts = _stored(store)
    assert set(templates) == set(first) and len(first) >= 2
    assert sum(templates.values()) == sum(counts.values()) == 2 * len(LINES)
    assert templates == counts
    lookups = [s for s in seen if s.upper().startswith("SELECT") and "log_template" in s]
    assert not lookups, lookups
    writes = [s for s in seen if "log_template" in s]
    assert len(writes) == 2  # one UPDATE for the templates, one for their hourly counts


def test_a_template_row_gone_since_the_last_window_is_written_again(
    store: Store, tmp_path: Path
) -> None:
    """Retention took a template's rows between two windows: the next window's update misses
    them, sees so from the rows it changed, and inserts them with the window's counts."""
    service = _service(store, tmp_path)
    try:
        _window(service, tmp_path, LINES)
        first, _ = _stored(store)
        gone = sorted(first)[0]
        with store.begin() as conn:
            conn.execute(t.log_templates.delete().where(t.log_templates.c.id == gone))
            conn.execute(
                t.log_template_counts.delete().where(t.log_template_counts.c.template_id == gone)
            )
        _window(service, tmp_path, LINES)
    finally:
        for f in service.followed.values():
            f.follower.close()
    templates, counts = _stored(store)
    assert set(templates) == set(first)
    assert templates[gone] == counts[gone] == first[gone]  # this window's lines only
    for tid in first:
        if tid != gone:
            assert templates[tid] == counts[tid] == 2 * first[tid]


def test_a_sealed_source_changed_in_place_is_sealed_again() -> None:
    """A finding's source sealed once is not sealed again at every window, unless it changed
    since: a value put in place afterwards is redacted all the same."""
    token = tok.github_classic()
    finding = LogFinding("security", "auth_failure", "high", source={"ip": "192.0.2.1"})
    finding.seal_source()
    assert finding.source_sealed()
    finding.source["user"] = token
    assert not finding.source_sealed()
    finding.seal_source()
    assert token not in str(finding.source) and finding.source["ip"] == "192.0.2.1"


def test_an_idle_service_does_not_save_the_same_miner_state_again(
    store: Store, tmp_path: Path
) -> None:
    """The miner's state is saved every minute when it learnt lines since, not otherwise."""
    service = _service(store, tmp_path)
    try:
        _window(service, tmp_path, LINES)
        service._save_miner(100.0)
        with _statements(store) as seen:
            service._save_miner(200.0)  # nothing learnt since
        assert not seen and service._miner_saved == 200.0
        _window(service, tmp_path, LINES[:3])  # its flush saves the miner: it learnt lines
    finally:
        for f in service.followed.values():
            f.follower.close()
    assert store.kv_get("logs", "miner")["lines"] == len(LINES) + 3
