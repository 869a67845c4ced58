"""Deleting external carts so that none is ever orphaned or forgotten.

A delete is written to the ``external_deletes`` outbox in the same transaction that marks the
bags DELETED (or removes the cart's record), then tried at once within the request's deadline;
whatever fails stays in the outbox, and the reconciler (``reconciler.py``) works it again with
backoff, claiming each entry so that two processes never work the same one.

A bag whose create had an unknown outcome leaves an ``unknown_create`` entry: on a platform
that takes caller-chosen ids (Elastic Path) the cart is deleted by its reference, the bag's id;
elsewhere (Shopify, BigCommerce: no way to find a cart without its id) the entry is buried as
``undetectable``, counted, and the cart expires on the platform. A permanent failure (merchant
gone, credentials refused or unreadable) is buried as ``dead`` at once; any other failure is
retried with capped backoff until ``MULTICART_OUTBOX_GIVE_UP_AFTER_S`` after its first real
failure (``retry_policy.py`` says what counts), then buried as ``dead`` too. Buried entries stay
for an operator to list and requeue (``http/outbox_routes.py``, ``multicart outbox``).

The cart lease, which serializes one cart's changes across processes, is here too.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

import structlog

from bags import Bag, BagStatus, Cart, CartStatus, Merchant
from config import Settings
from errors import Conflict as ConflictError
from errors import (
    ErrorCode,
    PlatformAddressRefused,
    PlatformAuthFailed,
    PlatformError,
    PlatformNotFound,
)
from orchestrator.service import retry_policy
from orchestrator.service.cart_lock import busy, release_quietly
from orchestrator.service.clock import Clock, utcnow
from orchestrator.service.merchants import MerchantAdapters
from orchestrator.service.merge import fail_unrecorded
from orchestrator.service.secrets import new_id
from orchestrator.store import PendingExternalDelete, StaleCart, Store
from orchestrator.store.outbox import Burial, Kind

log = structlog.get_logger("multicart.deletion")

_UNSETTLED = (BagStatus.PENDING, BagStatus.UNKNOWN)


@dataclass(frozen=True)
class ReadBack:
    """What the database holds after a failed write (``ExternalDeleter.after_failed_write``):
    the cart as stored (None when its record is gone) and the deletes queued."""

    stored: Cart | None
    queued: list[PendingExternalDelete]

    def on_record(self, bag_ids: Sequence[str]) -> Cart | None:
        """The stored cart if it is live, holds every bag of ``bag_ids`` settled, and nothing
        had to be queued: the write had committed (its answer was lost), or another process
        recorded the same outcome. None otherwise."""
        cart = self.stored
        if cart is None or cart.status is not CartStatus.IN_PROGRESS or self.queued:
            return None
        settled = all(
            (bag := cart.bag(bag_id)) is not None and bag.status is not BagStatus.PENDING
            for bag_id in bag_ids
        )
        return cart if settled else None


def own_outcome(cart: Cart, bags: Sequence[Bag]) -> Cart:
    """``cart`` holding only ``bags`` and their order errors: the outcome a request records on
    a read-back (``after_failed_write``) is its own bags', never a stale copy of the others."""
    ids = {bag.id for bag in bags}
    return replace(cart, bags=list(bags), errors=[e for e in cart.errors if e.bag_id in ids])


