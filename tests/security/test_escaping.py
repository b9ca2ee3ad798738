"""Outside text is escaped for where it goes (issue 18): a terminal, Slack, GitHub Markdown.

Before the fix, escape sequences in log lines, target answers and file names reached the terminal
through `logs digest`, `logs templates`, `logs scan`, `monitor once` and the audit table (a title
change, a screen clear, a clipboard write, fake coloured text); log text went raw into Slack
(``<!channel>``, disguised links) and into GitHub issue bodies outside code blocks (@mentions).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from aiohttp import web

from prodshield.config.notifiers import SlackNotifierConfig
from prodshield.logs.api import parse_lines
from prodshield.logs.digest import build_digest, render_markdown
from prodshield.logs.formats.registry import get_format
from prodshield.logs.scan import scan_events
from prodshield.notify import Event, deliver, enqueue
from prodshield.notify.providers.github import render_body
from prodshield.store import Store
from prodshield.text import controls_out, for_page, for_terminal, one_line
from support.standins.loopback_app import serve_app

# What a hostile log line, answer or file name carries to a terminal.
TITLE = "\x1b]0;pwned\x07"  # OSC: set the window title
CLEAR = "\x1b[2J\x1b[H"  # CSI: clear the screen
CLIPBOARD = "\x1b]52;c;cm0gLXJmIH4=\x07"  # OSC 52: write the clipboard
C1 = "\x9b31m"  # 8-bit CSI: red text
FAKE = "[green]ALL CHECKS PASSED[/green]"  # rich markup
HOSTILE = f"db down {TITLE}{CLEAR}{CLIPBOARD}{C1}{FAKE} \x08\x08\x08"
BAD_CHARS = ("\x1b", "\x9b", "\x07", "\x08", "\x9d")


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "400", "TERM": "xterm-256color"}
    env.pop("NO_COLOR", None)
    return subprocess.run(
        [sys.executable, "-m", "prodshield", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env=env,
    )


def _clean(out: subprocess.CompletedProcess[str], what: object) -> None:
    text = out.stdout + out.stderr
    found = [c for c in BAD_CHARS if c in text]
    assert found == [], (what, found, text[:2000])


def test_for_terminal_shows_every_control_as_the_mark_a_page_shows() -> None:
    """The terminal reader sees what the dashboard reader sees: ``user=\x1b[2Jroot`` read
    ``user=[2Jroot`` (or ``user=root``) in the terminal and ``user=␛[2Jroot`` on a page."""
    marked = "db down ␛]0;pwned␇␛[2J␛[H␛]52;c;cm0gLXJmIH4=␇\ufffd31m" + FAKE + " ␈␈␈"
    assert for_terminal(HOSTILE) == marked == for_page(HOSTILE)
    assert for_terminal("user=\x1b[2Jroot") == "user=␛[2Jroot"
    assert for_terminal("tab\tand\nnewline stay") == "tab\tand\nnewline stay"
    assert for_terminal("a\rb") == "a␍b"  # a carriage return would rewrite the line's start
    assert for_terminal("é ü 漢字 🙂") == "é ü 漢字 🙂"
    assert for_terminal("\u202eevil\u202c \u2066x\u2069") == "\ufffdevil\ufffd \ufffdx\ufffd"
    assert for_terminal("x\udcff.env") == "x\ufffd.env"
    assert for_terminal(for_terminal(HOSTILE)) == marked


def test_for_terminal_keeps_what_follows_an_unterminated_string_sequence() -> None:
    # rich drops the BEL that ends an OSC in a table cell: what follows, on later lines (the
    # rest of a report, its verdict), must stay
    assert for_terminal("a\x1b]0;title\nnext line\nverdict\n") == "a␛]0;title\nnext line\nverdict\n"
    assert for_terminal("b\x1bPq#0\nkept\n") == "b␛Pq#0\nkept\n"
    assert for_terminal("c\x9d0;t\nkept") == "c\ufffd0;t\nkept"


def test_one_line_marks_a_line_break_too() -> None:
    assert one_line("evil\nname\r.env\x1b[2J") == "evil\u2424name␍.env␛[2J"


def test_a_page_shows_each_control_character_as_a_visible_inert_mark() -> None:
    """A page neither lets a control act nor hides it: ``nul\x01y`` read ``nuly``."""
    from markupsafe import Markup

    assert for_page("nul\x01y") == "nul␁y"
    assert for_page("\x1b[31mred\x7f") == "␛[31mred␡"
    assert for_page("a\u202eb\u2066c\x9bd") == "a\ufffdb\ufffdc\ufffdd"
    assert for_page("tab\tand\r\nnewline stay") == "tab\tand\r\nnewline stay"
    shown = for_page(Markup("<b>x\x00</b>"))
    assert isinstance(shown, Markup) and shown == Markup("<b>x␀</b>")
    assert controls_out("<td>a\x01\u202eb</td>") == "<td>a␁\ufffdb</td>"
    assert for_page(7) == 7


def test_logs_commands_print_no_escape_sequences(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_text(
        "".join(
            f"2026-12-04 10:00:{n:02d},000 ERROR app.db: {HOSTILE} attempt {n}\n" for n in range(5)
        )
    )
    for args in (
        ("logs", "digest", str(log)),
        ("logs", "templates", str(log)),
        ("logs", "scan", str(log)),
        ("logs", "scan", str(log), "--format", "json"),
    ):
        out = _cli(*args, cwd=tmp_path)
        assert out.returncode in (0, 1), out.stderr
        _clean(out, args)
    table = _cli("logs", "templates", str(log), cwd=tmp_path).stdout
    assert FAKE in table, "rich markup from a log line is shown as typed, not rendered"


def test_monitor_once_prints_no_escape_sequences_from_a_target(tmp_path: Path) -> None:
    async def health(request: web.Request) -> web.Response:
        return web.Response(text=HOSTILE, status=503)

    def setup(app: web.Application) -> None:
        app.router.add_get("/health", health)

    with serve_app(setup) as url:
        (tmp_path / "shield.yaml").write_text(
            textwrap.dedent(
                f"""\
                storage: sqlite:///{tmp_path}/state.db
                checks:
                  - name: api
                    type: http
                    url: {url}/health
                    conditions: ["[STATUS] == 200", "[BODY] == ok"]
                """
            )
        )
        out = _cli("monitor", "once", "-c", "shield.yaml", cwd=tmp_path)
    assert out.returncode == 1, out.stderr
    _clean(out, "monitor once")
    assert "db down" in out.stdout


def test_audit_table_prints_no_escape_sequences_from_file_names(tmp_path: Path) -> None:
    tree = tmp_path / "app"
    tree.mkdir()
    name = f"config{TITLE}{CLEAR}.env"
    (tree / name).write_text(
        f"DATABASE_URL=postgresql://app:Zq8#kLm2Wx9vPq@db.internal:5432/app\nNOTE={HOSTILE}\n"
    )
    (tree / name).chmod(0o644)
    out = _cli("audit", str(tree), cwd=tmp_path)
    assert out.returncode in (0, 1), out.stderr
    assert "config" in out.stdout
    _clean(out, "audit table")


async def test_slack_gets_log_text_escaped(store: Store) -> None:
    received: list[dict[str, Any]] = []

    async def hook(request: web.Request) -> web.Response:
        received.append(await request.json())
        return web.Response(text="ok")

    def setup(app: web.Application) -> None:
        app.router.add_post("/services/T0/B0/x", hook)

    line = "user <!channel> see <http://evil.example/login|the docs> & <@U024BE7LH>"
    with serve_app(setup) as url:
        cfg = {"ops": SlackNotifierConfig(type="slack", webhook_url=f"{url}/services/T0/B0/x")}
        enqueue(
            store,
            ["ops"],
            Event(
                key="log:1",
                type="log.critical",
                subject="log:x",
                title=f"alert {line}",
                body=f"sample:\n{line}",
                fields={"sample": line},
                url="https://status.example/dashboard",
            ),
        )
        assert (await deliver(store, cfg, deadline_s=10)).sent == 1
    [payload] = received
    texts = [payload["text"]]
    for block in payload["blocks"]:
        if block["type"] in ("section", "context"):
            texts += [block["text"]["text"]] if "text" in block else []
            texts += [f["text"] for f in block.get("fields", []) + block.get("elements", [])]
    joined = "\n".join(texts)
    for control in ("<!channel>", "<http://evil", "<@U024BE7LH>"):
        assert control not in joined
    assert "&lt;!channel&gt;" in joined and "&amp;" in joined
    assert "<https://status.example/dashboard|dashboard>" in joined  # our own link still works


def _outside_code(markdown: str) -> str:
    """``markdown`` without its fenced blocks and code spans (CommonMark's rules, simplified)."""
    no_fences = re.sub(r"(?ms)^(`{3,})[^\n]*\n.*?^\1`*[ \t]*$", "", markdown)
    return re.sub(r"(`+)(?!`).*?(?<!`)\1(?!`)", "", no_fences)


def test_github_bodies_fence_log_text_and_neutralise_mentions() -> None:
    line = "login by @octocat failed, see [docs](http://evil.example) ``` <!-- x -->"
    events = parse_lines(
        [f"2026-12-04 10:00:0{n},000 ERROR app: payment failed {line}" for n in range(3)],
        "app.log",
        get_format("python"),
    )
    digest = render_markdown(build_digest(scan_events(events), title="Log digest"))
    body = render_body(
        Event(key="d", type="digest", subject="digest:1", title="Digest", body=digest)
    )
    # Outside text appears only inside code, so it renders as typed.
    outside = _outside_code(body)
    assert "octocat" in body and "evil.example" in body
    assert "octocat" not in outside and "evil.example" not in outside
    # The same text outside code: the mention no longer notifies anyone.
    plain = render_body(Event(key="p", type="test", subject="t", title="t", body=f"hi {line}"))
    assert "@octocat" not in plain and "@\u200doctocat" in plain
    assert "<!--" not in plain
    assert json.dumps(plain)  # still one JSON string for the API


def test_incident_issue_quotes_a_targets_answer_as_code(tmp_path: Path) -> None:
    """`monitor once` opens a GitHub issue whose body quotes what the target answered: the
    answer's mention and link stay literal code, and the target URL's password is masked."""
    from support.standins.github import GitHubStandin

    answer = "@octocat see [login](http://evil.example) <!-- x -->"

    async def health(request: web.Request) -> web.Response:
        return web.Response(text=answer, status=503)

    def setup(app: web.Application) -> None:
        app.router.add_get("/health", health)

    token = "ghp_" + "E" * 36
    with serve_app(setup) as url, GitHubStandin.in_thread(tokens=(token,)) as gh:
        gh.repo("acme/platform")
        (tmp_path / "shield.yaml").write_text(
            textwrap.dedent(
                f"""\
                storage: sqlite:///{tmp_path}/state.db
                defaults: {{failure_threshold: 1}}
                notifiers:
                  gh: {{type: github, repo: acme/platform, token: "{token}", api_url: "{gh.url}"}}
                checks:
                  - name: api
                    type: http
                    url: {url.replace("http://", "http://admin:S3cr3tPass@")}/health
                    conditions: ["[STATUS] == 200", "[BODY] == ok"]
                """
            )
        )
        out = _cli("monitor", "once", "-c", "shield.yaml", "--notify-wait", "20s", cwd=tmp_path)
        assert out.returncode == 1, out.stderr
        [issue] = gh.issues("acme/platform")
    body = issue["body"]
    assert "octocat" in body and "evil.example" in body
    assert "- Target: `http://" in body and "S3cr3tPass" not in body
    outside = _outside_code(body)
    assert "octocat" not in outside and "evil.example" not in outside
    assert body.count("<!--") == 1  # only the notifier's own marker


def test_audit_markdown_quotes_file_names_as_code(tmp_path: Path) -> None:
    """The Markdown report (a PR comment, a job summary) names audited files: no mention, no
    link and no hidden comment can come from a file name."""
    tree = tmp_path / "app"
    tree.mkdir()
    name = "@octocat [x](evil.example) <!-- x -->.env"
    (tree / name).write_text("DEBUG=true\n")
    (tree / name).chmod(0o644)
    out = _cli("audit", str(tree), "--format", "markdown", cwd=tmp_path)
    assert out.returncode in (0, 1), out.stderr
    assert "octocat" in out.stdout
    assert not re.search(r"(?<![\w`])@octocat", _outside_code(out.stdout))
    # a link needs an unescaped "](": the env-file finding's fix (3870807: a name with spaces is an
    # env file) quotes the name as inert Markdown, "\[x\](evil.example)", as md_text writes it
    assert not re.search(r"(?<!\\)\]\(evil\.example\)", _outside_code(out.stdout)), out.stdout
    assert "\\[x\\](evil.example)" in out.stdout  # the fix names the file, escaped
    assert "<!--" not in _outside_code(out.stdout)
