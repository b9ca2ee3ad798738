"""``type: postgres``: connect with a DSN and run ``SELECT 1`` (or the given query)."""

from __future__ import annotations

import asyncio
import re
from typing import TYPE_CHECKING, Any, ClassVar

from prodshield.config.types import format_duration
from prodshield.monitor.checks.base import Observation, Stopwatch
from prodshield.monitor.placeholders import PLACEHOLDERS
from prodshield.monitor.probe import Probe
from prodshield.monitor.result import CheckError
from prodshield.monitor.target import Target

if TYPE_CHECKING:
    import psycopg


def _kind_of(message: str) -> str:
    text = message.lower()
    if "refused" in text:
        return "refused"
    if "timeout" in text or "timed out" in text:
        return "timeout"
    if "translate host name" in text or "name or service not known" in text or "resolve" in text:
        return "dns"
    if "ssl" in text or "certificate" in text:
        return "tls"
    if "reset" in text or "terminated" in text or "closed the connection" in text:
        return "reset"
    return "protocol"


_SERVER_AT = re.compile(r'connection to server at "([^"]+)"(?: \([^)]*\))?, port (\d+) failed')


def _connect_error(message: str) -> CheckError:
    """libpq's connection error, a refused, early-closed or reset connection worded as every
    check type words it (``connection refused by HOST:PORT``), anything else as libpq says it.
    libpq says "server closed the connection unexpectedly" for a close and a reset alike."""
    from prodshield.monitor.failures import closed, endpoint, refused, reset

    kind = _kind_of(message)
    at = _SERVER_AT.search(message)
    if at is not None and kind == "refused":
        return refused(endpoint(at[1], int(at[2])))
    if at is not None and "closed the connection" in message:
        return closed(endpoint(at[1], int(at[2])))
    if at is not None and kind == "reset":
        return reset(endpoint(at[1], int(at[2])))
    return CheckError(kind, message[:300])  # type: ignore[arg-type]


def _value(v: Any) -> Any:
    if v is None or isinstance(v, bool | int | float | str):
        return v
    return str(v)


class PostgresCheck:
    type: ClassVar[str] = "postgres"
    example: ClassVar[dict[str, Any]] = {
        "type": "postgres",
        "dsn": "postgresql://postgres@127.0.0.1/postgres",
        "conditions": ["[RESULT] == 1"],
    }
    """A ``checks:`` entry of this type (without ``name``) that validates."""
    placeholders: ClassVar[frozenset[str]] = PLACEHOLDERS["postgres"]
    default_conditions: ClassVar[tuple[str, ...]] = ("[CONNECTED] == true",)

    async def observe(self, target: Target, probe: Probe) -> Observation:
        import psycopg  # imported on first use: most configs have few database checks

        cfg = target.check
        obs = Observation(facts={"CONNECTED": False})
        clock = Stopwatch()
        conn: psycopg.AsyncConnection[Any] | None = None
        try:
            async with asyncio.timeout(target.timeout):
                conn = await psycopg.AsyncConnection.connect(
                    cfg.dsn,
                    connect_timeout=max(1, int(target.timeout + 0.999)),
                    autocommit=True,
                    application_name="prodshield-monitor",
                )
                clock.mark_connected()
                obs.facts["CONNECTED"] = True
                cur = await conn.execute(cfg.query)
                row = await cur.fetchone() if cur.description else None
                obs.facts["RESULT"] = _value(row[0]) if row else None
        except TimeoutError:
            what = "the query" if clock.connected else "a connection"
            obs.fail("timeout", f"no answer to {what} within {format_duration(target.timeout)}")
        except psycopg.Error as exc:
            message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            if clock.connected is None:
                obs.error = _connect_error(message)
            else:
                obs.fail("protocol", message[:300])
        except OSError as exc:
            obs.fail(_kind_of(str(exc)), str(exc)[:300])  # type: ignore[arg-type]
        finally:
            if conn is not None:
                try:
                    async with asyncio.timeout(1.0):
                        await conn.close()
                except Exception:
                    pass
        obs.timings = clock.timings(first_byte=True)
        return obs