class ExternalDeleter:
    def __init__(
        self,
        store: Store,
        merchants: MerchantAdapters,
        settings: Settings,
        clock: Clock = utcnow,
    ) -> None:
        self._clock = clock
        self._store = store
        self._merchants = merchants
        self._settings = settings
        # Entries this process buried as dead, by reason (``window``: failing past the give-up
        # window; ``permanent``: merchant gone, credentials refused), for /metrics.
        self.given_up_total: dict[str, int] = {"window": 0, "permanent": 0}

    @contextlib.asynccontextmanager
    async def cart_lease(self, cart_id: str) -> AsyncIterator[None]:
        """Serialize changes of one cart across tasks and processes (the owner is minted here,
        never taken from a client)."""
        owner = new_id("lease")
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
            await release_quietly(self._store, cart_id, owner)  # a failure: logged, it lapses

    def entries(
        self, cart_id: str, bags: Sequence[Bag], *, due_now: bool = False
    ) -> list[PendingExternalDelete]:
        """The outbox entries for the external carts ``bags`` leave behind: a delete for each
        known external cart, an ``unknown_create`` for each create whose outcome is unknown.

        A request's entries are due only once its own attempt has had its chance, so the
        background worker does not race the request; ``due_now`` for the reconciler's own."""
        due = (
            None
            if due_now
            else (self._clock() + timedelta(seconds=self._settings.request_deadline_s + 1))
        )
        made: list[PendingExternalDelete] = []
        for bag in bags:
            kind: Kind
            if bag.external_id:
                kind, external_id = "delete", bag.external_id
            elif bag.status in _UNSETTLED:
                kind, external_id = "unknown_create", bag.id  # the reference it was sent with
            else:
                continue
            made.append(
                PendingExternalDelete(
                    id=new_id("xdel"),
                    cart_id=cart_id,
                    bag_id=bag.id,
                    merchant_id=bag.merchant_id,
                    platform=bag.platform,
                    external_id=external_id,
                    next_attempt_at=due,
                    kind=kind,
                )
            )
        return made

    async def delete_cart(self, cart: Cart, now: datetime, deadline: float) -> None:
        """Mark the cart and its bags DELETED with the outbox in one transaction, then try."""
        entries = self.entries(cart.id, [b for b in cart.bags if b.status != BagStatus.DELETED])
        for bag in cart.bags:
            if bag.status != BagStatus.DELETED:
                bag.move_to(BagStatus.DELETED)
        cart.status = CartStatus.DELETED
        cart.date_last_modified = now
        await self._store.carts.save(cart, outbox=entries)
        await self.attempt(entries, deadline)

    async def discard(self, cart_id: str, bags: Sequence[Bag], deadline: float) -> None:
        """Remove a cart's record and record what its bags left on the platforms, in one
        transaction (a crash between the two would forget external carts), then try."""
        entries = self.entries(cart_id, bags)
        await self._store.carts.delete_record(cart_id, outbox=entries)
        await self.attempt(entries, deadline)

    async def enqueue(self, cart_id: str, bags: Sequence[Bag], deadline: float) -> None:
        """Record, then try, the deletion of external carts no record keeps any more."""
        entries = self.entries(cart_id, bags)
        await self._store.outbox.enqueue(entries)
        await self.attempt(entries, deadline)

    async def after_failed_write(
        self,
        cart_id: str,
        made: Sequence[PendingExternalDelete],
        failure: Exception,
        deadline: float,
        *,
        lease_owner: str | None = None,
        outcome: Cart | None = None,
    ) -> ReadBack:
        """A write that would have recorded the external carts ``made`` raised ``failure``:
        queue the deletes of those no live bag holds, decided from what the database holds
        (``CartStore.queue_unkept``: the write may have committed, or another process may
        have adopted them), then try them; ``outcome`` (the request's cart) is recorded for
        the bags the record still has ``PENDING``. Returns the cart as stored and what was
        queued.
        If even that cannot be written, the ids are logged and ``failure`` is raised."""
        try:
            stored, queued = await self._store.carts.queue_unkept(
                cart_id,
                made,
                lease_owner=lease_owner,
                outcome=outcome,
                fail_bag=lambda cart, bag, taken: fail_unrecorded(
                    cart, bag, self._clock(), new_id, taken
                ),
            )
        except Exception:  # nothing more can be written: the ids go to the log at least
            log.error(
                "external_carts_unrecorded",
                cart_id=cart_id,
                external_ids=[(e.platform, e.merchant_id, e.external_id) for e in made],
            )
            # A StaleCart is a conflict with another change (409), never a 500.
            raise (busy() if isinstance(failure, StaleCart) else failure) from None
        try:
            await self.attempt(queued, deadline)
        except Exception:  # queued already: the outbox's worker tries them; the answer stands
            log.warning("external_delete_attempt_failed", cart_id=cart_id, exc_info=True)
        return ReadBack(stored, queued)

    async def attempt(
        self,
        entries: Sequence[PendingExternalDelete],
        deadline: float,
        now: datetime | None = None,
    ) -> None:
        """A request's own try at its deletes. An unknown create is left to the reconciler:
        the create it follows may still be landing on the platform."""
        entries = [e for e in entries if e.kind == "delete"]
        if not entries:
            return
        now = now or self._clock()
        merchants = await self._store.catalog.get_merchants({e.merchant_id for e in entries})
        await asyncio.gather(*(self._attempt(e, merchants, deadline, now) for e in entries))

    async def _attempt(
        self,
        entry: PendingExternalDelete,
        merchants: dict[str, tuple[Merchant, bytes]],
        deadline: float,
        now: datetime,
    ) -> bool:
        bound = structlog.contextvars.bound_contextvars(
            cart_id=entry.cart_id,
            bag_id=entry.bag_id,
            merchant_id=entry.merchant_id,
            platform=str(entry.platform),
        )
        with bound:
            row = merchants.get(entry.merchant_id)
            if row is None:
                return await self._bury(entry, "dead", "the merchant no longer exists")
            try:
                adapter = self._merchants.adapter_for(*row)
            except ValueError as exc:  # its connection cannot be decrypted with our keys
                return await self._bury(entry, "dead", f"unreadable connection: {exc}")
            if entry.kind == "unknown_create" and not adapter.capabilities.caller_chosen_cart_ids:
                return await self._bury(
                    entry,
                    "undetectable",
                    f"{entry.platform} cannot be asked whether the create made a cart (its ids"
                    " are the platform's own); an orphan there expires on the platform",
                )
            remaining = deadline - time.monotonic()
            if remaining <= 0:  # the request's own deadline: nothing was sent
                return await self._defer(entry, "out of time before the delete was sent", now)
            try:
                async with asyncio.timeout(remaining):
                    await adapter.delete_cart(entry.external_id, deadline=deadline)
            except PlatformNotFound:
                pass  # already gone: that is what we wanted
            except PlatformAuthFailed as exc:
                return await self._bury(entry, "dead", f"credentials refused: {exc.message}")
            except PlatformAddressRefused as exc:  # the merchant's host resolves off-limits
                return await self._bury(entry, "dead", f"host refused: {exc.message}")
            except PlatformError as exc:
                error = f"{type(exc).__name__}: {exc.message}"
                if not retry_policy.spends_budget(exc, deadline):
                    return await self._defer(entry, error, now, exc.retry_after)
                return await self._postpone(entry, error, now, exc.retry_after)
            except TimeoutError:  # the adapter overran its own deadline: the platform hung
                return await self._postpone(entry, "TimeoutError: no answer by the deadline", now)
            await self._store.outbox.finish(entry.id)
            # A platform without a cart delete (Shopify) had the cart emptied instead;
            # it expires there on its own.
            deleted = adapter.capabilities.can_delete_cart
            log.info(
                "external_cart_deleted" if deleted else "external_cart_emptied",
                external_id=entry.external_id,
                kind=entry.kind,
            )
            return True

    async def _postpone(
        self,
        entry: PendingExternalDelete,
        error: str,
        now: datetime,
        retry_after: float | None = None,
    ) -> bool:
        """A real failure: on the failure clock; given up once it is past the window."""
        window = timedelta(seconds=self._settings.outbox_give_up_after_s)
        failing_since = entry.first_failed_at or now
        if now - failing_since >= window:
            hours = (now - failing_since).total_seconds() / 3600
            reason = f"gave up after failing for {hours:.1f} h ({entry.attempts + 1} attempts)"
            return await self._bury(entry, "dead", f"{reason}: {error}", given_up="window")
        next_at = retry_policy.next_attempt(
            entry.attempts, now, self._settings.external_delete_retry_s, retry_after
        )
        # The give-up moment itself is tried, not skipped past: the entry dies once the window
        # has passed, never a backoff later.
        next_at = min(next_at, failing_since + window)
        await self._store.outbox.postpone(entry.id, next_at, error, failed_at=failing_since)
        log.warning(
            "external_delete_postponed",
            external_id=entry.external_id,
            error=error,
            attempts=entry.attempts + 1,
            retry_in_s=(next_at - now).total_seconds(),
        )
        return False

    async def _defer(
        self,
        entry: PendingExternalDelete,
        error: str,
        now: datetime,
        retry_after: float | None = None,
    ) -> bool:
        """Not a failure of the platform (throttled, circuit open, out of time): tried again
        when it says, off the failure clock and not counted as an attempt."""
        next_at = retry_policy.next_try(now, self._settings.external_delete_retry_s, retry_after)
        await self._store.outbox.defer(entry.id, next_at, error)
        log.info(
            "external_delete_deferred",
            external_id=entry.external_id,
            error=error,
            retry_in_s=(next_at - now).total_seconds(),
        )
        return False

    async def _bury(
        self,
        entry: PendingExternalDelete,
        state: Burial,
        reason: str,
        *,
        given_up: Literal["window", "permanent"] = "permanent",
    ) -> bool:
        await self._store.outbox.bury(entry.id, state, reason)
        if state == "dead":
            self.given_up_total[given_up] += 1
        log.warning(
            "external_delete_buried", external_id=entry.external_id, state=state, reason=reason
        )
        return False

    async def run_once(self, now: datetime, limit: int = 50) -> int:
        """Work the entries that are due, each claimed first; returns how many succeeded."""
        hold_s = self._settings.request_deadline_s * 2 + 5
        claimed = await self._store.outbox.claim(now, hold_s=hold_s, limit=limit)
        if not claimed:
            return 0
        deadline = time.monotonic() + self._settings.request_deadline_s
        merchants = await self._store.catalog.get_merchants({e.merchant_id for e in claimed})
        results = await asyncio.gather(
            *(self._attempt(e, merchants, deadline, now) for e in claimed)
        )
        return sum(results)
