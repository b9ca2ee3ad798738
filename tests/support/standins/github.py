"""A GitHub REST API stand-in on loopback, for tests of anything that talks to GitHub issues.

It speaks the real shapes of the endpoints prodshield uses: ``POST/GET /repos/{o}/{r}/issues``,
``GET/PATCH /repos/{o}/{r}/issues/{n}``, ``GET/POST /repos/{o}/{r}/issues/{n}/comments``; labels
given by name in the body come back as label objects; listings honour ``state``, ``labels``,
``per_page`` and ``page`` and send GitHub's ``Link`` header; a bad token gets 401 "Bad
credentials"; ``GET /user`` names the token's account (``logins``, default ``prodshield-bot``)
and issues and comments carry their author in ``user.login`` (``add_issue``/``add_comment`` can
write as someone else); every answer has the ``x-ratelimit-*`` headers. Failures are scripted with
:meth:`GitHubStandin.fail` (403 rate limit, 502, 422, ...) and :meth:`GitHubStandin.hang_after`
(the request takes effect, then its answer never comes: a client killed meanwhile has done the
work without knowing it). ``requests`` logs every request.

Use ``async with GitHubStandin() as gh:`` inside a test's event loop, or
``with GitHubStandin.in_thread() as gh:`` from synchronous tests.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from yarl import URL

DOCS = "https://docs.github.com/rest"
BOT = "prodshield-bot"


@dataclass
class Scripted:
    method: str
    path: re.Pattern[str]
    status: int
    headers: dict[str, str]
    body: Any
    times: int
    hang: bool = False


@dataclass
class Logged:
    method: str
    path: str
    query: dict[str, str]
    status: int
    body: Any
    at: float
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Repo:
    issues: list[dict[str, Any]] = field(default_factory=list)
    comments: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    labels: dict[str, dict[str, Any]] = field(default_factory=dict)


class GitHubStandin:
    def __init__(
        self,
        *,
        tokens: tuple[str, ...] = ("test-token",),
        max_per_page: int = 100,
        logins: dict[str, str | None] | None = None,
    ) -> None:
        self.tokens = set(tokens)
        self.logins = logins or {}
        """Token -> the account it writes as (default ``prodshield-bot``; None: an installation
        token, whose ``GET /user`` is refused and which writes as ``app[bot]``)."""
        self.max_per_page = max_per_page
        self.repos: dict[str, Repo] = {}
        self.requests: list[Logged] = []
        self.script: list[Scripted] = []
        self.rate_limit = 5000
        self._ids = 1000
        self._release = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.url = ""
        self.loop: asyncio.AbstractEventLoop | None = None

    # --- lifecycle -------------------------------------------------------------------------

    async def start(self) -> GitHubStandin:
        self.loop = asyncio.get_running_loop()
        self._release = asyncio.Event()
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def close(self) -> None:
        self._release.set()
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> GitHubStandin:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @classmethod
    @contextmanager
    def in_thread(cls, **kwargs: Any) -> Iterator[GitHubStandin]:
        """Run the stand-in on its own event loop in a thread (for synchronous tests)."""
        standin = cls(**kwargs)
        loop = asyncio.new_event_loop()
        ready = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(loop)
            loop.run_until_complete(standin.start())
            ready.set()
            loop.run_forever()

        thread = threading.Thread(target=run, daemon=True, name="github-standin")
        thread.start()
        if not ready.wait(10):
            raise RuntimeError("GitHub stand-in did not start")
        try:
            yield standin
        finally:
            asyncio.run_coroutine_threadsafe(standin.close(), loop).result(10)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(10)
            loop.close()

    # --- scripting -------------------------------------------------------------------------

    def fail(
        self,
        method: str,
        path: str,
        status: int,
        *,
        body: Any = None,
        headers: dict[str, str] | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` requests matching ``method`` and the ``path`` regex with
        ``status`` (the request has no effect)."""
        self.script.append(
            Scripted(method.upper(), re.compile(path), status, headers or {}, body, times)
        )

    def rate_limited(self, method: str, path: str, *, reset_in: float, times: int = 1) -> None:
        """The primary rate limit: 403, ``x-ratelimit-remaining: 0`` and the reset time."""
        reset = int(time.time() + reset_in + 0.999)
        self.fail(
            method,
            path,
            403,
            body={
                "message": "API rate limit exceeded for user ID 1.",
                "documentation_url": f"{DOCS}/overview/rate-limits-for-the-rest-api",
            },
            headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(reset)},
            times=times,
        )

    def hang_after(self, method: str, path: str, times: int = 1) -> None:
        """Do the next matching request's work, then hold its answer until ``release()``."""
        self.script.append(Scripted(method.upper(), re.compile(path), 0, {}, None, times, True))

    def release(self) -> None:
        """Let held answers go (thread-safe)."""
        if self.loop is not None and self.loop.is_running():
            self.loop.call_soon_threadsafe(self._release.set)
        else:
            self._release.set()

    # --- state helpers for tests -----------------------------------------------------------

    def repo(self, full_name: str) -> Repo:
        return self.repos.setdefault(full_name, Repo())

    def add_issue(
        self,
        full_name: str,
        title: str,
        body: str = "",
        labels: list[str] | tuple[str, ...] = (),
        *,
        user: str = BOT,
    ) -> dict[str, Any]:
        return self._create_issue(
            full_name, {"title": title, "body": body, "labels": list(labels)}, user
        )

    def issues(self, full_name: str, state: str = "all") -> list[dict[str, Any]]:
        return [i for i in self.repo(full_name).issues if state in ("all", i["state"])]

    def comments(self, full_name: str, number: int) -> list[dict[str, Any]]:
        return self.repo(full_name).comments.get(number, [])

    def count(self, method: str, path_regex: str) -> int:
        rx = re.compile(path_regex)
        return sum(1 for r in self.requests if r.method == method and rx.search(r.path))

    # --- the API ---------------------------------------------------------------------------

    def _next_id(self) -> int:
        self._ids += 1
        return self._ids

    def _headers(self) -> dict[str, str]:
        self.rate_limit = max(0, self.rate_limit - 1)
        return {
            "x-ratelimit-limit": "5000",
            "x-ratelimit-remaining": str(self.rate_limit),
            "x-ratelimit-reset": str(int(time.time()) + 3600),
            "x-ratelimit-used": str(5000 - self.rate_limit),
            "x-ratelimit-resource": "core",
            "x-github-api-version-selected": "2022-11-28",
        }

    def _json(self, status: int, data: Any, headers: dict[str, str] | None = None) -> web.Response:
        return web.Response(
            status=status,
            text=json.dumps(data),
            content_type="application/json",
            headers={**self._headers(), **(headers or {})},
        )

    def _error(self, status: int, message: str, **extra: Any) -> web.Response:
        return self._json(status, {"message": message, "documentation_url": DOCS, **extra})

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body: Any = None
        raw = await request.read()
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw.decode(errors="replace")
        hang = False
        response: web.StreamResponse | None = None
        for entry in self.script:
            if (
                entry.times > 0
                and entry.method == request.method
                and entry.path.search(request.path)
            ):
                entry.times -= 1
                if entry.hang:
                    hang = True
                else:
                    data = entry.body if entry.body is not None else {"message": "scripted"}
                    response = self._json(entry.status, data, entry.headers)
                break
        if response is None:
            response = self._route(request, body)
        self.requests.append(
            Logged(
                request.method,
                request.path,
                dict(request.query),
                response.status,
                body,
                time.time(),
                dict(request.headers),
            )
        )
        if hang:
            try:
                await asyncio.wait_for(self._release.wait(), 60)
            except TimeoutError:
                pass
        return response

    def _route(self, request: web.Request, body: Any) -> web.Response:
        auth = request.headers.get("Authorization", "")
        token = auth.split(" ", 1)[1] if " " in auth else ""
        if token not in self.tokens:
            return self._error(401, "Bad credentials")
        login = self.logins.get(token, BOT)
        if request.path == "/user" and request.method == "GET":
            if login is None:
                return self._error(403, "Resource not accessible by integration")
            return self._json(200, {"login": login, "id": 1, "type": "User"})
        login = login or "prodshield-app[bot]"
        m = re.fullmatch(r"/repos/([^/]+)/([^/]+)/issues(?:/(\d+))?(/comments)?", request.path)
        if not m:
            return self._error(404, "Not Found")
        full_name = f"{m.group(1)}/{m.group(2)}"
        if full_name not in self.repos:
            return self._error(404, "Not Found")
        number = int(m.group(3)) if m.group(3) else None
        comments = bool(m.group(4))
        method = request.method
        if number is None and not comments:
            if method == "GET":
                return self._list_issues(request, full_name)
            if method == "POST":
                if not isinstance(body, dict) or not body.get("title"):
                    return self._error(
                        422,
                        "Validation Failed",
                        errors=[{"resource": "Issue", "code": "missing_field", "field": "title"}],
                    )
                return self._json(201, self._create_issue(full_name, body, login))
            return self._error(404, "Not Found")
        issue = next((i for i in self.repo(full_name).issues if i["number"] == number), None)
        if issue is None:
            return self._error(404, "Not Found")
        if comments:
            if method == "GET":
                items = self.repo(full_name).comments.get(issue["number"], [])
                return self._page(request, items)
            if method == "POST":
                if not isinstance(body, dict) or not body.get("body"):
                    return self._error(
                        422,
                        "Validation Failed",
                        errors=[
                            {"resource": "IssueComment", "code": "missing_field", "field": "body"}
                        ],
                    )
                return self._json(201, self.add_comment(full_name, issue, body["body"], user=login))
            return self._error(404, "Not Found")
        if method == "GET":
            return self._json(200, issue)
        if method == "PATCH":
            if not isinstance(body, dict):
                return self._error(400, "Problems parsing JSON")
            state = body.get("state")
            if state is not None and state not in ("open", "closed"):
                return self._error(
                    422,
                    "Validation Failed",
                    errors=[{"resource": "Issue", "code": "invalid", "field": "state"}],
                )
            now = _iso()
            if state == "closed" and issue["state"] == "open":
                issue["closed_at"] = now
                issue["state_reason"] = body.get("state_reason", "completed")
            if state == "open":
                issue["closed_at"] = None
                issue["state_reason"] = "reopened"
            for k in ("title", "body", "state"):
                if k in body:
                    issue[k] = body[k]
            if "labels" in body:
                issue["labels"] = [self._label(full_name, n) for n in body["labels"]]
            issue["updated_at"] = now
            return self._json(200, issue)
        return self._error(404, "Not Found")

    def _label(self, full_name: str, name: str) -> dict[str, Any]:
        labels = self.repo(full_name).labels
        if name not in labels:
            labels[name] = {
                "id": self._next_id(),
                "node_id": f"LA_{name}",
                "url": f"{self.url}/repos/{full_name}/labels/{name}",
                "name": name,
                "color": "ededed",
                "default": False,
                "description": None,
            }
        return labels[name]

    def _create_issue(
        self, full_name: str, body: dict[str, Any], user: str = BOT
    ) -> dict[str, Any]:
        repo = self.repo(full_name)
        number = len(repo.issues) + 1
        now = _iso()
        base = f"{self.url}/repos/{full_name}/issues/{number}"
        issue = {
            "id": self._next_id(),
            "node_id": f"I_{number}",
            "url": base,
            "repository_url": f"{self.url}/repos/{full_name}",
            "comments_url": f"{base}/comments",
            "html_url": f"https://github.com/{full_name}/issues/{number}",
            "number": number,
            "state": "open",
            "state_reason": None,
            "title": body["title"],
            "body": body.get("body"),
            "user": _user(user),
            "labels": [self._label(full_name, n) for n in body.get("labels") or []],
            "assignees": [{"login": a} for a in body.get("assignees") or []],
            "comments": 0,
            "created_at": now,
            "updated_at": now,
            "closed_at": None,
        }
        repo.issues.append(issue)
        return issue

    def add_comment(
        self, full_name: str, issue: dict[str, Any], text: str, *, user: str = BOT
    ) -> dict[str, Any]:
        cid = self._next_id()
        now = _iso()
        comment = {
            "id": cid,
            "node_id": f"IC_{cid}",
            "url": f"{self.url}/repos/{full_name}/issues/comments/{cid}",
            "html_url": f"{issue['html_url']}#issuecomment-{cid}",
            "issue_url": issue["url"],
            "body": text,
            "user": _user(user),
            "created_at": now,
            "updated_at": now,
        }
        self.repo(full_name).comments.setdefault(issue["number"], []).append(comment)
        issue["comments"] += 1
        issue["updated_at"] = now
        return comment

    def _list_issues(self, request: web.Request, full_name: str) -> web.Response:
        state = request.query.get("state", "open")
        wanted = [s for s in request.query.get("labels", "").split(",") if s]
        items = []
        for issue in self.repo(full_name).issues:
            if state != "all" and issue["state"] != state:
                continue
            names = {lb["name"] for lb in issue["labels"]}
            if not all(w in names for w in wanted):
                continue
            items.append(issue)
        direction = request.query.get("direction", "desc")
        items.sort(key=lambda i: i["number"], reverse=direction == "desc")
        return self._page(request, items)

    def _page(self, request: web.Request, items: list[dict[str, Any]]) -> web.Response:
        try:
            per_page = min(self.max_per_page, max(1, int(request.query.get("per_page", "30"))))
            page = max(1, int(request.query.get("page", "1")))
        except ValueError:
            return self._error(422, "Validation Failed")
        last = max(1, -(-len(items) // per_page))
        chunk = items[(page - 1) * per_page : page * per_page]
        links = []
        base = URL(f"{self.url}{request.path}").with_query(dict(request.query))

        def link(p: int, rel: str) -> str:
            return f'<{base.update_query(per_page=str(per_page), page=str(p))}>; rel="{rel}"'

        if page > 1:
            links += [link(page - 1, "prev"), link(1, "first")]
        if page < last:
            links += [link(page + 1, "next"), link(last, "last")]
        return self._json(200, chunk, {"Link": ", ".join(links)} if links else None)


def _user(login: str) -> dict[str, Any]:
    """The ``user`` object of an issue or comment (a ``[bot]`` suffix is a Bot account)."""
    return {
        "login": login,
        "id": abs(hash(login)) % 10**8,
        "type": "Bot" if login.endswith("[bot]") or login == BOT else "User",
    }


def _iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
