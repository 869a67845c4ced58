"""The reconciler: drives every unsettled bag and every outbox entry to a final state.

Why it exists: a create can leave a bag ``PENDING`` (the process died before the outcome was
written) or ``UNKNOWN`` (the platform may have made the cart, but the answer never came), and an
external delete can fail. One background worker, run at start-up and then periodically in every
process, settles them, so that after it has run every external cart multicart made is either on
a live bag or in the outbox:

* the outbox: each due entry is claimed, then deleted, retried later or buried
  (``deletion.py``);
* unsettled carts, once the create's deadline and lease have passed, under the cart's lease
  (so two processes never settle the same cart): on a platform that takes caller-chosen ids
  (Elastic Path), the create is sent again under the bag's own reference, which finds the cart
  if it exists (or makes it) — the bag is adopted with what the platform really holds; on the
  others (Shopify, BigCommerce) no cart can be found without its id, so the bag becomes
  ``FAILED`` and an ``unknown_create`` outbox entry records and counts the possible orphan,
  which the platform expires on its own. Such a bag's order errors say ``retryable: false``
  and it is never created again under its id (``bag_retry.py``, ``lines/new_bag.py``).
"""

from __future__ import annotations

import time

import structlog

from bags import Bag, BagStatus, Cart, CartStatus, Merchant
from errors import Conflict, PlatformError, PlatformTimeout
from orchestrator.service.context import UseCaseContext
from orchestrator.service.deletion import own_outcome
from orchestrator.service.fanout import BagOutcome, creation_call
from orchestrator.service.merge import (
    apply_failed,
    apply_outcome,
    being_removed,
    error_factory,
)
from orchestrator.service.secrets import new_id
from orchestrator.service.workers import BackgroundWorker
from orchestrator.store import PendingExternalDelete

log = structlog.get_logger("multicart.reconciler")

_SETTLE_MARGIN_S = 5.0  # past the create's deadline and lease before a bag counts as unsettled


