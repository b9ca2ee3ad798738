"""Journey: a team publishes ``status build``'s folder on GitHub Pages and a reader subscribes to
its ``feed.atom``. The feed's own link must be the file beside ``index.html`` (it said
``./status/feed.atom``, a folder the site does not have), its ``<id>`` absolute as Atom requires
(it was the relative ``./status/feed.atom``, the same for every site), and each entry's link must
land on that incident in the page (``index.html`` had no ``id="incident-N"``). With
``--base-url`` the links are absolute; a base URL that is not http(s) is a one-line error."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urljoin

import feedparser

from support.cli import prodshield, wide_env

CONFIG = "storage: sqlite:///{db}\nenvironments: {{production: {{}}}}\n"


def _site_with_incidents(tmp_path: Path) -> tuple[Path, list[str]]:
    (tmp_path / "shield.yaml").write_text(CONFIG.format(db=tmp_path / "ps.db"))
    ids = []
    for title, service in (("Payments failing", "payments"), ("Search slow", "search")):
        opened = prodshield(
            tmp_path, "incident", "open", title, "--service", service, "--env", "production",
            "--text", "Looking into it.", env=wide_env(),
        )  # fmt: skip
        assert opened.returncode == 0, opened.stderr
        found = re.search(r"incident #(\d+) opened", opened.stdout)
        assert found, opened.stdout
        ids.append(found.group(1))
    resolved = prodshield(tmp_path, "incident", "resolve", ids[1], env=wide_env())
    assert resolved.returncode == 0, resolved.stderr
    return tmp_path, ids


def test_the_static_feed_links_to_itself_and_to_each_incident_on_the_page(tmp_path: Path) -> None:
    folder, ids = _site_with_incidents(tmp_path)
    built = prodshield(folder, "status", "build", "--out", "site", env=wide_env())
    assert built.returncode == 0, built.stderr
    site = folder / "site"
    feed = feedparser.parse((site / "feed.atom").read_bytes())
    assert not feed.bozo, feed.get("bozo_exception")

    published_at = "https://example.github.io/repo/feed.atom"  # where a reader fetched it
    self_links = [link.href for link in feed.feed.links if link.rel == "self"]
    assert [urljoin(published_at, h) for h in self_links] == [published_at]
    assert re.fullmatch(r"urn:prodshield:feed:[0-9a-f]{16}", feed.feed.id), feed.feed.id

    page = (site / "index.html").read_text()
    incident_entries = [e for e in feed.entries if e.id.startswith("urn:prodshield:incident:")]
    assert {e.id.split(":")[3] for e in incident_entries} == set(ids)
    for entry in incident_entries:
        target = urljoin(published_at, entry.link)
        page_url, _, anchor = target.partition("#")
        assert page_url == "https://example.github.io/repo/", target
        assert f'id="{anchor}"' in page, anchor  # the entry lands on its incident
        assert anchor == f"incident-{entry.id.split(':')[3]}"


def test_a_base_url_makes_the_feed_links_absolute(tmp_path: Path) -> None:
    folder, ids = _site_with_incidents(tmp_path)
    built = prodshield(
        folder, "status", "build", "--out", "site", "--base-url", "https://ex.github.io/repo/",
        env=wide_env(),
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    feed = feedparser.parse((folder / "site" / "feed.atom").read_bytes())
    assert feed.feed.id == "https://ex.github.io/repo/feed.atom"
    assert [link.href for link in feed.feed.links if link.rel == "self"] == [feed.feed.id]
    links = {e.link for e in feed.entries if e.id.startswith("urn:prodshield:incident:")}
    assert links == {f"https://ex.github.io/repo/#incident-{n}" for n in ids}

    wrong = prodshield(
        folder, "status", "build", "--out", "site2", "--base-url", "ex.github.io/repo",
        env=wide_env(),
    )  # fmt: skip
    assert wrong.returncode == 2
    assert "--base-url must start with https:// or http://" in wrong.stderr
    assert "Traceback" not in wrong.stderr
    assert not (folder / "site2").exists()
