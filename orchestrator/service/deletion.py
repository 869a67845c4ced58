"""Deleting external carts so that none is ever orphaned or forgotten.

A delete is written to the ``external_deletes`` outbox in the same transaction that marks the
bags DELETED, then tried at once within the request's deadline; whatever fails stays in the
outbox, and ``ExternalDeleter.worker()`` (a ``BackgroundWorker``) retries it in the background
with backoff until it is done. The cart lease, which serializes one cart's changes, is here too:
deleting is the change that needs it today.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta

import structlog

from bags.models import Bag, Cart, Merchant
from bags.status import BagStatus, CartStatus
from config import Settings
from errors import Conflict as ConflictError
from errors import ErrorCode, MulticartError, PlatformError, PlatformNotFound
from orchestrator.service.merchants import MerchantAdapters
from orchestrator.service.secrets import new_id
from orchestrator.service.workers import BackgroundWorker
from orchestrator.store import PendingExternalDelete, Store

log = structlog.get_logger("multicart.deletion")

_MAX_BACKOFF_S = 300.0


class ExternalDeleter:
    def __init__(
        self,
        store: Store,
        merchants: MerchantAdapters,
        settings: Settings,
    ) -> None:
        self._store = store
        self._merchants = merchants
        self._settings = settings

    @contextlib.asynccontextmanager
    async def cart_lease(self, cart_id: str, owner: str) -> AsyncIterator[None]:
        """Serialize changes of one cart across tasks and processes."""
        ttl = self._settings.request_deadline_s * 2 + 5
        if not await self._store.leases.acquire(cart_id, owner, ttl):
            raise ConflictError(
                "Another change to this cart is under way; retry shortly.",
                kind=ErrorCode.CART_BUSY,
                headers={"Retry-After": "1"},
            )
        try:
            yield
        finally:
            await self._store.leases.release(cart_id, owner)

    def _entries(self, cart_id: str, bags: Sequence[Bag]) -> list[PendingExternalDelete]:
        # Due only once this request's own attempt has had its chance, so the background
        # worker does not race the request for the same delete.
        due = datetime.now(UTC) + timedelta(seconds=self._settings.request_deadline_s + 1)
        return [
            PendingExternalDelete(
                id=new_id("xdel"),
                cart_id=cart_id,
                bag_id=bag.id,
                merchant_id=bag.merchant_id,
                platform=bag.platform,
                external_id=bag.external_id or "",
                next_attempt_at=due,
            )
            for bag in bags
            if bag.external_id
        ]

    async def delete_cart(self, cart: Cart, now: datetime, deadline: float) -> None:
        """Mark the cart and its bags DELETED with the outbox in one transaction, then try."""
        with_external = [b for b in cart.bags if b.external_id and b.status != BagStatus.DELETED]
        entries = self._entries(cart.id, with_external)
        for bag in cart.bags:
            if bag.status != BagStatus.DELETED:
                bag.move_to(BagStatus.DELETED)
        cart.status = CartStatus.DELETED
        cart.date_last_modified = now
        await self._store.carts.save(cart, outbox=entries)
        await self._attempt_all(entries, deadline)

    async def delete_now(self, cart_id: str, bags: Sequence[Bag], deadline: float) -> None:
        """Record, then try, the deletion of external carts whose bags are no longer kept."""
        entries = self._entries(cart_id, bags)
        await self._store.outbox.enqueue(entries)
        await self._attempt_all(entries, deadline)

    async def _attempt_all(self, entries: Sequence[PendingExternalDelete], deadline: float) -> None:
        if not entries:
            return
        merchants = await self._store.catalog.get_merchants({e.merchant_id for e in entries})
        await asyncio.gather(*(self._attempt(e, merchants, deadline) for e in entries))

    async def _attempt(
        self,
        entry: PendingExternalDelete,
        merchants: dict[str, tuple[Merchant, bytes]],
        deadline: float,
    ) -> bool:
        bound = structlog.contextvars.bound_contextvars(
            cart_id=entry.cart_id,
            bag_id=entry.bag_id,
            merchant_id=entry.merchant_id,
            platform=str(entry.platform),
        )
        with bound:
            row = merchants.get(entry.merchant_id)
            error: str
            if row is None:
                error = "merchant no longer exists"
            else:
                merchant, ciphertext = row
                try:
                    adapter = self._merchants.adapter_for(merchant, ciphertext)
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise TimeoutError
                    async with asyncio.timeout(remaining):
                        await adapter.delete_cart(entry.external_id, deadline=deadline)
                except PlatformNotFound:
                    pass  # already gone: that is what we wanted
                except (PlatformError, MulticartError, TimeoutError, ValueError) as exc:
                    error = f"{type(exc).__name__}: {getattr(exc, 'message', str(exc))}"
                else:
                    await self._store.outbox.finish(entry.id)
                    # A platform without a cart delete (Shopify) had the cart emptied instead;
                    # it expires there on its own.
                    deleted = adapter.capabilities.can_delete_cart
                    log.info(
                        "external_cart_deleted" if deleted else "external_cart_emptied",
                        external_id=entry.external_id,
                    )
                    return True
            backoff = min(
                self._settings.external_delete_retry_s * (2 ** min(entry.attempts, 8)),
                _MAX_BACKOFF_S,
            )
            next_at = datetime.now(UTC) + timedelta(seconds=backoff)
            await self._store.outbox.postpone(entry.id, next_at, error[:500])
            log.warning(
                "external_delete_postponed",
                external_id=entry.external_id,
                error=error,
                attempts=entry.attempts + 1,
                retry_in_s=backoff,
            )
            return False

    async def run_once(self, now: datetime, limit: int = 50) -> int:
        """Retry the deletes that are due; returns how many succeeded."""
        due = await self._store.outbox.due(now, limit=limit)
        if not due:
            return 0
        deadline = time.monotonic() + self._settings.request_deadline_s
        merchants = await self._store.catalog.get_merchants({e.merchant_id for e in due})
        results = await asyncio.gather(*(self._attempt(e, merchants, deadline) for e in due))
        return sum(results)

    def worker(self) -> BackgroundWorker:
        """The background retrier: every ``external_delete_retry_s``, retry what is due."""
        return BackgroundWorker(
            "external_delete",
            lambda: self.run_once(datetime.now(UTC)),
            self._settings.external_delete_retry_s,
        )
