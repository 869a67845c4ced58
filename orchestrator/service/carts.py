"""Cart use cases: create (validate, split, persist, fan out, merge), get, list, delete.

The service speaks domain objects and raises ``errors`` types; it knows nothing of HTTP.
Everything it needs arrives through the constructor (one composition root,
``orchestrator.http.app``); merchants' adapters come from ``merchants.py``, deletes go through
``deletion.py``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

import structlog

from adapters import CartContext, CartPlatform, LineRequest
from bags import Bag, Cart, CartStatus, Limits, RequestedLine, check_lines, split_into_bags
from config import Settings
from errors import (
    ApiError,
    ErrorCode,
    ExternalCartCreationFailure,
    FieldProblem,
    InvalidRequest,
    NotFound,
    PlatformAuthFailed,
    PlatformError,
    PlatformRejected,
)
from orchestrator.service.cart_lock import busy
from orchestrator.service.clock import utcnow
from orchestrator.service.deletion import ExternalDeleter
from orchestrator.service.expiry import show_platform_expiry
from orchestrator.service.fanout import BagOutcome, fan_out
from orchestrator.service.merchants import MerchantAdapters
from orchestrator.service.merge import (
    apply_created,
    apply_failed,
    apply_unknown,
    creation_failure,
    error_factory,
)
from orchestrator.service.secrets import CredentialsUnreadable, new_id
from orchestrator.store import StaleCart, Store

log = structlog.get_logger("multicart.carts")
_LEASE_MARGIN_S = 5.0  # past the create's deadline, for its last writes
_DELETE_ATTEMPTS = 3  # reads of a cart that keeps changing under a DELETE, then cart_busy


@dataclass
class CreateCart:
    lines: Sequence[RequestedLine]
    currency: str
    customer_id: str | None = None
    name: str | None = None
    app_order_id: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    all_or_nothing: bool = False


class CartService:
    def __init__(
        self,
        store: Store,
        merchants: MerchantAdapters,
        settings: Settings,
        deleter: ExternalDeleter,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._store = store
        self._merchants = merchants
        self._settings = settings
        self._deleter = deleter
        self._clock = clock
        self._limits = Limits(settings.max_skus, settings.max_bags, settings.max_quantity)
        self._ttl = timedelta(days=settings.cart_ttl_days)

    async def create(self, app_id: str, command: CreateCart) -> Cart:
        deadline = time.monotonic() + self._settings.create_deadline_s
        merged = check_lines(command.lines, self._limits)  # bounds first: no I/O for those
        catalog, merchant_rows = await self._store.catalog.lookup({ln.sku_id for _, ln in merged})
        merchants = {mid: row[0] for mid, row in merchant_rows.items()}
        bags = split_into_bags(merged, catalog, merchants, command.currency, self._limits, new_id)
        now = self._clock()
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
        structlog.contextvars.bind_contextvars(cart_id=cart.id)
        if not bags:
            await self._store.carts.insert(cart)
            return cart
        # Built before anything is written. A merchant whose connection no key of ours opens
        # (a key rotated away) fails its bags alone, before any call: nothing was sent.
        adapters: dict[str, CartPlatform] = {}
        unreadable: dict[str, BagOutcome] = {}
        for bag in bags:
            try:
                adapters[bag.id] = self._merchants.adapter_for(*merchant_rows[bag.merchant_id])
            except CredentialsUnreadable:
                log.error("merchant_credentials_unreadable", merchant_id=bag.merchant_id)
                unreadable[bag.id] = BagOutcome(
                    bag.id,
                    error=PlatformAuthFailed(
                        "this merchant's credentials cannot be read by the service (its"
                        " encryption key is no longer configured); nothing was sent",
                        platform=str(bag.platform),
                        may_have_applied=False,
                    ),
                )
        # PENDING bags exist before any platform call, and the cart is born leased until the
        # create's deadline (and a margin), so a DELETE meanwhile answers cart_busy.
        lease_s = self._settings.create_deadline_s + _LEASE_MARGIN_S  # on the database's clock
        lease_owner = new_id("lease")
        await self._store.carts.insert(cart, lease=(lease_owner, lease_s))
        calls = [
            (bag.id, str(bag.platform), creation_call(adapters[bag.id], cart, bag, deadline))
            for bag in bags
            if bag.id in adapters
        ]
        outcomes = {**unreadable, **(await fan_out(calls, deadline) if calls else {})}
        await self._refuse_other_currencies(cart, bags, outcomes, deadline)

        answered = self._clock()
        new_error = error_factory(cart, answered, new_id)
        failed: list[tuple[Bag, PlatformError]] = []
        for bag in bags:
            outcome = outcomes[bag.id]
            if outcome.cart is not None:
                apply_created(bag, outcome.cart, cart, new_error)
                bag.platform_changed_at = answered  # the platform's own expiry counts from here
            else:
                assert outcome.error is not None
                failed.append((bag, outcome.error))
                if outcome.error.may_have_applied:
                    apply_unknown(bag, outcome.error, cart, new_error)
                else:
                    apply_failed(bag, outcome.error, cart, new_error)
            (log.info if outcome.cart else log.warning)(  # a failed bag is an operator's concern
                "bag_created" if outcome.cart else "bag_failed",
                bag_id=bag.id,
                merchant_id=bag.merchant_id,
                platform=str(bag.platform),
                external_id=bag.external_id,
                cause=str(outcome.error.cause) if outcome.error else None,
            )

        try:
            if failed and (len(bags) == 1 or command.all_or_nothing):
                # No cart is kept; what its bags made (or may have made) goes to the outbox
                # in the same transaction that removes the record.
                await self._deleter.discard(cart.id, bags, deadline)
                raise creation_failure(failed)
            await self._store.carts.record_creation(cart, lease_owner=lease_owner)
        except (ExternalCartCreationFailure, asyncio.CancelledError):
            raise
        except Exception as exc:
            return await self._after_failed_write(
                cart, bags, failed, exc, lease_owner, deadline, command.all_or_nothing
            )
        return cart

    async def _after_failed_write(
        self,
        cart: Cart,
        bags: Sequence[Bag],
        failed: Sequence[tuple[Bag, PlatformError]],
        exc: Exception,
        lease_owner: str,
        deadline: float,
        all_or_nothing: bool,
    ) -> Cart:
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
        made = [b for b in bags if b.external_id]
        discarding = bool(failed) and (len(bags) == 1 or all_or_nothing)
        read = await self._deleter.after_failed_write(
            cart.id,
            self._deleter.entries(cart.id, made),
            exc,
            deadline,
            lease_owner=lease_owner,
            outcome=None if discarding else cart,
        )
        if read.stored is None:
            if failed:
                raise creation_failure(list(failed)) from None  # the discard had committed
            raise exc
        if read.stored.status is not CartStatus.IN_PROGRESS:
            raise ApiError(
                "The cart expired or was deleted while it was being created; what it made on"
                " the platforms is being removed.",
                kind=ErrorCode.CART_EXPIRED,
            ) from None
        recorded = read.on_record([b.id for b in bags])
        if recorded is not None or isinstance(exc, StaleCart):
            # On record (the write's answer was lost, or the reconciler adopted the bags),
            # or changed by another request after this create's lease ran out: the cart as
            # it stands (a bag whose cart was queued reads FAILED).
            log.warning("create_outcome_read_back", error=type(exc).__name__)
            return show_platform_expiry(read.stored, self._clock())
        raise exc

    async def _refuse_other_currencies(
        self, cart: Cart, bags: Sequence[Bag], outcomes: dict[str, BagOutcome], deadline: float
    ) -> None:
        """A cart the platform prices in another currency (a Shopify shop takes no currency on
        create: its own is used) is no cart of ours: its amounts would be summed as the cart's.
        The bag fails, and the external cart is queued for deletion before anything else is
        written."""
        made: list[Bag] = []
        for bag in bags:
            external = outcomes[bag.id].cart
            if external is None or external.currency == bag.currency:
                continue
            made.append(replace(bag, external_id=external.external_id, skus=[]))
            outcomes[bag.id] = BagOutcome(
                bag.id,
                error=PlatformRejected(
                    f"{bag.platform} priced the cart in {external.currency or 'no currency'};"
                    f" this cart is in {bag.currency}",
                    platform=str(bag.platform),
                    may_have_applied=False,
                ),
            )
        if made:
            await self._deleter.enqueue(cart.id, made, deadline)

    async def get(self, app_id: str, cart_id: str) -> Cart:
        """The cart as it stands now: a bag whose external cart its platform has expired
        reads ``EXPIRED`` (``expiry.show_platform_expiry``; no platform call)."""
        cart = await self._store.carts.get(app_id, cart_id)
        if cart is None:
            raise NotFound(f"No cart {cart_id!r}.", kind=ErrorCode.CART_NOT_FOUND)
        return show_platform_expiry(cart, self._clock())

    async def list(
        self,
        app_id: str,
        *,
        customer_id: str | None,
        status: CartStatus | None,
        limit: int,
        cursor: str | None,
    ) -> tuple[list[Cart], str | None]:
        try:
            carts, next_cursor = await self._store.carts.page(
                app_id, customer_id=customer_id, status=status, limit=limit, cursor=cursor
            )
        except ValueError as exc:
            raise InvalidRequest([FieldProblem("cursor", "not a cursor this API issued")]) from exc
        now = self._clock()
        return [show_platform_expiry(c, now) for c in carts], next_cursor

    async def delete(self, app_id: str, cart_id: str) -> None:
        """Delete the cart and its external carts; failed external deletes retry in background."""
        deadline = time.monotonic() + self._settings.request_deadline_s
        await self.get(app_id, cart_id)  # 404 before anything else, for unknown and foreign ids
        async with self._deleter.cart_lease(cart_id):
            for _ in range(_DELETE_ATTEMPTS):
                cart = await self.get(app_id, cart_id)  # under the lease: the latest version
                try:
                    await self._deleter.delete_cart(cart, self._clock(), deadline)
                    return
                except StaleCart:
                    # A create that overran its lease recorded its outcome meanwhile (it
                    # does not take the lease back): read again, delete what it recorded.
                    continue
        raise busy()


def creation_call(
    adapter: CartPlatform, cart: Cart, bag: Bag, deadline: float
) -> Callable[[], Any]:
    """The create of ``bag``'s external cart, under the bag's id as its reference."""
    lines = [
        LineRequest(platform_ref=s.platform_ref, quantity=s.quantity, sku_id=s.sku_id, name=s.name)
        for s in bag.skus
    ]
    context = CartContext(
        cart_id=cart.id, bag_id=bag.id, customer_id=cart.customer_id, name=cart.name
    )

    def call() -> Any:
        return adapter.create_cart(
            lines, currency=bag.currency, deadline=deadline, cart_ref=bag.id, context=context
        )

    return call