class Reconciler:
    def __init__(self, context: UseCaseContext) -> None:
        self._ctx = context

    def worker(self) -> BackgroundWorker:
        """At start-up, then every ``external_delete_retry_s``."""
        return BackgroundWorker(
            "reconciler", self.run_once, self._ctx.settings.external_delete_retry_s
        )

    async def run_once(self) -> int:
        """One round: the unsettled carts, then the due outbox entries. Returns how many bags
        and entries it settled."""
        settled = 0
        settle_s = self._ctx.settings.create_deadline_s + _SETTLE_MARGIN_S  # the database's clock
        try:
            for cart_id in await self._ctx.store.carts.unsettled(settle_s):
                try:
                    async with self._ctx.deleter.cart_lease(cart_id):
                        settled += await self._settle(cart_id)
                except Conflict:
                    continue  # another process (or a request) holds it: its turn
                except Exception:  # one cart's trouble never stops the others or the outbox
                    log.exception("cart_settle_failed", cart_id=cart_id)
        finally:
            # Then the outbox, with the entries settling just added, whatever happened above.
            settled += await self._ctx.deleter.run_once(self._ctx.clock())
        return settled

    async def settle_now(self, cart_id: str) -> None:
        """Settle one cart's unsettled bags at once, under its lease (409 ``cart_busy`` if
        another holds it): a retry whose Idempotency-Key names this cart found the request
        that wrote it dead (its key's lock lapsed, which outlasts the create's lease)."""
        async with self._ctx.deleter.cart_lease(cart_id):
            await self._settle(cart_id)

    async def _settle(self, cart_id: str) -> int:
        cart = await self._ctx.store.carts.get_any(cart_id)  # re-read under the lease
        if cart is None or cart.status != CartStatus.IN_PROGRESS:
            return 0
        bound = structlog.contextvars.bound_contextvars(cart_id=cart.id)
        with bound:
            unsettled = [b for b in cart.bags if b.status in (BagStatus.PENDING, BagStatus.UNKNOWN)]
            merchants = await self._ctx.store.catalog.get_merchants(
                {b.merchant_id for b in unsettled}
            )
            outbox: list[PendingExternalDelete] = []
            settled: list[Bag] = []
            for bag in unsettled:
                if await self._settle_bag(cart, bag, merchants.get(bag.merchant_id), outbox):
                    settled.append(bag)
            if settled:
                cart.date_last_modified = self._ctx.clock()
                try:
                    await self._ctx.store.carts.save(cart, outbox=outbox)
                except Exception as exc:
                    await self._read_back(cart, settled, outbox, exc)
            return len(settled)

    async def _read_back(
        self, cart: Cart, settled: list[Bag], outbox: list[PendingExternalDelete], exc: Exception
    ) -> None:
        """The save of what this round settled failed (the cart changed: the create's own
        read-back won, say; or the database): what it adopted, and the entries it meant to
        write, go through the same read-back as a request's (``after_failed_write``), so an
        adopted cart is either recorded or queued, never left on no bag and in no entry."""
        adopted = [b for b in settled if b.external_id]
        candidates = [*outbox, *self._ctx.deleter.entries(cart.id, adopted, due_now=True)]
        deadline = time.monotonic() + self._ctx.settings.request_deadline_s
        try:
            await self._ctx.deleter.after_failed_write(
                cart.id, candidates, exc, deadline, outcome=own_outcome(cart, settled)
            )
        except Exception:  # logged with the ids by after_failed_write; the next round asks
            log.warning("cart_settle_unrecorded", cart_id=cart.id, exc_info=True)

    async def _settle_bag(
        self,
        cart: Cart,
        bag: Bag,
        merchant_row: tuple[Merchant, bytes] | None,
        outbox: list[PendingExternalDelete],
    ) -> bool:
        new_error = error_factory(cart, self._ctx.clock(), new_id)
        with structlog.contextvars.bound_contextvars(bag_id=bag.id, platform=str(bag.platform)):
            adapter = None
            if merchant_row is not None:
                try:
                    adapter = self._ctx.merchants.adapter_for(*merchant_row)
                except ValueError:  # its connection cannot be decrypted with our keys
                    adapter = None
            if adapter is not None and adapter.capabilities.caller_chosen_cart_ids:
                if await self._ctx.store.references.being_deleted(bag.merchant_id, bag.id):
                    # What its create made is queued for deletion (its outcome could not be
                    # written): a reference an outbox entry names is never adopted or sent
                    # again, or that delete would remove the cart adopted (the bag's id is
                    # the cart's). The entry deletes it; the bag fails.
                    _drop_errors(cart, bag)
                    apply_failed(bag, being_removed(bag), cart, new_error)
                    log.warning("bag_settled", outcome="FAILED", reason="outbox_names_it")
                    return True
                deadline = time.monotonic() + self._ctx.settings.create_deadline_s
                try:
                    found = await creation_call(adapter, cart, bag, deadline)()
                except PlatformError as exc:
                    if exc.may_have_applied:
                        log.warning("bag_still_unknown", cause=str(exc.cause))
                        return False  # the next round asks again
                    # Deleted by its reference, the bag's id.
                    outbox.extend(self._ctx.deleter.entries(cart.id, [bag], due_now=True))
                    _drop_errors(cart, bag)
                    apply_failed(bag, exc, cart, new_error)
                    log.warning("bag_settled", outcome="FAILED", cause=str(exc.cause))
                    return True
                _drop_errors(cart, bag)
                # Its create, as the platform holds it: the platform's expiry counts from now.
                adopted = BagOutcome(bag.id, cart=found)
                apply_outcome(bag, adopted, cart, new_error, self._ctx.clock())
                log.info("bag_settled", outcome="ADOPTED", external_id=found.external_id)
                return True
            # The platform cannot be asked: the bag fails, the possible cart is recorded.
            outbox.extend(self._ctx.deleter.entries(cart.id, [bag], due_now=True))
            _drop_errors(cart, bag)
            unanswered = PlatformTimeout(
                f"{bag.platform} gave no answer to the create, and it cannot be asked whether"
                " the cart was made (a cart it made expires there on its own)",
                platform=str(bag.platform),
            )
            # Not retryable: a create under this bag could make a second cart beside the one
            # this may have made (its ``unknown_create`` entry keeps the bag from being made
            # again: a retry is 409, an add makes a new bag).
            unanswered.retryable = False
            apply_failed(bag, unanswered, cart, new_error)
            log.warning("bag_settled", outcome="FAILED", cause="PLATFORM_TIMEOUT")
            return True


def _drop_errors(cart: Cart, bag: Bag) -> None:
    """The bag's earlier order errors: replaced by what settling it found."""
    cart.errors = [e for e in cart.errors if e.bag_id != bag.id]
