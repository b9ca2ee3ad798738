"""Live verification: ask each provider whether the secrets a scan found still work.

Opt-in (``audit secrets --verify`` or ``audit.secrets.verify.enabled``). Each distinct secret is
sent once, to its own provider only: the URL is the provider's base URL (shipped, or set in
shield.yaml for a self-hosted instance) and the verifier's fixed path; redirects are not
followed, proxies from the environment are not used. Requests run a few at a time with a bounded
timeout; an unreachable, slow, rate-limited or failing provider gives ``unverified``, never
``inactive``. What comes back is a `Verdict` per secret id: the secret is not kept.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from urllib.parse import urlsplit

from prodshield.secrets.finding import SecretFinding, Verdict
from prodshield.secrets.verifiers import BY_RULE, REGISTRY
from prodshield.secrets.verifiers.base import Answer, Verifier, unverified

MAX_BODY = 64 * 1024
"""Bytes of a provider's answer read: enough for any identity answer, bounded for a hostile one."""


@dataclass(frozen=True)
class VerifySettings:
    """How verification runs: per-request timeout, requests at once, secrets per run, and the
    base URL of each provider that is not the shipped one (tests, self-hosted GitLab)."""

    timeout: float = 5.0
    concurrency: int = 4
    max_secrets: int = 50
    base_urls: Mapping[str, str] = field(default_factory=dict)

    def base_url(self, verifier: Verifier) -> str:
        return self.base_urls.get(verifier.type, verifier.base_url).rstrip("/")


def verifiable(finding: SecretFinding) -> bool:
    """Does a provider verifier know this finding's rule?"""
    return finding.rule in BY_RULE


def verify_values(
    secrets: Mapping[str, tuple[str, str]], settings: VerifySettings | None = None
) -> dict[str, Verdict]:
    """Verdicts for ``{secret_id: (rule id, value)}``; secrets no verifier knows are left out."""
    settings = settings or VerifySettings()
    todo = [
        (sid, BY_RULE[rule], value) for sid, (rule, value) in secrets.items() if rule in BY_RULE
    ]
    if not todo:
        return {}
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(_verify_all(todo, settings))
    # Called from inside an event loop (a coroutine of serve): run on a loop of its own.
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1, thread_name_prefix="verify") as pool:
        return pool.submit(asyncio.run, _verify_all(todo, settings)).result()


async def _verify_all(
    todo: list[tuple[str, Verifier, str]], settings: VerifySettings
) -> dict[str, Verdict]:
    import aiohttp

    verdicts: dict[str, Verdict] = {}
    for sid, verifier, _ in todo[settings.max_secrets :]:
        verdicts[sid] = unverified(
            verifier.type, f"not asked: over the limit of {settings.max_secrets} per run"
        )
    gate = asyncio.Semaphore(max(1, settings.concurrency))
    timeout = aiohttp.ClientTimeout(total=settings.timeout)
    connector = aiohttp.TCPConnector(limit=max(1, settings.concurrency))
    async with aiohttp.ClientSession(
        timeout=timeout, connector=connector, trust_env=False
    ) as session:

        async def one(sid: str, verifier: Verifier, value: str) -> None:
            async with gate:
                verdicts[sid] = await _ask(session, verifier, value, settings)

        await asyncio.gather(*(one(*item) for item in todo[: settings.max_secrets]))
    return verdicts


async def _ask(
    session: object, verifier: Verifier, value: str, settings: VerifySettings
) -> Verdict:
    import aiohttp

    assert isinstance(session, aiohttp.ClientSession)
    probe = verifier.probe(value)
    base = settings.base_url(verifier)
    url = base + probe.path
    if not probe.path.startswith("/") or urlsplit(url).netloc != urlsplit(base).netloc:
        return unverified(verifier.type, "probe would leave the provider's host: not sent")
    headers = {"User-Agent": "prodshield-verify", **probe.headers}
    try:
        async with session.request(
            probe.method, url, headers=headers, data=probe.body or None, allow_redirects=False
        ) as response:
            body = await response.content.read(MAX_BODY)
            answer = Answer(
                response.status, {k.lower(): v for k, v in response.headers.items()}, body
            )
    except TimeoutError:
        return unverified(verifier.type, f"no answer within {settings.timeout:g} s")
    except (aiohttp.ClientError, OSError, ValueError) as exc:
        return unverified(verifier.type, f"unreachable: {_why_unreachable(exc)}")
    try:
        return verifier.judge(answer)
    except Exception as exc:  # a verifier must not lose the run over one strange answer
        return unverified(verifier.type, f"answer not understood: {type(exc).__name__}")


def with_verdicts(
    findings: Iterable[SecretFinding], verdicts: Mapping[str, Verdict]
) -> list[SecretFinding]:
    """The findings, each verifiable one carrying its secret's verdict (``unverified`` when none
    came back)."""
    out = []
    for f in findings:
        verdict = verdicts.get(f.secret_id)
        if verdict is None and verifiable(f):
            verdict = unverified(BY_RULE[f.rule].type, "not asked")
        out.append(replace(f, verification=verdict) if verdict is not None else f)
    return out


__all__ = ["REGISTRY", "VerifySettings", "verifiable", "verify_values", "with_verdicts"]


def _why_unreachable(exc: BaseException) -> str:
    """What an operator reads for a failed request: 'name not resolved', not an aiohttp class."""
    import aiohttp

    dns = getattr(aiohttp, "ClientConnectorDNSError", None)
    if dns is not None and isinstance(exc, dns):
        return "name not resolved"
    if isinstance(exc, aiohttp.ClientSSLError):
        return "TLS handshake failed"
    if isinstance(exc, aiohttp.ClientConnectorError):
        refused = isinstance(exc.os_error, ConnectionRefusedError)
        return "connection refused" if refused else "connection failed"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "connection closed before an answer"
    return type(exc).__name__
