"""``type: github``: one issue per event subject; comments for updates; closed when resolved.
A digest opens a new issue of its thread and closes the one before it (``REPLACING_TYPES``).

Exactly once without remembering anything locally: the issue body carries
``<!-- prodshield:subject=... sig=... -->`` and each comment ``<!-- prodshield:event=KEY sig=...
-->`` (signed with the installation's marker key, notify/markers.py). Before creating or
commenting, the provider lists the open issues with its thread label (following ``Link:
rel="next"``, not the search API, which lags) and the issue's comments, so a delivery repeated after
a crash finds what the first one did instead of doing it again.

Only markers that are correctly signed *and* sit on an issue or comment written by the notifier's
own account count (``login:``, else the token's account from ``GET /user``; a token that cannot
say, such as an Actions ``GITHUB_TOKEN``, trusts Bot accounts). Text from outside never carries a
working marker: every ``<!--`` in a rendered body is broken, and ``@mentions`` outside code are
neutralised (docs/security.md).
"""

from __future__ import annotations

import json
import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import quote, urlsplit

from multidict import CIMultiDictProxy

from prodshield.config.notifiers import GitHubNotifierConfig
from prodshield.errors import NotifyError
from prodshield.notify.event import Event
from prodshield.notify.http import network_error, parse_retry_after, short_body
from prodshield.notify.markers import marker, markers_in
from prodshield.notify.providers.base import ConfigModel, DeliveryContext
from prodshield.text import controls_out, md_code, md_text, neutralise_markers, neutralise_mentions

if TYPE_CHECKING:
    import aiohttp

API_VERSION = "2022-11-28"
MAX_PAGES = 50
"""Listing stops after this many pages (5,000 issues or comments at 100 a page)."""

OPENING_TYPES = frozenset({"incident.opened"})
CLOSING_TYPES = frozenset({"incident.resolved", "test"})
FOLLOWING_TYPES = frozenset(
    {"incident.resolved", "incident.acknowledged", "incident.note", "incident.evidence"}
)
"""Events that only follow an issue: with no open issue for their subject they start none."""
REPLACING_TYPES = frozenset({"digest"})
"""Events that open a new issue of their thread and close the thread's earlier open issues
(each with a comment naming the new one): the daily digest is one open issue, not one a day."""


MAX_BODY = 60_000
"""GitHub refuses bodies over 65,536 characters; the markers need room at the end."""


def subject_marker(subject: str, key: bytes) -> str:
    return marker("subject", subject, key)


def event_marker(event_key: str, key: bytes) -> str:
    return marker("event", event_key, key)


def render_body(event: Event) -> str:
    """The Markdown of an issue or comment: the event's body, its fields, its link.

    Producers fence the outside text they put in a body (`prodshield.text.fence`); here field
    names become inert Markdown (`text.md_text`: a link in one stays text) and values code spans
    (`text.md_code`), and the whole text loses its ``<!--`` openers and its live
    ``@mentions``, so nothing from outside can pose as a marker or notify anyone. Control
    characters (a target's ANSI colours, a title escape) become their visible marks (``␛``), as
    on the dashboard: raw, they reached the terminal of whoever read the issue with ``gh``.
    """
    parts = [event.body.strip()] if event.body.strip() else []
    if event.fields:
        rows = ["| | |", "| --- | --- |"]
        rows += [f"| {md_text(k)} | {md_code(v, in_table=True)} |" for k, v in event.fields.items()]
        parts.append("\n".join(rows))
    if event.url:
        parts.append(f"[Open in the dashboard]({event.url})")
    parts.append(f"_{event.type} · severity {event.severity}_")
    text = "\n\n".join(parts)
    if len(text) > MAX_BODY:
        text = text[:MAX_BODY] + "\n\n…(cut)"
    return neutralise_mentions(neutralise_markers(controls_out(text)))


_UNKNOWN = object()


