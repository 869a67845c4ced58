"""An add that makes a bag: a new one, or a ``FAILED`` or ``EXPIRED`` one made again.

The bag is written ``PENDING`` (with the delete of the external cart it leaves) before its
create is sent, as a cart's create does, so a crash leaves it to the reconciler and no
external cart is ever in neither a bag nor the outbox.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace

import structlog

from bags import Bag, BagStatus, Cart, CatalogSku, Merchant, OrderSku
from orchestrator.service.cart_lock import busy
from orchestrator.service.context import UseCaseContext
from orchestrator.service.fanout import BagOutcome, creation_call, fan_out
from orchestrator.service.lines.records import MadeRecord, Record
from orchestrator.service.lines.refusals import deleting, unreadable
from orchestrator.service.merge import apply_outcome, error_factory
from orchestrator.service.secrets import new_id
from orchestrator.store import PendingExternalDelete, StaleCart

log = structlog.get_logger("multicart.lines")


class NewBags:
    def __init__(self, context: UseCaseContext) -> None:
        self._ctx = context

    async def make(
        self,
        cart: Cart,
        bag: Bag | None,
        sku: CatalogSku,
        quantity: int,
        owners: dict[str, tuple[Merchant, bytes]],
        deadline: float,
    ) -> Record:
        """A new bag (or a FAILED or EXPIRED one, again) and its external cart, as a create
        makes them.

        A bag is made again under its own id (the reference its create is sent with, which
        is the cart's id on Elastic Path) only when nothing else can hold or remove a cart
        under that id: while an outbox entry of the bag is pending, 409 ``cart_busy`` (on
        Elastic Path that delete would remove the new cart); and a bag whose first create's
        outcome is unknown (an ``unknown_create`` entry, in any state) is never made again:
        a new bag takes its lines, and it stays ``FAILED``, listed. The external cart a bag
        leaves (an ``EXPIRED`` one's) is queued for deletion in the same save that makes the
        bag ``PENDING``, so that no cart is ever in neither a bag nor the outbox."""
        merchant, sealed = owners[sku.merchant_id]
        bag, leaving = await self._place(cart, bag, merchant, sku.merchant_id)
        _add_line(bag, sku, quantity)
        # PENDING before any call (a crash leaves it to the reconciler), as a create does,
        # with the delete of the cart the bag leaves.
        cart.date_last_modified = self._ctx.clock()
        try:
            await self._ctx.store.carts.save(cart, outbox=leaving)
        except StaleCart:  # the lease ran out and another change won: nothing was sent
            raise busy() from None
        outcome = await self._create(cart, bag, merchant, sealed, leaving, deadline)
        bag_id = bag.id

        def record(c: Cart) -> list[PendingExternalDelete]:
            b = c.bag(bag_id)
            if b is None or b.status != BagStatus.PENDING:
                return []
            answered = self._ctx.clock()
            apply_outcome(b, outcome, c, error_factory(c, answered, new_id), answered)
            return []

        if outcome.cart is None:
            return record
        holding = replace(bag, external_id=outcome.cart.external_id)
        return MadeRecord(record, bag_id, self._ctx.deleter.entries(cart.id, [holding]))

    async def _place(
        self, cart: Cart, bag: Bag | None, merchant: Merchant, merchant_id: str
    ) -> tuple[Bag, list[PendingExternalDelete]]:
        """The bag the line goes in, ``PENDING``-to-be, and the outbox entries of what it leaves."""
        if bag is None:
            # One bag per merchant: an earlier, emptied (DELETED) one gives way.
            gone = {b.id for b in cart.bags if b.merchant_id == merchant_id}
            cart.bags = [b for b in cart.bags if b.id not in gone]
            cart.errors = [e for e in cart.errors if e.bag_id not in gone]
            return _new_bag(cart, merchant), []
        held = await self._ctx.store.references.bag_outbox(bag.id)
        if held.unknown_creates:
            old = bag
            bag = _new_bag(cart, merchant)
            leaving = self._leave(cart, old, bag.id)
            bag.skus, old.skus = old.skus, []  # the lines go on in the new bag
            old.platform_sub_total = None
            return bag, leaving
        if held.pending:
            raise deleting(self._ctx.settings)
        leaving = self._leave(cart, bag, bag.id)
        bag.move_to(BagStatus.PENDING)
        cart.errors = [e for e in cart.errors if e.bag_id != bag.id]
        return bag, leaving

    async def _create(
        self,
        cart: Cart,
        bag: Bag,
        merchant: Merchant,
        sealed: bytes,
        leaving: list[PendingExternalDelete],
        deadline: float,
    ) -> BagOutcome:
        """The bag's create, beside the request's own try at deleting what it left."""
        try:
            adapter = self._ctx.merchants.adapter_for(merchant, sealed)
        except ValueError:
            await self._try_deletes(leaving, deadline)
            return BagOutcome(bag.id, error=unreadable(str(bag.platform)))
        call = creation_call(adapter, cart, bag, deadline)
        made, _ = await asyncio.gather(
            fan_out([(bag.id, str(bag.platform), call)], deadline),
            self._try_deletes(leaving, deadline),
        )
        return made[bag.id]

    def _leave(self, cart: Cart, bag: Bag, reference: str) -> list[PendingExternalDelete]:
        """``bag`` is about to be made again under ``reference``: the outbox entry deleting the
        external cart it held (none when it held none, or when its cart is the one
        ``reference`` names, as an Elastic Path bag's is: the create finds that one), and the
        bag and its lines cleared of the old cart's ids, so a crash while ``PENDING`` records
        an unknown create, not a delete of the old cart."""
        leaving: list[PendingExternalDelete] = []
        if bag.external_id is not None and bag.external_id != reference:
            leaving = self._ctx.deleter.entries(cart.id, [bag])
        bag.external_id, bag.checkout_url, bag.platform_sub_total = None, None, None
        for line in bag.skus:
            line.external_id = None
        return leaving

    async def _try_deletes(self, entries: list[PendingExternalDelete], deadline: float) -> None:
        """The request's own try at ``entries`` (already saved): a failure leaves them to the
        outbox's worker, and never costs the create beside it its outcome."""
        if not entries:
            return
        try:
            await self._ctx.deleter.attempt(entries, deadline)
        except Exception:  # the entries stay pending in the outbox; the reconciler retries
            log.exception("external_delete_attempt_failed", count=len(entries))


def _new_bag(cart: Cart, merchant: Merchant) -> Bag:
    bag = Bag.of_merchant(new_id("bag"), merchant, cart.currency)
    cart.bags.append(bag)
    return bag


def _add_line(bag: Bag, sku: CatalogSku, quantity: int) -> None:
    line = bag.line_for_sku(sku.sku_id)
    if line is not None:
        line.quantity += quantity
        line.line_price = line.price * line.quantity
        return
    bag.skus.append(
        OrderSku(
            new_id("osk"),
            sku.sku_id,
            sku.name,
            quantity,
            sku.price,
            sku.price * quantity,
            dict(sku.platform_ref),
        )
    )
