"""The seed's retry policy for the Python writers (SPEC §8, seed 003): up to 3 attempts
with backoff for transient database errors only; a named error (53xxx input, 54xxx
validation) or anything else fails at once.

Transient: on PostgreSQL the SQLSTATEs of a deadlock (40P01), a serialization failure
(40001), a lock wait past ``lock_timeout`` (55P03), a terminated or restarting backend
(57P01-57P03) and a lost connection (class 08, or a closed connection with no SQLSTATE);
on SQL Server the error numbers the T-SQL frame retries (1205 deadlock victim, 1222 lock
timeout, 40501 / 40613 service busy / unavailable) and a broken link (08S01, 10054).
An attempt is all-or-nothing (the loader's and the scoring step's writes are one
transaction each), so a retry redoes the whole attempt on a new connection.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import TypeVar

from loader.errors import GenepairError

T = TypeVar("T")

ATTEMPTS = 3
DELAYS_S = (1.0, 2.0)  # before attempts 2 and 3
PG_TRANSIENT = {"40001", "40P01", "55P03", "57P01", "57P02", "57P03"}
SQLSERVER_TRANSIENT = {1205, 1222, 40501, 40613, 10054}
_SQLSERVER_NUMBER = re.compile(r"\((\d{3,5})\)|error (\d{3,5})|\[(\d{3,5})\]", re.IGNORECASE)


def transient_reason(exc: BaseException) -> str | None:
    """Why ``exc`` is worth another attempt, or None."""
    if isinstance(exc, GenepairError) or not isinstance(exc, Exception):
        return None
    sqlstate = getattr(exc, "sqlstate", None)
    if sqlstate:
        if sqlstate in PG_TRANSIENT or sqlstate.startswith("08"):
            return f"SQLSTATE {sqlstate}"
        return None
    module = type(exc).__module__
    if module.startswith("psycopg") and type(exc).__name__ in ("OperationalError", "InterfaceError"):
        return "connection lost"  # a dropped connection carries no SQLSTATE
    if module.startswith("mssql_python") or module.startswith("pyodbc"):
        text = str(exc)
        if "08S01" in text:
            return "SQL Server 08S01 (communication link failure)"
        for match in _SQLSERVER_NUMBER.finditer(text):
            number = int(next(g for g in match.groups() if g))
            if number in SQLSERVER_TRANSIENT:
                return f"SQL Server error {number}"
    return None


def with_retries(
    work: Callable[[int], T],
    on_retry: Callable[[int, BaseException, str, float], None] | None = None,
    attempts: int = ATTEMPTS,
    delays: tuple[float, ...] = DELAYS_S,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """``work(attempt)`` until it succeeds, retrying transient errors with backoff;
    ``on_retry(attempt, error, reason, delay)`` is told of each failed attempt first."""
    for attempt in range(1, attempts + 1):
        try:
            return work(attempt)
        except Exception as exc:
            reason = transient_reason(exc)
            if reason is None or attempt == attempts:
                raise
            delay = delays[min(attempt - 1, len(delays) - 1)]
            if on_retry:
                on_retry(attempt, exc, reason, delay)
            sleep(delay)
    raise AssertionError("unreachable")
