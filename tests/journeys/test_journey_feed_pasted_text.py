"""Journey: an operator pastes an error from a coloured terminal into an incident's update (ANSI
colours, a title escape ended by BEL). The public Atom feed (``serve``'s ``/status/feed.atom``
and ``status build``'s ``feed.atom``) stays well-formed XML that a feed reader takes whole, with
the words of the update, its control characters shown as inert marks as on the status page: one
control character made the whole feed unreadable for every subscriber."""

from __future__ import annotations

import re
import xml.dom.minidom
from pathlib import Path

import feedparser

from support.cli import prodshield, wide_env
from support.serve_process import TOKEN, serve

PASTED = "psql: \x1b[31merror\x1b[0m: connection refused \x1b]0;db01\x07 (retrying)\x0b"


def _pasted(summaries: list[str]) -> bool:
    """The update is in the feed, its words whole, with no control character left in it."""
    return any(
        "psql:" in s
        and "connection refused" in s
        and "(retrying)" in s
        and not any(c in s for c in "\x1b\x07\x0b")
        for s in summaries
    )


def _well_formed(feed: bytes, where: str) -> feedparser.FeedParserDict:
    xml.dom.minidom.parseString(feed)  # raises on a character XML 1.0 does not allow
    parsed = feedparser.parse(feed)
    assert not parsed.bozo, (where, parsed.get("bozo_exception"))
    return parsed


def test_an_update_pasted_from_a_terminal_keeps_the_feed_readable(tmp_path: Path) -> None:
    config = (
        "storage: sqlite:///{db}\n"
        f'serve: {{port: {{port}}, token: "{TOKEN}"}}\n'
        "environments: {production: {}}\n"
    )
    with serve(tmp_path / "srv", config) as srv:
        opened = prodshield(
            srv.config.parent, "incident", "open", "Database unreachable", "--service", "db",
            "--env", "production", "--text", "We are looking into it.", env=wide_env(),
        )  # fmt: skip
        assert opened.returncode == 0, opened.stderr
        found = re.search(r"incident #(\d+) opened", opened.stdout)
        assert found, opened.stdout
        update = prodshield(
            srv.config.parent, "incident", "update", found.group(1), PASTED, env=wide_env()
        )
        assert update.returncode == 0, update.stderr

        answer = srv.get("/status/feed.atom")
        assert answer.status == 200
        parsed = _well_formed(answer.body, "serve")
        texts = [e.summary for e in parsed.entries]
        assert _pasted(texts), texts

        site = tmp_path / "site"
        built = prodshield(srv.config.parent, "status", "build", "--out", str(site), env=wide_env())
        assert built.returncode == 0, built.stderr
        static = _well_formed((site / "feed.atom").read_bytes(), "status build")
        assert _pasted([e.summary for e in static.entries]), static.entries
