"""Waiting for a cart's lease, so concurrent changes of one cart queue instead of failing.

Why: ``ExternalDeleter.cart_lease`` answers 409 ``cart_busy`` at once when the lease is held,
which suits a DELETE (rare, and racing a create) but not the line routes: twenty shoppers'
taps on one cart arrive together and each must land, once, in order. ``CartLocks.hold`` takes
the same lease (the cart row's ``lease_owner``/``lease_until``, so it serializes across
processes too) but waits for it, within the request's deadline:

- in one process, waiters queue on an ``asyncio.Lock`` per cart, so only the head of the queue
  touches the database;
- across processes, the head polls ``LeaseStore.acquire`` with jittered, capped backoff (a
  lease is two columns of a row: there is nothing to subscribe to);
- it gives up, with 409 ``cart_busy`` and ``Retry-After``, only when the wait would leave the
  change too little of the deadline to do its platform work (``WORK_SHARE`` of it).

A release that fails (``Overloaded``, a database error) is logged and swallowed
(``release_quietly``): the change under the lease is already saved, so its answer stands, and
the lease lapses at its TTL.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import AsyncIterator

import structlog

from config import Settings
from errors import Conflict, ErrorCode
from orchestrator.service.secrets import new_id
from orchestrator.store import Store

log = structlog.get_logger("multicart.cart_lock")

WORK_SHARE = 0.25  # of the request's deadline, kept for the platform work after the wait
FIRST_POLL_S = 0.01
MAX_POLL_S = 0.2


async def release_quietly(store: Store, cart_id: str, owner: str) -> None:
    """Release the cart's lease; a failure is logged, never raised: it would replace the
    answer of a change already saved (or the error already on its way), and the lease
    lapses at its TTL anyway."""
    try:
        await store.leases.release(cart_id, owner)
    except Exception:
        log.warning("lease_release_failed", cart_id=cart_id, exc_info=True)


def busy() -> Conflict:
    return Conflict(
        "Another change to this cart is under way; retry shortly.",
        kind=ErrorCode.CART_BUSY,
        headers={"Retry-After": "1"},
    )


class CartLocks:
    """The cart lease, waited for (see the module docstring). One per process."""

    def __init__(self, store: Store, settings: Settings) -> None:
        self._store = store
        self._reserve_s = settings.request_deadline_s * WORK_SHARE
        # As long as the deleter's: a holder that died frees the cart when this runs out.
        self._ttl_s = settings.request_deadline_s * 2 + 5
        self._local: dict[str, tuple[asyncio.Lock, int]] = {}

    @contextlib.asynccontextmanager
    async def hold(self, cart_id: str, deadline: float) -> AsyncIterator[None]:
        """Hold the cart's lease for the block; 409 ``cart_busy`` if it is not had in time.

        ``deadline`` is the request's (``time.monotonic()``); the wait ends ``WORK_SHARE`` of
        the request deadline before it."""
        wait_until = deadline - self._reserve_s
        lock, waiters = self._local.get(cart_id, (asyncio.Lock(), 0))
        self._local[cart_id] = (lock, waiters + 1)
        try:
            try:
                async with asyncio.timeout(max(0.0, wait_until - time.monotonic())):
                    await lock.acquire()
            except TimeoutError:
                raise busy() from None
            try:
                owner = await self._acquire(cart_id, wait_until)
                try:
                    yield
                finally:
                    await release_quietly(self._store, cart_id, owner)
            finally:
                lock.release()
        finally:
            lock, waiters = self._local[cart_id]
            if waiters <= 1:
                del self._local[cart_id]
            else:
                self._local[cart_id] = (lock, waiters - 1)

    async def _acquire(self, cart_id: str, wait_until: float) -> str:
        owner = new_id("lease")
        pause = FIRST_POLL_S
        while not await self._store.leases.acquire(cart_id, owner, self._ttl_s):
            # Another process (or a create, born leased) holds it: poll, bounded.
            step = pause * (0.5 + random.random() / 2)
            if time.monotonic() + step >= wait_until:
                raise busy()
            await asyncio.sleep(step)
            pause = min(pause * 2, MAX_POLL_S)
        return owner
