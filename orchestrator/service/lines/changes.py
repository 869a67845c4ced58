"""The platform step and the ``Record`` of each line change: add, set quantity, remove.

See the package's docstring for the rules they share; an add for a merchant without a live
bag is ``new_bag.py``'s.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from adapters import CartPlatform, ExternalCart, LineRequest
from bags import Bag, BagStatus, Cart, OrderSku, sku_problem
from errors import (
    ErrorCode,
    FieldProblem,
    InvalidRequest,
    InvalidSkus,
    NotFound,
    PlatformAuthFailed,
    PlatformError,
)
from orchestrator.service.context import UseCaseContext
from orchestrator.service.lines.new_bag import NewBags
from orchestrator.service.lines.records import ADD, REMOVE, UPDATE, LineRecords, Record
from orchestrator.service.lines.refusals import settling, too_many, unreadable
from orchestrator.service.lines.sync import Settled, change, find_held
from orchestrator.service.secrets import new_id
from orchestrator.store import PendingExternalDelete

_UNSETTLED = (BagStatus.PENDING, BagStatus.UNKNOWN)
# No external cart to change (FAILED: never made; EXPIRED: the platform dropped it).
_NO_EXTERNAL = (BagStatus.FAILED, BagStatus.EXPIRED)


class LineChanges:
    def __init__(self, context: UseCaseContext) -> None:
        self._ctx = context
        self._records = LineRecords(context.deleter, context.clock)
        self._new_bags = NewBags(context)

    def check_quantity(self, quantity: int) -> None:
        if quantity > self._ctx.settings.max_quantity:
            raise too_many(quantity, self._ctx.settings.max_quantity)

    async def add(self, cart: Cart, sku_id: str, quantity: int, deadline: float) -> Record:
        catalog, owners = await self._ctx.store.catalog.lookup({sku_id})
        sku = catalog.get(sku_id)
        problem = sku_problem(sku_id, sku, cart.currency, "sku_id")
        if problem is not None or sku is None:
            raise InvalidSkus([problem] if problem else [])
        bag = _merchant_bag(cart, sku.merchant_id)
        line = bag.line_for_sku(sku_id) if bag is not None else None
        self._check_room(cart, bag, line, quantity)
        if bag is None or bag.status in _NO_EXTERNAL:
            return await self._new_bags.make(cart, bag, sku, quantity, owners, deadline)
        if bag.status in _UNSETTLED:
            raise settling(self._ctx.settings)
        adapter = await self._adapter(bag)
        if isinstance(adapter, PlatformError):
            return self._records.refused(bag.id, sku_id, ADD, adapter)
        assert bag.external_id is not None
        held_id, held_qty = (line.external_id, line.quantity) if line else (None, 0)
        if line is not None and held_id is None:  # not known to be held: ask the platform
            try:
                found = await find_held(adapter, bag, sku.platform_ref, deadline)
            except PlatformError as exc:
                return self._records.refused(bag.id, sku_id, ADD, exc)
            held_id, held_qty = (found.external_id, found.quantity) if found else (None, 0)
        wanted = held_qty + quantity
        if wanted > self._ctx.settings.max_quantity:
            raise too_many(wanted, self._ctx.settings.max_quantity)
        ext = bag.external_id
        write = (
            _set_line(adapter, ext, held_id, wanted, sku.platform_ref)
            if held_id is not None
            else _add_line(adapter, ext, LineRequest(sku.platform_ref, quantity, sku_id, sku.name))
        )
        settled = await change(adapter, ext, write, deadline)

        def record(c: Cart) -> list[PendingExternalDelete]:
            b = c.bag(bag.id)
            if b is None or b.status != BagStatus.IN_PROGRESS:
                return []
            if settled.gone:  # no cart there: the bag is EXPIRED, the next add makes it again
                self._records.expire(c, b, sku_id, ADD, settled)
                return []
            ln = b.line_for_sku(sku_id)
            if ln is None:
                ln = OrderSku(new_id("osk"), sku_id, sku.name, 0, sku.price, 0, sku.platform_ref)
                ln.available = False
                b.skus.append(ln)
            self._records.fold(c, b, ln, settled, wanted, ADD)
            if (
                ln.external_id is None
                and ln.quantity == 0
                and not settled.unknown
                and held_qty == 0
            ):
                b.skus.remove(ln)  # certainly not on the platform: no line, the error says why
            return []

        return record

    # --- set quantity and remove ----------------------------------------------------------

    async def set_quantity(
        self, cart: Cart, order_sku_id: str, quantity: int, deadline: float
    ) -> Record:
        if quantity == 0:
            return await self.remove(cart, order_sku_id, deadline)
        bag, line = _find(cart, order_sku_id)
        if bag.status in _UNSETTLED:
            raise settling(self._ctx.settings)
        if bag.status in _NO_EXTERNAL:  # no external cart: only our record changes
            line_id = line.id

            def record_failed(c: Cart) -> list[PendingExternalDelete]:
                found = c.find_line(line_id)
                if found is not None:
                    found[1].quantity = quantity
                    found[1].line_price = found[1].price * quantity
                return []

            return record_failed
        reached = await self._reach(bag, line, UPDATE, deadline)
        if not isinstance(reached, tuple):
            return reached
        adapter, ext, held_id = reached
        # A line not on the platform (it refused it earlier) is put there.
        request = LineRequest(line.platform_ref, quantity, line.sku_id, line.name)
        write = (
            _set_line(adapter, ext, held_id, quantity, line.platform_ref)
            if held_id is not None
            else _add_line(adapter, ext, request)
        )
        settled = await change(adapter, ext, write, deadline)
        return self._records.line(bag.id, line.id, settled, quantity, UPDATE)

    async def remove(self, cart: Cart, order_sku_id: str, deadline: float) -> Record:
        bag, line = _find(cart, order_sku_id)
        if bag.status in _UNSETTLED:
            raise settling(self._ctx.settings)
        bag_id, line_id = bag.id, line.id
        others = [s for s in bag.skus if s.id != line_id and s.external_id is not None]
        if bag.status in _NO_EXTERNAL or not others:
            # The bag's last held line: the bag is emptied, its external cart deleted through
            # the outbox (in the same transaction as the record, then tried at once).
            def record_emptied(c: Cart) -> list[PendingExternalDelete]:
                b = c.bag(bag_id)
                if b is None or b.status == BagStatus.DELETED:
                    return []
                b.skus = [s for s in b.skus if s.id != line_id]
                if b.status == BagStatus.IN_PROGRESS and any(s.external_id for s in b.skus):
                    return []  # another line was added meanwhile: the bag stays
                if b.skus and b.status in _NO_EXTERNAL:
                    return []
                entries = self._ctx.deleter.entries(c.id, [b])
                b.move_to(BagStatus.DELETED)
                b.skus, b.platform_sub_total = [], None
                return entries

            return record_emptied
        reached = await self._reach(bag, line, REMOVE, deadline)
        if not isinstance(reached, tuple):
            return reached
        adapter, ext, held_id = reached
        if held_id is None:  # not on the platform: only our record holds it
            return self._records.line(bag_id, line_id, Settled(), 0, REMOVE)
        target = held_id

        async def write(d: float) -> ExternalCart | None:
            return await adapter.remove_line(ext, target, deadline=d)

        settled = await change(adapter, ext, write, deadline)
        return self._records.line(bag_id, line_id, settled, 0, REMOVE)

    # --- helpers --------------------------------------------------------------------------

    def _check_room(self, cart: Cart, bag: Bag | None, line: OrderSku | None, qty: int) -> None:
        if line is not None and line.quantity + qty > self._ctx.settings.max_quantity:
            raise too_many(line.quantity + qty, self._ctx.settings.max_quantity)
        counted = [b for b in cart.bags if b.status != BagStatus.DELETED]
        if line is None and sum(len(b.skus) for b in counted) >= self._ctx.settings.max_skus:
            raise InvalidRequest(
                [
                    FieldProblem(
                        "sku_id", f"a cart holds at most {self._ctx.settings.max_skus} lines"
                    )
                ]
            )
        merchants = {b.merchant_id for b in counted}  # a replaced bag's merchant counts once
        if bag is None and len(merchants) >= self._ctx.settings.max_bags:
            raise InvalidRequest(
                [
                    FieldProblem(
                        "sku_id", f"a cart spans at most {self._ctx.settings.max_bags} merchants"
                    )
                ]
            )

    async def _reach(
        self, bag: Bag, line: OrderSku, op: str, deadline: float
    ) -> tuple[CartPlatform, str, str | None] | Record:
        """The bag's adapter, its external cart and the line's id there (asked of the platform
        when we hold none; None when the platform does not hold the line), or the refusal
        ``Record`` when the merchant or the platform cannot be reached."""
        adapter = await self._adapter(bag)
        if isinstance(adapter, PlatformError):
            return self._records.refused(bag.id, line.sku_id, op, adapter)
        assert bag.external_id is not None
        held_id = line.external_id
        if held_id is None:
            try:
                found = await find_held(adapter, bag, line.platform_ref, deadline)
            except PlatformError as exc:
                return self._records.refused(bag.id, line.sku_id, op, exc)
            held_id = found.external_id if found else None
        return adapter, bag.external_id, held_id

    async def _adapter(self, bag: Bag) -> CartPlatform | PlatformError:
        rows = await self._ctx.store.catalog.get_merchants({bag.merchant_id})
        row = rows.get(bag.merchant_id)
        if row is None:
            return PlatformAuthFailed(
                "the merchant no longer exists; nothing was sent",
                platform=str(bag.platform),
                may_have_applied=False,
            )
        try:
            return self._ctx.merchants.adapter_for(*row)
        except ValueError:
            return unreadable(str(bag.platform))


def _merchant_bag(cart: Cart, merchant_id: str) -> Bag | None:
    """The merchant's bag that counts (any status but DELETED): the newest, since a bag whose
    first create's outcome is unknown stays, ``FAILED``, beside the one that replaced it."""
    mine = [b for b in cart.bags if b.merchant_id == merchant_id and b.status != BagStatus.DELETED]
    return mine[-1] if mine else None


def _find(cart: Cart, order_sku_id: str) -> tuple[Bag, OrderSku]:
    found = cart.find_line(order_sku_id)
    if found is None:
        raise NotFound(
            f"No line {order_sku_id!r} in this cart.", kind=ErrorCode.ORDER_SKU_NOT_FOUND
        )
    return found


Write = Callable[[float], Awaitable[ExternalCart | None]]


def _set_line(
    adapter: CartPlatform, ext: str, line_id: str, quantity: int, platform_ref: Mapping[str, Any]
) -> Write:
    """The platform's line ``line_id`` set to ``quantity``: an absolute update, safe to repeat."""

    async def write(deadline: float) -> ExternalCart | None:
        return await adapter.update_line(
            ext, line_id, quantity, platform_ref=platform_ref, deadline=deadline
        )

    return write


def _add_line(adapter: CartPlatform, ext: str, request: LineRequest) -> Write:
    async def write(deadline: float) -> ExternalCart | None:
        return await adapter.add_lines(ext, [request], deadline=deadline)

    return write
