"""How long a database wait may last, and who goes first on SQLite's write lock.

Each request's deadline travels in ``REQUEST_BUDGET`` (a contextvar) and ``bound`` limits every
database wait to what is left of it (``MULTICART_DB_WAIT_S`` outside a request). A request that
has already written is *finishing*: it gets at least ``SETTLE_S`` and, on SQLite, ``WriteLock``
serves it before starting writers. Why, and the overload measurements:
docs/decisions/0013-finishing-writers-first.md.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass

START_MIN_S = 0.05  # a starting wait at its deadline still gets one chance at a free lock
SETTLE_S = 2.0  # the shortest wait of a finishing request (its outcome must be recorded)


@dataclass
class RequestBudget:
    """One request's deadline (``time.monotonic()``), whether it has written, and how many of
    its waits gave up (read by the HTTP layer for ``/metrics``)."""

    deadline: float
    wrote: bool = False
    gave_up: int = 0

    def remaining(self) -> float:
        return self.deadline - time.monotonic()


# Set by the HTTP layer around each request (orchestrator/http/shedding.py); None elsewhere.
REQUEST_BUDGET: ContextVar[RequestBudget | None] = ContextVar("request_budget", default=None)


def bound(outside: float, settle_s: float = SETTLE_S) -> float:
    """How long the next wait may last: what is left of the request's deadline (a finishing
    request at least ``settle_s``), at most ``outside``; ``outside`` with no request."""
    budget = REQUEST_BUDGET.get()
    if budget is None:
        return outside
    floor = settle_s if budget.wrote else START_MIN_S
    return min(outside, max(budget.remaining(), floor))


def finishing() -> bool:
    budget = REQUEST_BUDGET.get()
    return budget is not None and budget.wrote


class WriteLock:
    """An asyncio lock with two FIFO queues: finishing writers are served before starting ones.

    Ownership passes straight to the waiter woken by ``release`` (no barging), so a starting
    writer arriving meanwhile cannot take the lock from a finishing one.
    """

    def __init__(self) -> None:
        self._locked = False
        self._finishing: deque[asyncio.Future[None]] = deque()
        self._starting: deque[asyncio.Future[None]] = deque()

    def locked(self) -> bool:
        return self._locked

    async def acquire(
        self,
        *,
        first: bool = False,
        on_wait: Callable[[asyncio.Future[None]], None] | None = None,
    ) -> None:
        """Take the lock; ``first``: queue with the finishing writers. ``on_wait`` is handed the
        waiter when this call has to queue (for ``promote``)."""
        if not self._locked and not self._finishing and not self._starting:
            self._locked = True
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        (self._finishing if first else self._starting).append(waiter)
        if on_wait is not None:
            on_wait(waiter)
        try:
            await waiter
        except BaseException:
            for queue in (self._finishing, self._starting):
                if waiter in queue:
                    queue.remove(waiter)
            if waiter.done() and not waiter.cancelled():
                self.release()  # granted, then cancelled before it ran: pass it on
            raise

    def promote(self, waiter: asyncio.Future[None]) -> None:
        """Move a queued starting waiter to the finishing queue (a group commit's flush that
        began waiting for starting writes and now also carries a finishing one)."""
        if waiter in self._starting:
            self._starting.remove(waiter)
            self._finishing.append(waiter)

    def release(self) -> None:
        for queue in (self._finishing, self._starting):
            while queue:
                waiter = queue.popleft()
                if not waiter.done():
                    waiter.set_result(None)  # the lock stays taken: it is the waiter's now
                    return
        self._locked = False
