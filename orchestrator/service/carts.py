"""Cart use cases seen from the app: create (``creation.py``), get, list, delete.

The service speaks domain objects and raises ``errors`` types; it knows nothing of HTTP.
What it runs on arrives as one ``UseCaseContext`` from the composition root
(``orchestrator/bootstrap.py``); deletes go through ``deletion.py``.
"""

from __future__ import annotations

import time

import structlog

from bags import Cart, CartStatus
from errors import ErrorCode, FieldProblem, InvalidRequest, NotFound
from orchestrator.service.cart_lock import busy
from orchestrator.service.context import UseCaseContext
from orchestrator.service.creation import CartCreation, CreateCart
from orchestrator.service.expiry import show_platform_expiry
from orchestrator.store import StaleCart

log = structlog.get_logger("multicart.carts")
_DELETE_ATTEMPTS = 3  # reads of a cart that keeps changing under a DELETE, then cart_busy


class CartService:
    """A cart's life seen from its app: create (``creation.py``), read, list, delete."""

    def __init__(self, context: UseCaseContext) -> None:
        self._ctx = context
        self._creation = CartCreation(context)

    async def create(self, app_id: str, command: CreateCart) -> Cart:
        return await self._creation.create(app_id, command)

    async def get(self, app_id: str, cart_id: str) -> Cart:
        """The cart as it stands now: a bag whose external cart its platform has expired
        reads ``EXPIRED`` (``expiry.show_platform_expiry``; no platform call)."""
        cart = await self._ctx.store.carts.get(app_id, cart_id)
        if cart is None:
            raise NotFound(f"No cart {cart_id!r}.", kind=ErrorCode.CART_NOT_FOUND)
        return show_platform_expiry(cart, self._ctx.clock())

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
            carts, next_cursor = await self._ctx.store.carts.page(
                app_id, customer_id=customer_id, status=status, limit=limit, cursor=cursor
            )
        except ValueError as exc:
            raise InvalidRequest([FieldProblem("cursor", "not a cursor this API issued")]) from exc
        now = self._ctx.clock()
        return [show_platform_expiry(c, now) for c in carts], next_cursor

    async def delete(self, app_id: str, cart_id: str) -> None:
        """Delete the cart and its external carts; failed external deletes retry in background."""
        deadline = time.monotonic() + self._ctx.settings.request_deadline_s
        await self.get(app_id, cart_id)  # 404 before anything else, for unknown and foreign ids
        async with self._ctx.deleter.cart_lease(cart_id):
            for _ in range(_DELETE_ATTEMPTS):
                cart = await self.get(app_id, cart_id)  # under the lease: the latest version
                try:
                    await self._ctx.deleter.delete_cart(cart, self._ctx.clock(), deadline)
                    return
                except StaleCart:
                    # A create that overran its lease recorded its outcome meanwhile (it
                    # does not take the lease back): read again, delete what it recorded.
                    continue
        raise busy()