class GitHubNotifier:
    type: ClassVar[str] = "github"
    example: ClassVar[dict[str, Any]] = {
        "type": "github",
        "repo": "acme/platform",
        "token": "${GITHUB_TOKEN}",
    }
    config_model: ClassVar[ConfigModel] = GitHubNotifierConfig

    def __init__(self, config: GitHubNotifierConfig) -> None:
        self.config = config
        self.api = config.api_url.rstrip("/")
        owner, name = config.repo.split("/")
        self.repo_path = f"/repos/{quote(owner)}/{quote(name)}"
        self._login: object = config.login if config.login else _UNKNOWN
        self._key = b""

    def secrets(self) -> list[str]:
        return [s for s in (self.config.token, self.config.marker_key) if s]

    # --- the protocol --------------------------------------------------------------------

    async def send(self, event: Event, ctx: DeliveryContext) -> dict[str, Any]:
        key = self._key = self._key_of(ctx)
        title = neutralise_markers(controls_out(event.title))
        if title != event.title:
            event = replace(event, title=title)
        if event.type in REPLACING_TYPES:
            return await self._replace(ctx, event)
        issue = await self._find_open_issue(ctx, event.subject)
        if event.type in OPENING_TYPES:
            if issue is not None:
                return {"issue": issue["number"], "url": issue.get("html_url"), "action": "exists"}
            issue = await self._create_issue(ctx, event, with_event_marker=False)
            return {"issue": issue["number"], "url": issue.get("html_url"), "action": "opened"}
        if issue is None:
            if event.type in FOLLOWING_TYPES:
                return {"issue": None, "action": "none", "reason": "no open issue for the subject"}
            # An update or alert for a thread that has no open issue starts one.
            issue = await self._create_issue(ctx, event, with_event_marker=True)
            action = "opened"
        elif ("event", event.key) in markers_in(issue.get("body") or "", key):
            action = "already-in-issue"  # this event opened the issue on an earlier attempt
        else:
            action = await self._comment_once(ctx, issue["number"], event)
        if event.type in CLOSING_TYPES:
            await self._request(
                ctx,
                "PATCH",
                f"{self.repo_path}/issues/{issue['number']}",
                {"state": "closed", "state_reason": "completed"},
            )
            action += "+closed"
        return {"issue": issue["number"], "url": issue.get("html_url"), "action": action}

    async def status_comments(
        self, ctx: DeliveryContext, number: int, prefix: str = "/status "
    ) -> list[dict[str, Any]]:
        """Comments on issue ``number`` that start with ``prefix`` and were not written by this
        token's account: ``{"id", "login", "text"}`` (the text after the prefix), oldest first."""
        out: list[dict[str, Any]] = []
        path = f"{self.repo_path}/issues/{int(number)}/comments"
        async for item in self._paginate(ctx, path, {"per_page": "100"}):
            body = item.get("body")
            if not isinstance(body, str) or not body.startswith(prefix):
                continue
            if await self._written_by_us(ctx, item):
                continue
            user = item.get("user") if isinstance(item.get("user"), dict) else {}
            text = body[len(prefix) :].strip()
            if text:
                out.append(
                    {
                        "id": str(item.get("id")),
                        "login": str(user.get("login") or "?"),
                        "text": text,
                    }
                )
        return out

    async def open_threads(self, ctx: DeliveryContext) -> list[dict[str, Any]]:
        """The open issues this notifier wrote, each with its subject: ``{"number", "subject",
        "body", "created_at"}`` (GitHub's ISO 8601 time, or None), lowest number first. Only an issue with exactly one correctly signed subject
        marker, written by this notifier's account, is listed (every page of the listing)."""
        self._key = self._key_of(ctx)
        found: list[dict[str, Any]] = []
        async for issue in self._paginate(
            ctx,
            f"{self.repo_path}/issues",
            {"state": "open", "labels": self.config.thread_label, "per_page": "100"},
        ):
            if "pull_request" in issue or not isinstance(issue.get("number"), int):
                continue
            body = issue.get("body") or ""
            subjects = {v for k, v in markers_in(body, self._key) if k == "subject"}
            if len(subjects) != 1 or not await self._written_by_us(ctx, issue):
                continue
            created = issue.get("created_at")
            found.append(
                {
                    "number": issue["number"],
                    "subject": subjects.pop(),
                    "body": body,
                    "created_at": created if isinstance(created, str) else None,
                }
            )
        return sorted(found, key=lambda i: int(i["number"]))

    async def close_thread(self, ctx: DeliveryContext, number: int, event: Event) -> str:
        """Comment ``event`` on issue ``number`` (once: a retry finds its marker) and close it."""
        self._key = self._key_of(ctx)
        action = await self._comment_once(ctx, number, event)
        await self._request(
            ctx,
            "PATCH",
            f"{self.repo_path}/issues/{int(number)}",
            {"state": "closed", "state_reason": "completed"},
        )
        return action + "+closed"

    # --- steps -----------------------------------------------------------------------------

    def _key_of(self, ctx: DeliveryContext) -> bytes:
        """The marker key: the config's ``marker_key``, else the installation's (the context's)."""
        key = self.config.marker_key.encode() if self.config.marker_key else ctx.marker_key
        if not key:
            raise NotifyError(
                "GitHub: no marker key (the delivery context carries none)", permanent=True
            )
        return key

    async def _own_login(self, ctx: DeliveryContext) -> str | None:
        """The token's account (cached); None when the token cannot say (installation tokens)."""
        if self._login is _UNKNOWN:
            _, data = await self._request(ctx, "GET", "/user", accept=frozenset({403, 404}))
            login = data.get("login") if isinstance(data, dict) else None
            self._login = str(login) if login else None
        return self._login if isinstance(self._login, str) else None

    async def _written_by_us(self, ctx: DeliveryContext, item: dict[str, Any]) -> bool:
        user = item.get("user")
        if not isinstance(user, dict):
            return False
        login = await self._own_login(ctx)
        if login is None:
            return user.get("type") == "Bot"
        return str(user.get("login", "")).lower() == login.lower()

    async def _find_open_issue(self, ctx: DeliveryContext, subject: str) -> dict[str, Any] | None:
        found = await self._open_issues(ctx, subject)
        return found[0] if found else None

    async def _open_issues(self, ctx: DeliveryContext, subject: str) -> list[dict[str, Any]]:
        """The open issues of ``subject`` this notifier wrote, oldest (lowest number) first."""
        wanted = ("subject", subject)
        found: list[dict[str, Any]] = []
        async for issue in self._paginate(
            ctx,
            f"{self.repo_path}/issues",
            {"state": "open", "labels": self.config.thread_label, "per_page": "100"},
        ):
            if "pull_request" in issue or wanted not in markers_in(
                issue.get("body") or "", self._key
            ):
                continue
            if not await self._written_by_us(ctx, issue):
                continue
            found.append(issue)
        return sorted(found, key=lambda i: int(i["number"]))

    async def _replace(self, ctx: DeliveryContext, event: Event) -> dict[str, Any]:
        """A new issue for ``event`` (unless an earlier attempt made it: its event marker), then
        every other open issue of the thread is told which one replaces it and closed; a retry
        after a crash finds the new issue and finishes the closing."""
        issues = await self._open_issues(ctx, event.subject)
        mine = [
            i for i in issues if ("event", event.key) in markers_in(i.get("body") or "", self._key)
        ]
        if mine:
            issue, action = mine[-1], "exists"
        else:
            issue, action = await self._create_issue(ctx, event, with_event_marker=True), "opened"
        closed = []
        for old in issues:
            if old["number"] == issue["number"]:
                continue
            note = replace(
                event,
                key=f"{event.key}:superseded"[:255],
                type="digest",
                title=f"Superseded by #{issue['number']}",
                body=f"The next one is #{issue['number']}; this one is closed.",
                fields={},
                url=None,
            )
            await self._comment_once(ctx, old["number"], note)
            await self._request(
                ctx,
                "PATCH",
                f"{self.repo_path}/issues/{old['number']}",
                {"state": "closed", "state_reason": "completed"},
            )
            closed.append(old["number"])
        out: dict[str, Any] = {"issue": issue["number"], "url": issue.get("html_url")}
        return out | {"action": action + (f"+closed {closed}" if closed else "")}

    async def _create_issue(
        self, ctx: DeliveryContext, event: Event, *, with_event_marker: bool
    ) -> dict[str, Any]:
        labels = list(dict.fromkeys([self.config.thread_label, *self.config.labels, *event.labels]))
        body = render_body(event) + "\n\n" + subject_marker(event.subject, self._key)
        if with_event_marker:
            body += "\n" + event_marker(event.key, self._key)
        payload: dict[str, Any] = {"title": event.title[:256], "body": body, "labels": labels}
        if self.config.assignees:
            payload["assignees"] = self.config.assignees
        _, data = await self._request(ctx, "POST", f"{self.repo_path}/issues", payload)
        if not isinstance(data, dict) or "number" not in data:
            raise NotifyError("GitHub: unexpected answer to creating an issue (no number)")
        return data

    async def _comment_once(self, ctx: DeliveryContext, number: int, event: Event) -> str:
        wanted = ("event", event.key)
        async for comment in self._paginate(
            ctx, f"{self.repo_path}/issues/{number}/comments", {"per_page": "100"}
        ):
            if wanted in markers_in(
                comment.get("body") or "", self._key
            ) and await self._written_by_us(ctx, comment):
                return "already-commented"
        title = neutralise_mentions(event.title.replace("*", "\\*"))
        body = f"**{title}**\n\n{render_body(event)}\n\n{event_marker(event.key, self._key)}"
        await self._request(
            ctx, "POST", f"{self.repo_path}/issues/{number}/comments", {"body": body}
        )
        return "commented"

    # --- HTTP --------------------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self.config.token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": API_VERSION,
            "User-Agent": "prodshield",
        }

    async def _request(
        self,
        ctx: DeliveryContext,
        method: str,
        path_or_url: str,
        payload: dict[str, Any] | None = None,
        params: dict[str, str] | None = None,
        accept: frozenset[int] = frozenset(),
    ) -> tuple[aiohttp.ClientResponse, Any]:
        """One API call; an answer with a status in ``accept`` comes back with no data."""
        import aiohttp  # here: building a notifier (to read its secrets) imports no aiohttp

        url = path_or_url if "://" in path_or_url else self.api + path_or_url
        what = f"GitHub {method} {urlsplit(url).path}"
        try:
            async with ctx.session.request(
                method,
                url,
                headers=self._headers(),
                params=params,
                data=None if payload is None else json.dumps(payload),
                timeout=aiohttp.ClientTimeout(total=ctx.timeout),
            ) as resp:
                text = await resp.text(errors="replace")
                if resp.status in accept:
                    return resp, None
                if not 200 <= resp.status < 300:
                    raise self._error(what, resp.status, resp.headers, text)
                try:
                    data = json.loads(text) if text.strip() else None
                except ValueError:
                    raise NotifyError(f"{what}: answer is not JSON") from None
                return resp, data
        except NotifyError:
            raise
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise network_error(what, exc) from None

    async def _paginate(self, ctx: DeliveryContext, path: str, params: dict[str, str]) -> Any:
        """Yield the items of a listing, following ``Link: rel="next"`` on the API's own host."""
        url: str | None = self.api + path
        query: dict[str, str] | None = params
        origin = urlsplit(self.api)[:2]
        for _ in range(MAX_PAGES):
            assert url is not None
            resp, data = await self._request(ctx, "GET", url, params=query)
            if not isinstance(data, list):
                raise NotifyError(f"GitHub GET {path}: expected a list")
            for item in data:
                if isinstance(item, dict):
                    yield item
            nxt = resp.links.get("next")
            if nxt is None:
                return
            url = str(nxt.get("url"))
            if urlsplit(url)[:2] != origin:
                raise NotifyError(f"GitHub GET {path}: next page is on another host; not followed")
            query = None  # the next link carries the whole query
        raise NotifyError(f"GitHub GET {path}: more than {MAX_PAGES} pages")

    def _error(
        self, what: str, status: int, headers: CIMultiDictProxy[str], text: str
    ) -> NotifyError:
        message = ""
        try:
            data = json.loads(text)
            if isinstance(data, dict):
                message = str(data.get("message", ""))
                errors = data.get("errors")
                if errors:
                    message += f" {short_body(json.dumps(errors), 300)}"
        except ValueError:
            message = short_body(text)
        detail = f"{what}: {status} {message}".rstrip()
        retry_after = parse_retry_after(headers.get("retry-after"))
        if status == 401:
            return NotifyError(
                f"{what}: 401 {message or 'Bad credentials'}: the token is invalid or expired",
                permanent=True,
            )
        if status in (403, 429):
            if headers.get("x-ratelimit-remaining") == "0":
                reset = headers.get("x-ratelimit-reset")
                try:
                    wait = max(0.0, float(reset) - time.time()) + 1.0 if reset else None
                except ValueError:
                    wait = None
                wait = max(filter(None, (wait, retry_after)), default=60.0)
                return NotifyError(f"{detail} (rate limited)", retry_after=wait)
            if retry_after is not None:
                return NotifyError(f"{detail} (secondary rate limit)", retry_after=retry_after)
            if status == 429:
                return NotifyError(f"{detail} (rate limited)", retry_after=60.0)
            return NotifyError(
                f"{detail}: the token lacks permission (needs issues: write on {self.config.repo})",
                permanent=True,
            )
        if status == 404:
            return NotifyError(
                f"{detail}: repository {self.config.repo} not found or not visible to the token",
                permanent=True,
            )
        if status >= 500:
            return NotifyError(detail, retry_after=retry_after)
        return NotifyError(detail, permanent=True)
