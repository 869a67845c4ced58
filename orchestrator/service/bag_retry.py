"""Retrying a FAILED bag: its external cart created again, by the create's own rules.

Why: in a multi-bag cart one merchant can fail (out of stock, down, throttled) while the others
succeed; the cart is kept with that bag ``FAILED``. Once the cause is gone the app asks for that
bag alone again (``POST /v1/carts/{cart_id}/bags/{bag_id}/retry``) instead of rebuilding the
cart. Under the cart's lease the bag goes ``FAILED -> PENDING`` (written first, so a crash
leaves a bag the reconciler settles), then through the same fan-out and merge as a create
(``fanout.py``, ``merge.py``): ``IN_PROGRESS``, ``FAILED`` or ``UNKNOWN``, the cart's errors
for that bag replaced by the new outcome's. A failed retry keeps the cart (200 with the bag
``FAILED`` again): unlike a create, there is a cart the app already holds.

Only a ``FAILED`` bag is retried (anything else is 409 ``bag_not_retryable``), and not while an
external cart it made earlier is still in the outbox: on Elastic Path the retry reuses the bag's
id as the cart's reference, which that pending delete would remove. Nor, ever, a bag with an
``unknown_create`` entry in any state (pending, ``dead`` or ``undetectable``): its first create
may have made a cart that cannot be found again (Shopify, BigCommerce mint the ids), and a
second create for the same bag would make a second cart. Such a bag stays ``FAILED``; an add
of its merchant's SKU makes a new bag (``lines/new_bag.py``).
"""

from __future__ import annotations

import time
from datetime import timedelta

import structlog

from bags import Bag, BagStatus, Cart, CartStatus
from errors import (
    Conflict,
    ErrorCode,
    NotFound,
    PlatformAuthFailed,
    PlatformError,
    PlatformRejected,
)
from orchestrator.service.cart_lock import busy
from orchestrator.service.context import UseCaseContext
from orchestrator.service.deletion import own_outcome
from orchestrator.service.fanout import BagOutcome, creation_call, fan_out
from orchestrator.service.merge import apply_outcome, error_factory
from orchestrator.service.secrets import CredentialsUnreadable, new_id
from orchestrator.store import StaleCart

log = structlog.get_logger("multicart.bag_retry")


UNKNOWN_FIRST_CREATE = (
    "the outcome of this bag's first create is unknown: the platform may hold a cart it made,"
    " and a create under the same bag could make a second one"
)


def not_retryable(bag: Bag, message: str, **data: str) -> Conflict:
    return Conflict(
        message, kind=ErrorCode.BAG_NOT_RETRYABLE, data={"status": bag.status.value, **data}
    )


