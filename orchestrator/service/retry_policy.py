"""When a failed external delete is tried again, and which failures spend its give-up window.

An outbox entry is given up by time, not by a count of attempts: a count turns into a duration
that depends on the backoff (20 attempts from 5 s capped at 300 s was ~70 minutes, not the day
and a half its comment promised), and it was spent by answers that say nothing about whether the
delete can succeed. So only a *real* failure (a 5xx, a timeout after sending, a refused
connection) starts the failure clock and can end it (``ExternalDeleter._postpone``); these
postpone without spending it, each told apart by the error taxonomy (``errors``):

- throttling: ``Cause.RATE_LIMITED`` (429, Shopify's THROTTLED): the platform is up and busy;
- an open circuit: ``Cause.PLATFORM_UNAVAILABLE`` carrying ``retry_after`` (only the breaker's
  ``CircuitOpen`` does; a refused connection has none): nothing was sent, the breaker's trial
  call is the one that counts;
- our own deadline: nothing sent (``may_have_applied`` False) and the deadline spent, as when a
  request's attempt had no time left or waited for a call slot until its deadline.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from errors import Cause, PlatformError

MAX_BACKOFF_S = 300.0  # the longest wait between two attempts, whatever the platform says


def spends_budget(exc: PlatformError, deadline: float) -> bool:
    """Whether ``exc`` is a real failure, on the failure clock (see the module's docstring)."""
    if exc.cause is Cause.RATE_LIMITED:
        return False
    if exc.cause is Cause.PLATFORM_UNAVAILABLE and exc.retry_after is not None:
        return False
    return exc.may_have_applied or time.monotonic() < deadline


def next_attempt(
    attempts: int, now: datetime, retry_s: float, retry_after: float | None = None
) -> datetime:
    """After a real failure: exponential backoff from ``retry_s`` capped at ``MAX_BACKOFF_S``,
    never sooner than the platform's ``retry_after``."""
    backoff = min(retry_s * 2 ** min(attempts, 8), MAX_BACKOFF_S)
    return now + timedelta(seconds=max(backoff, min(retry_after or 0.0, MAX_BACKOFF_S)))


def next_try(now: datetime, retry_s: float, retry_after: float | None = None) -> datetime:
    """After a postponement that is no failure: when the platform said (capped), else the
    worker's interval."""
    return now + timedelta(seconds=min(max(retry_after or 0.0, retry_s), MAX_BACKOFF_S))
