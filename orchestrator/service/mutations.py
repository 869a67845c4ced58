"""Changing a cart's lines: add a SKU, set a line's quantity, remove a line.

Why a module of its own: a create makes a cart in one go, while these change a live one, which
needs what a create does not: the cart's lease, waited for (``cart_lock.py``), so concurrent
changes queue and none is lost; ``If-Match`` against the cart's version; the expiry check;
and the rule that the external cart changes first and our record second, with what the
platform really holds (``lines/sync.py``). Each use case is two steps: the platform step (under
the lease), then a ``Record`` applied to the cart and saved with the version check. Should the
save find the cart changed anyway (a lease that ran out), the record is applied to a fresh read
and saved again, so a change made on a platform is never left out of our record.

A merchant without a bag (or whose bag FAILED) gets its bag and external cart made here, as a
create makes them; an emptied bag is DELETED and its external cart deleted through the outbox.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

import structlog

from bags import Cart, CartStatus
from errors import ApiError, ErrorCode, NotFound
from errors import Conflict as ConflictError
from orchestrator.service.cart_lock import CartLocks
from orchestrator.service.context import UseCaseContext
from orchestrator.service.expiry import show_platform_expiry
from orchestrator.service.lines import LineChanges, MadeRecord, Record
from orchestrator.store import PendingExternalDelete, StaleCart

log = structlog.get_logger("multicart.mutations")

_SAVE_ATTEMPTS = 3


@dataclass(frozen=True)
class IfMatch:
    """An ``If-Match`` precondition: ``*`` (any current cart) or the versions it names."""

    any: bool = False
    versions: frozenset[int] = frozenset()

    def holds(self, version: int) -> bool:
        return self.any or version in self.versions


class CartMutations:
    def __init__(self, context: UseCaseContext) -> None:
        self._ctx = context
        self._ttl = timedelta(days=context.settings.cart_ttl_days)
        self._locks = CartLocks(context.store, context.settings)
        self._lines = LineChanges(context)

    async def add_sku(
        self, app_id: str, cart_id: str, sku_id: str, quantity: int, if_match: IfMatch | None
    ) -> Cart:
        """Add ``quantity`` of ``sku_id``: to its merchant's bag, or a new bag."""
        self._lines.check_quantity(quantity)
        return await self._mutate(
            app_id, cart_id, if_match, lambda c, d: self._lines.add(c, sku_id, quantity, d)
        )

    async def set_quantity(
        self, app_id: str, cart_id: str, order_sku_id: str, quantity: int, if_match: IfMatch | None
    ) -> Cart:
        """Set a line's quantity; 0 removes the line."""
        self._lines.check_quantity(quantity)
        return await self._mutate(
            app_id,
            cart_id,
            if_match,
            lambda c, d: self._lines.set_quantity(c, order_sku_id, quantity, d),
        )

    async def remove_sku(
        self, app_id: str, cart_id: str, order_sku_id: str, if_match: IfMatch | None
    ) -> Cart:
        return await self._mutate(
            app_id, cart_id, if_match, lambda c, d: self._lines.remove(c, order_sku_id, d)
        )

    async def _mutate(
        self,
        app_id: str,
        cart_id: str,
        if_match: IfMatch | None,
        step: Callable[[Cart, float], Awaitable[Record]],
    ) -> Cart:
        deadline = time.monotonic() + self._ctx.settings.request_deadline_s
        # 404, 412 and 409 before any wait (the same checks again under the lease).
        self._check(await self._load(app_id, cart_id), if_match)
        async with self._locks.hold(cart_id, deadline):
            cart = await self._load(app_id, cart_id)
            self._check(cart, if_match)
            record = await step(cart, deadline)
            try:
                cart, outbox = await self._save(app_id, cart, record)
            except Exception as exc:
                if not isinstance(record, MadeRecord):
                    raise
                cart, outbox = await self._read_back(cart_id, record, exc, deadline), []
        if outbox:
            # The emptied bags' deletes, tried now; whatever fails, the reconciler retries.
            await self._ctx.deleter.attempt(outbox, deadline)
        return cart

    async def _save(
        self, app_id: str, cart: Cart, record: Record
    ) -> tuple[Cart, list[PendingExternalDelete]]:
        """Apply ``record`` and save, on a fresh read when the cart moved on (``StaleCart``),
        and once more when the save itself failed (a failed COMMIT, a dropped connection):
        the platform already holds the change, and a line it holds must not be left out of
        our record. A second such failure is answered."""
        failed_once = False
        for _ in range(_SAVE_ATTEMPTS):
            outbox = record(cart)
            cart.touch(self._ctx.clock(), self._ttl)
            try:
                await self._ctx.store.carts.save(cart, outbox=outbox)
                return cart, outbox
            except StaleCart:
                pass
            except Exception:
                if failed_once:
                    raise
                failed_once = True
                log.warning("line_change_save_retried", cart_id=cart.id)
            fresh = await self._ctx.store.carts.get(app_id, cart.id)
            if fresh is None or fresh.status != CartStatus.IN_PROGRESS:
                raise self._gone(cart.id) from None
            if failed_once and fresh.date_last_modified == cart.date_last_modified:
                # Our save's own timestamp (to the microsecond): it had committed, only its
                # answer was lost; applying the record again would add its errors twice.
                return fresh, outbox
            cart = fresh
        raise ConflictError(
            "The cart kept changing while this change was recorded; read it and retry.",
            kind=ErrorCode.CART_BUSY,
            headers={"Retry-After": "1"},
        )

    async def _read_back(
        self, cart_id: str, record: MadeRecord, exc: Exception, deadline: float
    ) -> Cart:
        """A change that made an external cart could not save it: the cart is queued for
        deletion unless the database shows its bag holding it (the save committed and only its
        answer was lost), decided from what the database holds (``CartStore.queue_unkept``)."""
        read = await self._ctx.deleter.after_failed_write(cart_id, record.made, exc, deadline)
        stored = read.on_record([record.bag_id])
        if stored is None:
            raise exc  # not on record: the bag failed, its cart is being removed
        log.warning("line_change_read_back", error=type(exc).__name__)
        return show_platform_expiry(stored, self._ctx.clock())

    async def _load(self, app_id: str, cart_id: str) -> Cart:
        cart = await self._ctx.store.carts.get(app_id, cart_id)
        if cart is None:
            raise NotFound(f"No cart {cart_id!r}.", kind=ErrorCode.CART_NOT_FOUND)
        # A bag whose external cart the platform dropped reads EXPIRED: an add makes it again.
        return show_platform_expiry(cart, self._ctx.clock())

    def _check(self, cart: Cart, if_match: IfMatch | None) -> None:
        if if_match is not None and not if_match.holds(cart.version):
            raise ApiError(
                f"The cart is at version {cart.version}, not the one If-Match names; nothing"
                " was changed.",
                kind=ErrorCode.PRECONDITION_FAILED,
                data={"version": cart.version},
                headers={"ETag": etag(cart.version)},
            )
        if cart.is_expired(self._ctx.clock()):
            raise ApiError("The cart has expired and cannot change.", kind=ErrorCode.CART_EXPIRED)

    @staticmethod
    def _gone(cart_id: str) -> ApiError:
        return ApiError(
            f"The cart {cart_id!r} expired or was deleted while it was changing.",
            kind=ErrorCode.CART_EXPIRED,
        )


def etag(version: int) -> str:
    """The cart's entity tag (a strong validator, RFC 9110 §8.8.3): its version, quoted."""
    return f'"{version}"'
