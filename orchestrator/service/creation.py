"""Creating a cart: build it, persist it, fan its bags out to their platforms, record the outcome.

Four steps, in this order because of what each must be true before the next: the cart and its
``PENDING`` bags are written (leased until the create's deadline) before any platform call, so
an external cart can never exist without a bag naming it or an outbox entry; the fan-out runs
every bag's create concurrently; the outcome is recorded in one write, or, when that write
fails, read back and decided from what the database holds (``_after_failed_write``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta

import structlog

from adapters import CartPlatform
from bags import (
    Bag,
    Cart,
    CartStatus,
    Limits,
    Merchant,
    RequestedLine,
    check_lines,
    split_into_bags,
)
from errors import (
    ApiError,
    ErrorCode,
    ExternalCartCreationFailure,
    PlatformAuthFailed,
    PlatformError,
    PlatformRejected,
)
from orchestrator.service.context import UseCaseContext
from orchestrator.service.expiry import show_platform_expiry
from orchestrator.service.fanout import BagOutcome, creation_call, fan_out
from orchestrator.service.merge import apply_outcome, creation_failure, error_factory
from orchestrator.service.secrets import CredentialsUnreadable, new_id
from orchestrator.store import StaleCart

log = structlog.get_logger("multicart.carts")
_LEASE_MARGIN_S = 5.0  # past the create's deadline, for its last writes


@dataclass
class CreateCart:
    lines: Sequence[RequestedLine]
    currency: str
    customer_id: str | None = None
    name: str | None = None
    app_order_id: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    all_or_nothing: bool = False


@dataclass
class _Creation:
    """One create in flight: its cart, the adapters of its bags, and what it has learnt."""

    command: CreateCart
    cart: Cart
    deadline: float
    adapters: dict[str, CartPlatform] = field(default_factory=dict)
    outcomes: dict[str, BagOutcome] = field(default_factory=dict)
    failed: list[tuple[Bag, PlatformError]] = field(default_factory=list)
    lease_owner: str = ""

    @property
    def bags(self) -> list[Bag]:
        return self.cart.bags

    @property
    def discarding(self) -> bool:
        """No cart is kept: a single bag failed, or any bag of an all-or-nothing cart."""
        return bool(self.failed) and (len(self.bags) == 1 or self.command.all_or_nothing)


class CartCreation:
    def __init__(self, context: UseCaseContext) -> None:
        self._ctx = context
        settings = context.settings
        self._limits = Limits(settings.max_skus, settings.max_bags, settings.max_quantity)
        self._ttl = timedelta(days=settings.cart_ttl_days)

    async def create(self, app_id: str, command: CreateCart) -> Cart:
        deadline = time.monotonic() + self._ctx.settings.create_deadline_s
        creation, merchant_rows = await self._build(app_id, command, deadline)
        structlog.contextvars.bind_contextvars(cart_id=creation.cart.id)
        if not creation.bags:
            await self._ctx.store.carts.insert(creation.cart)
            return creation.cart
        self._open_adapters(creation, merchant_rows)
        await self._persist(creation)
        await self._fan_out(creation)
        self._apply(creation)
        return await self._record(creation)

    async def _build(
        self, app_id: str, command: CreateCart, deadline: float
    ) -> tuple[_Creation, dict[str, tuple[Merchant, bytes]]]:
        """The cart and its bags, from the catalog: nothing is written yet."""
        merged = check_lines(command.lines, self._limits)  # bounds first: no I/O for those
        catalog, merchant_rows = await self._ctx.store.catalog.lookup(
            {ln.sku_id for _, ln in merged}
        )
        merchants = {mid: row[0] for mid, row in merchant_rows.items()}
        bags = split_into_bags(merged, catalog, merchants, command.currency, self._limits, new_id)
        now = self._ctx.clock()
        cart = Cart(
            id=new_id("cart"),
            app_id=app_id,
            currency=command.currency,
            date_created=now,
            date_last_modified=now,
            expires_at=now + self._ttl,
            customer_id=command.customer_id,
            name=command.name,
            app_order_id=command.app_order_id,
            metadata=dict(command.metadata),
            bags=bags,
        )
        return _Creation(command, cart, deadline), merchant_rows

    def _open_adapters(
        self, creation: _Creation, merchant_rows: dict[str, tuple[Merchant, bytes]]
    ) -> None:
        """Each bag's adapter, before anything is written. A merchant whose connection no key
        of ours opens (a key rotated away) fails its bags alone, before any call: nothing was
        sent."""
        for bag in creation.bags:
            merchant, sealed = merchant_rows[bag.merchant_id]
            try:
                creation.adapters[bag.id] = self._ctx.merchants.adapter_for(merchant, sealed)
            except CredentialsUnreadable:
                log.error("merchant_credentials_unreadable", merchant_id=bag.merchant_id)
                creation.outcomes[bag.id] = BagOutcome(
                    bag.id,
                    error=PlatformAuthFailed(
                        "this merchant's credentials cannot be read by the service (its"
                        " encryption key is no longer configured); nothing was sent",
                        platform=str(bag.platform),
                        may_have_applied=False,
                    ),
                )

    async def _persist(self, creation: _Creation) -> None:
        """``PENDING`` bags exist before any platform call, and the cart is born leased until
        the create's deadline (and a margin), so a DELETE meanwhile answers cart_busy."""
        lease_s = self._ctx.settings.create_deadline_s + _LEASE_MARGIN_S  # the database's clock
        creation.lease_owner = new_id("lease")
        await self._ctx.store.carts.insert(creation.cart, lease=(creation.lease_owner, lease_s))

    async def _fan_out(self, creation: _Creation) -> None:
        cart, deadline, adapters = creation.cart, creation.deadline, creation.adapters
        calls = [
            (bag.id, str(bag.platform), creation_call(adapters[bag.id], cart, bag, deadline))
            for bag in creation.bags
            if bag.id in adapters
        ]
        if calls:
            creation.outcomes.update(await fan_out(calls, deadline))
        await self._refuse_other_currencies(creation)

    def _apply(self, creation: _Creation) -> None:
        """Each bag takes its outcome; the failed ones are kept for the answer."""
        answered = self._ctx.clock()
        new_error = error_factory(creation.cart, answered, new_id)
        for bag in creation.bags:
            outcome = creation.outcomes[bag.id]
            apply_outcome(bag, outcome, creation.cart, new_error, answered)
            if outcome.error is not None:
                creation.failed.append((bag, outcome.error))
            (log.info if outcome.cart else log.warning)(  # a failed bag is an operator's concern
                "bag_created" if outcome.cart else "bag_failed",
                bag_id=bag.id,
                merchant_id=bag.merchant_id,
                platform=str(bag.platform),
                external_id=bag.external_id,
                cause=str(outcome.error.cause) if outcome.error else None,
            )

    async def _record(self, creation: _Creation) -> Cart:
        try:
            if creation.discarding:
                # No cart is kept; what its bags made (or may have made) goes to the outbox
                # in the same transaction that removes the record.
                await self._ctx.deleter.discard(creation.cart.id, creation.bags, creation.deadline)
                raise creation_failure(creation.failed)
            await self._ctx.store.carts.record_creation(
                creation.cart, lease_owner=creation.lease_owner
            )
        except (ExternalCartCreationFailure, asyncio.CancelledError):
            raise
        except Exception as exc:
            return await self._after_failed_write(creation, exc)
        return creation.cart

    async def _after_failed_write(self, creation: _Creation, exc: Exception) -> Cart:
        """The outcome write raised: what the platforms made is recorded, kept or queued for
        deletion by what the database holds now (``store/read_back.py``), never because "it
        raised" alone. The answer follows the same reading:

        - the outcome is on record (the write had committed and only its answer was lost; the
          read-back recorded it for the bags still ``PENDING``; or the reconciler adopted
          them after this create's lease ran out): the cart as stored;
        - the record is gone while this create was discarding it: the creation failure;
        - the cart was deleted or expired meanwhile: 409 ``cart_expired`` (a stored answer:
          a retry with the same ``Idempotency-Key`` never makes a second cart);
        - otherwise the write's own error: the bags whose carts were queued are ``FAILED``;
          a bag still ``PENDING`` is the reconciler's, which adopts no reference the outbox
          names."""
        cart, deleter = creation.cart, self._ctx.deleter
        made = [b for b in creation.bags if b.external_id]
        read = await deleter.after_failed_write(
            cart.id,
            deleter.entries(cart.id, made),
            exc,
            creation.deadline,
            lease_owner=creation.lease_owner,
            outcome=None if creation.discarding else cart,
        )
        if read.stored is None:
            if creation.failed:
                raise creation_failure(creation.failed) from None  # the discard had committed
            raise exc
        if read.stored.status is not CartStatus.IN_PROGRESS:
            raise ApiError(
                "The cart expired or was deleted while it was being created; what it made on"
                " the platforms is being removed.",
                kind=ErrorCode.CART_EXPIRED,
            ) from None
        recorded = read.on_record([b.id for b in creation.bags])
        if recorded is not None or isinstance(exc, StaleCart):
            # On record (the write's answer was lost, or the reconciler adopted the bags),
            # or changed by another request after this create's lease ran out: the cart as
            # it stands (a bag whose cart was queued reads FAILED).
            log.warning("create_outcome_read_back", error=type(exc).__name__)
            return show_platform_expiry(read.stored, self._ctx.clock())
        raise exc

    async def _refuse_other_currencies(self, creation: _Creation) -> None:
        """A cart the platform prices in another currency (a Shopify shop takes no currency on
        create: its own is used) is no cart of ours: its amounts would be summed as the cart's.
        The bag fails, and the external cart is queued for deletion before anything else is
        written."""
        made: list[Bag] = []
        for bag in creation.bags:
            external = creation.outcomes[bag.id].cart
            if external is None or external.currency == bag.currency:
                continue
            made.append(replace(bag, external_id=external.external_id, skus=[]))
            creation.outcomes[bag.id] = BagOutcome(
                bag.id,
                error=PlatformRejected(
                    f"{bag.platform} priced the cart in {external.currency or 'no currency'};"
                    f" this cart is in {bag.currency}",
                    platform=str(bag.platform),
                    may_have_applied=False,
                ),
            )
        if made:
            await self._ctx.deleter.enqueue(creation.cart.id, made, creation.deadline)