class BagRetry:
    def __init__(self, context: UseCaseContext) -> None:
        self._ctx = context

    async def _load(self, app_id: str, cart_id: str, bag_id: str) -> tuple[Cart, Bag]:
        """The cart and its FAILED bag, or the 404 / 409 saying why not."""
        cart = await self._ctx.store.carts.get(app_id, cart_id)
        if cart is None:
            raise NotFound(f"No cart {cart_id!r}.", kind=ErrorCode.CART_NOT_FOUND)
        bag = cart.bag(bag_id)
        if bag is None:
            raise NotFound(f"No bag {bag_id!r} in cart {cart_id!r}.", kind=ErrorCode.BAG_NOT_FOUND)
        if cart.status is CartStatus.EXPIRED:
            raise Conflict("The cart has expired and cannot change.", kind=ErrorCode.CART_EXPIRED)
        if bag.status is not BagStatus.FAILED:
            raise not_retryable(bag, f"Only a FAILED bag can be retried; this one is {bag.status}.")
        return cart, bag

    async def retry(self, app_id: str, cart_id: str, bag_id: str) -> Cart:
        deadline = time.monotonic() + self._ctx.settings.request_deadline_s
        await self._load(app_id, cart_id, bag_id)  # 404 and 409 before taking the lease
        async with self._ctx.deleter.cart_lease(cart_id):
            cart, bag = await self._load(app_id, cart_id, bag_id)  # the latest, under the lease
            held = await self._ctx.store.references.bag_outbox(bag.id)
            if held.unknown_creates:
                raise not_retryable(
                    bag,
                    "This bag's first create may have made an external cart that cannot be"
                    " found again; it is never created again under this bag's id (add the"
                    " merchant's SKU to the cart: a new bag is made for it).",
                    outbox="unknown_create",
                    reason=UNKNOWN_FIRST_CREATE,
                )
            if held.pending:
                raise not_retryable(
                    bag,
                    "An external cart this bag made earlier is still being removed; retry shortly.",
                    outbox="pending",
                )
            if not bag.skus:  # replaced by a new bag of the merchant, which took its lines
                raise not_retryable(
                    bag,
                    "This bag holds no lines: its merchant's lines are in a newer bag.",
                    reason="the bag holds no lines",
                )
            with structlog.contextvars.bound_contextvars(cart_id=cart.id, bag_id=bag.id):
                return await self._run(cart, bag, deadline)

    async def _run(self, cart: Cart, bag: Bag, deadline: float) -> Cart:
        # PENDING is written before any platform call, the bag's old errors dropped with it.
        cart.errors = [e for e in cart.errors if e.bag_id != bag.id]
        bag.move_to(BagStatus.PENDING)
        bag.platform_sub_total = None
        self._touch(cart)
        try:
            await self._ctx.store.carts.save(cart)
        except StaleCart:  # the lease ran out and another change won: nothing was sent
            raise busy() from None

        outcome = await self._create(cart, bag, deadline)
        answered = self._ctx.clock()
        apply_outcome(bag, outcome, cart, error_factory(cart, answered, new_id), answered)
        if outcome.error is None:
            log.info("bag_retried", outcome="IN_PROGRESS", external_id=bag.external_id)
        else:
            log.warning("bag_retried", outcome=str(bag.status), cause=str(outcome.error.cause))
        self._touch(cart)
        try:
            await self._ctx.store.carts.save(cart)
        except Exception as exc:
            return await self._read_back(cart, bag, exc, deadline)
        return cart

    async def _read_back(self, cart: Cart, bag: Bag, exc: Exception, deadline: float) -> Cart:
        """The outcome could not be saved (the lease ran out and another change won, or the
        database failed): what this retry made is queued for deletion unless the database
        shows the bag holding it, as a create's would be (``deletion.after_failed_write``)."""
        made = self._ctx.deleter.entries(cart.id, [bag]) if bag.external_id else []
        read = await self._ctx.deleter.after_failed_write(
            cart.id, made, exc, deadline, outcome=own_outcome(cart, [bag])
        )
        stored = read.on_record([bag.id])
        if stored is not None:
            return stored  # on record: only the write's answer was lost
        if isinstance(exc, StaleCart):
            raise Conflict(
                "The cart changed while its bag was being retried; retry shortly.",
                kind=ErrorCode.CART_BUSY,
                headers={"Retry-After": "1"},
            ) from None
        raise exc

    async def _create(self, cart: Cart, bag: Bag, deadline: float) -> BagOutcome:
        platform = str(bag.platform)
        row = await self._ctx.store.catalog.get_merchant(bag.merchant_id)
        error: PlatformError
        if row is None:
            error = PlatformRejected(
                "the merchant no longer exists; nothing was sent", platform=platform
            )
            return BagOutcome(bag.id, error=error)
        try:
            adapter = self._ctx.merchants.adapter_for(*row)
        except CredentialsUnreadable:
            error = PlatformAuthFailed(
                "this merchant's credentials cannot be read by the service (its encryption key"
                " is no longer configured); nothing was sent",
                platform=platform,
                may_have_applied=False,
            )
            return BagOutcome(bag.id, error=error)
        call = creation_call(adapter, cart, bag, deadline)
        return (await fan_out([(bag.id, platform, call)], deadline))[bag.id]

    def _touch(self, cart: Cart) -> None:
        now = self._ctx.clock()
        cart.date_last_modified = now
        cart.expires_at = now + timedelta(days=self._ctx.settings.cart_ttl_days)
