"""Cart expiry, ours and the platforms': the sweeper, and how an expired external cart reads.

Why it exists: a cart nobody changes for ``MULTICART_CART_TTL_DAYS`` (``expires_at``, moved by
every change the app makes) must not keep external carts alive on the merchants' platforms
forever, and a cart the app reads must not show a bag as live once the platform has dropped
its external cart.

* Ours: ``ExpirySweeper.run_once`` (a background worker in every process, every
  ``MULTICART_EXTERNAL_DELETE_RETRY_S``) takes a bounded batch of live carts past
  ``expires_at``, each under the cart's lease (so two processes never sweep the same cart,
  and a request changing it meanwhile wins or waits), marks the cart ``EXPIRED`` and its bags
  ``DELETED`` with the outbox entries for their external carts in one transaction, then works
  the outbox at once: the external carts are deleted (Shopify's emptied) in the same round,
  and whatever fails is retried like any other delete. A platform that already dropped a cart
  answers 404, which is success.
* The platforms': each drops a cart some time after its last change (its row's
  ``cart_lifetime``, in ``bags.CART_LIFETIMES``). A bag records when the platform last
  confirmed a change (``Bag.platform_changed_at``), so ``external_expires_at`` is known
  without a platform call;
  ``show_platform_expiry`` makes a bag past it read ``EXPIRED`` (in memory: the next save of
  the cart keeps it). A GET stays one database read.
"""

from __future__ import annotations

from datetime import datetime

import structlog

from bags import BagStatus, Cart, CartStatus, check_cart_transition
from errors import Conflict
from orchestrator.service.context import UseCaseContext
from orchestrator.service.workers import BackgroundWorker
from orchestrator.store import StaleCart

log = structlog.get_logger("multicart.expiry")

BATCH = 50  # carts per round: a round's writes and deletes stay bounded


def show_platform_expiry(cart: Cart, now: datetime) -> Cart:
    """The cart as it stands at ``now``: a bag whose external cart the platform has dropped
    (``external_expires_at`` passed) reads ``EXPIRED``, not as a live cart, and leaves the
    cart's ``sub_total``. No platform call; nothing is written."""
    for bag in cart.bags:
        if bag.status != BagStatus.IN_PROGRESS:
            continue
        ends = bag.external_expires_at
        if ends is not None and ends <= now:
            bag.move_to(BagStatus.EXPIRED)
    return cart


class ExpirySweeper:
    """Expires carts past ``expires_at``, a bounded batch per round (see the module's doc)."""

    def __init__(self, context: UseCaseContext, batch: int = BATCH) -> None:
        self._ctx = context
        self.clock = context.clock  # tests move this sweeper's clock alone
        self._batch = batch
        self.expired_total = 0  # carts this process expired: ``multicart_carts_expired_total``

    def worker(self) -> BackgroundWorker:
        """At start-up, then every ``external_delete_retry_s``."""
        return BackgroundWorker("expiry", self.run_once, self._ctx.settings.external_delete_retry_s)

    async def run_once(self) -> int:
        """One round: expire up to a batch of carts, then delete what they left on the
        platforms. Returns how many carts it expired."""
        now = self.clock()
        expired = entries = 0
        for cart_id in await self._ctx.store.carts.expired(now, limit=self._batch):
            try:
                async with self._ctx.deleter.cart_lease(cart_id):
                    made = await self._expire(cart_id, now)
            except Conflict:
                continue  # another process (or a request) holds it: its turn
            if made is not None:
                expired += 1
                entries += made
        self.expired_total += expired
        if entries:
            # The entries were written due now: this round works them (with any other due).
            await self._ctx.deleter.run_once(self.clock(), limit=max(entries, BATCH))
        return expired

    async def _expire(self, cart_id: str, now: datetime) -> int | None:
        """Expire one cart under its lease; the number of outbox entries it wrote, or None if
        it is no longer due (deleted, expired, or changed since it was picked)."""
        cart = await self._ctx.store.carts.get_any(cart_id)  # re-read under the lease
        if cart is None or cart.status != CartStatus.IN_PROGRESS or cart.expires_at > now:
            return None
        with structlog.contextvars.bound_contextvars(cart_id=cart.id):
            left = [b for b in cart.bags if b.status != BagStatus.DELETED]
            outbox = self._ctx.deleter.entries(cart.id, left, due_now=True)
            for bag in left:
                bag.move_to(BagStatus.DELETED)
            check_cart_transition(cart.status, CartStatus.EXPIRED)
            cart.status = CartStatus.EXPIRED
            cart.date_last_modified = now
            try:
                await self._ctx.store.carts.save(cart, outbox=outbox)
            except StaleCart:
                return None  # changed meanwhile (a create's late write): the next round sees
            log.info("cart_expired", bags=len(left), external_carts=len(outbox))
            return len(outbox)
