"""The three line changes (add, set quantity, remove), each as a platform step and a ``Record``.

Why apart from ``mutations.py``: that module owns the protocol (lease, preconditions, save);
this one the rules of each change, run under the lease on a freshly read cart:

- the platform step validates (catalog, bounds), then changes the external cart: an add to a
  held line sets its new total (an absolute update, safe to repeat) rather than adding again;
  a line our record does not know to be held is looked up on the platform first;
- the ``Record`` returned folds what the platform holds into whichever cart it is given (the
  one read, or a fresh one if the save found it changed), finding bags and lines by id.

Failures are order errors (``EXTERNAL_ADD_ITEM``, ``EXTERNAL_UPDATE_ITEM``,
``EXTERNAL_REMOVE_ITEM``), never the answer's status: the cart answers 200 with what holds.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

import structlog

from adapters import CartPlatform, ExternalCart, LineRequest
from bags import Bag, BagStatus, Cart, CatalogSku, Merchant, OrderSku, sku_problem
from config import Settings
from errors import Conflict as ConflictError
from errors import (
    ErrorCode,
    FieldProblem,
    InvalidRequest,
    InvalidSkus,
    NotFound,
    PlatformAuthFailed,
    PlatformError,
)
from orchestrator.service.cart_lock import busy
from orchestrator.service.carts import creation_call
from orchestrator.service.deletion import ExternalDeleter
from orchestrator.service.fanout import BagOutcome, fan_out
from orchestrator.service.line_records import (
    ADD,
    REMOVE,
    UPDATE,
    LineRecords,
    MadeRecord,
    Record,
)
from orchestrator.service.line_sync import Settled, change, find_held
from orchestrator.service.merchants import MerchantAdapters
from orchestrator.service.merge import apply_created, apply_failed, apply_unknown, error_factory
from orchestrator.service.secrets import new_id
from orchestrator.store import PendingExternalDelete, StaleCart, Store

log = structlog.get_logger("multicart.lines")

_UNSETTLED = (BagStatus.PENDING, BagStatus.UNKNOWN)
# No external cart to change (FAILED: never made; EXPIRED: the platform dropped it).
_NO_EXTERNAL = (BagStatus.FAILED, BagStatus.EXPIRED)


def _nothing(_cart: Cart) -> list[PendingExternalDelete]:
    return []


class LineChanges:
    def __init__(
        self,
        store: Store,
        merchants: MerchantAdapters,
        settings: Settings,
        deleter: ExternalDeleter,
        clock: Callable[[], datetime],
    ) -> None:
        self._store = store
        self._deleter = deleter
        self._merchants = merchants
        self._settings = settings
        self._clock = clock
        self._records = LineRecords(deleter, clock)

    def check_quantity(self, quantity: int) -> None:
        if quantity > self._settings.max_quantity:
            raise _too_many(quantity, self._settings.max_quantity)

    # --- add ------------------------------------------------------------------------------

    async def add(self, cart: Cart, sku_id: str, quantity: int, deadline: float) -> Record:
        catalog, owners = await self._store.catalog.lookup({sku_id})
        sku = catalog.get(sku_id)
        problem = sku_problem(sku_id, sku, cart.currency, "sku_id")
        if problem is not None or sku is None:
            raise InvalidSkus([problem] if problem else [])
        bag = _merchant_bag(cart, sku.merchant_id)
        line = bag.line_for_sku(sku_id) if bag is not None else None
        self._check_room(cart, bag, line, quantity)
        if bag is None or bag.status in _NO_EXTERNAL:
            return await self._create_bag(cart, bag, sku, quantity, owners, deadline)
        if bag.status in _UNSETTLED:
            raise _settling(self._settings)
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
        if wanted > self._settings.max_quantity:
            raise _too_many(wanted, self._settings.max_quantity)
        ext = bag.external_id
        if held_id is not None:
            line_id = held_id

            async def write(d: float) -> ExternalCart | None:
                return await adapter.update_line(
                    ext, line_id, wanted, platform_ref=sku.platform_ref, deadline=d
                )
        else:
            request = LineRequest(sku.platform_ref, quantity, sku_id=sku_id, name=sku.name)

            async def write(d: float) -> ExternalCart | None:
                return await adapter.add_lines(ext, [request], deadline=d)

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

    async def _create_bag(
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
        leaving: list[PendingExternalDelete] = []
        if bag is not None:
            held = await self._store.references.bag_outbox(bag.id)
            if held.unknown_creates:
                old = bag
                bag = Bag(
                    new_id("bag"), merchant.id, merchant.name, merchant.platform, cart.currency
                )
                leaving = self._leave(cart, old, bag.id)
                bag.skus, old.skus = old.skus, []  # the lines go on in the new bag
                old.platform_sub_total = None
                cart.bags.append(bag)
            elif held.pending:
                raise _deleting(self._settings)
            else:
                leaving = self._leave(cart, bag, bag.id)
                bag.move_to(BagStatus.PENDING)
                cart.errors = [e for e in cart.errors if e.bag_id != bag.id]
        else:
            # One bag per merchant: an earlier, emptied (DELETED) one gives way.
            gone = {b.id for b in cart.bags if b.merchant_id == sku.merchant_id}
            cart.bags = [b for b in cart.bags if b.id not in gone]
            cart.errors = [e for e in cart.errors if e.bag_id not in gone]
            bag = Bag(new_id("bag"), merchant.id, merchant.name, merchant.platform, cart.currency)
            cart.bags.append(bag)
        line = bag.line_for_sku(sku.sku_id)
        if line is None:
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
        else:
            line.quantity += quantity
            line.line_price = line.price * line.quantity
        # PENDING before any call (a crash leaves it to the reconciler), as a create does,
        # with the delete of the cart the bag leaves.
        cart.date_last_modified = self._clock()
        try:
            await self._store.carts.save(cart, outbox=leaving)
        except StaleCart:  # the lease ran out and another change won: nothing was sent
            raise busy() from None
        outcome: BagOutcome
        try:
            adapter = self._merchants.adapter_for(merchant, sealed)
        except ValueError:
            outcome = BagOutcome(bag.id, error=_unreadable(str(bag.platform)))
            await self._try_deletes(leaving, deadline)
        else:
            call = creation_call(adapter, cart, bag, deadline)
            made, _ = await asyncio.gather(
                fan_out([(bag.id, str(bag.platform), call)], deadline),
                self._try_deletes(leaving, deadline),
            )
            outcome = made[bag.id]
        bag_id = bag.id

        def record(c: Cart) -> list[PendingExternalDelete]:
            b = c.bag(bag_id)
            if b is None or b.status != BagStatus.PENDING:
                return []
            new_error = error_factory(c, self._clock(), new_id)
            if outcome.cart is not None:
                apply_created(b, outcome.cart, c, new_error)
                b.platform_changed_at = self._clock()
            elif outcome.error is not None and outcome.error.may_have_applied:
                apply_unknown(b, outcome.error, c, new_error)
            elif outcome.error is not None:
                apply_failed(b, outcome.error, c, new_error)
            return []

        if outcome.cart is None:
            return record
        holding = replace(bag, external_id=outcome.cart.external_id)
        return MadeRecord(record, bag_id, self._deleter.entries(cart.id, [holding]))

    def _leave(self, cart: Cart, bag: Bag, reference: str) -> list[PendingExternalDelete]:
        """``bag`` is about to be made again under ``reference``: the outbox entry deleting the
        external cart it held (none when it held none, or when its cart is the one
        ``reference`` names, as an Elastic Path bag's is: the create finds that one), and the
        bag and its lines cleared of the old cart's ids, so a crash while ``PENDING`` records
        an unknown create, not a delete of the old cart."""
        leaving: list[PendingExternalDelete] = []
        if bag.external_id is not None and bag.external_id != reference:
            leaving = self._deleter.entries(cart.id, [bag])
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
            await self._deleter.attempt(entries, deadline)
        except Exception:  # the entries stay pending in the outbox; the reconciler retries
            log.exception("external_delete_attempt_failed", count=len(entries))

    # --- set quantity and remove ----------------------------------------------------------

    async def set_quantity(
        self, cart: Cart, order_sku_id: str, quantity: int, deadline: float
    ) -> Record:
        if quantity == 0:
            return await self.remove(cart, order_sku_id, deadline)
        bag, line = _find(cart, order_sku_id)
        if bag.status in _UNSETTLED:
            raise _settling(self._settings)
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
        if held_id is not None:
            target = held_id

            async def write(d: float) -> ExternalCart | None:
                return await adapter.update_line(
                    ext, target, quantity, platform_ref=line.platform_ref, deadline=d
                )
        else:  # not on the platform (it refused it earlier): put it there
            request = LineRequest(line.platform_ref, quantity, sku_id=line.sku_id, name=line.name)

            async def write(d: float) -> ExternalCart | None:
                return await adapter.add_lines(ext, [request], deadline=d)

        settled = await change(adapter, ext, write, deadline)
        return self._records.line(bag.id, line.id, settled, quantity, UPDATE)

    async def remove(self, cart: Cart, order_sku_id: str, deadline: float) -> Record:
        bag, line = _find(cart, order_sku_id)
        if bag.status in _UNSETTLED:
            raise _settling(self._settings)
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
                entries = self._deleter.entries(c.id, [b])
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
        if line is not None and line.quantity + qty > self._settings.max_quantity:
            raise _too_many(line.quantity + qty, self._settings.max_quantity)
        counted = [b for b in cart.bags if b.status != BagStatus.DELETED]
        if line is None and sum(len(b.skus) for b in counted) >= self._settings.max_skus:
            raise InvalidRequest(
                [FieldProblem("sku_id", f"a cart holds at most {self._settings.max_skus} lines")]
            )
        merchants = {b.merchant_id for b in counted}  # a replaced bag's merchant counts once
        if bag is None and len(merchants) >= self._settings.max_bags:
            raise InvalidRequest(
                [
                    FieldProblem(
                        "sku_id", f"a cart spans at most {self._settings.max_bags} merchants"
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
        rows = await self._store.catalog.get_merchants({bag.merchant_id})
        row = rows.get(bag.merchant_id)
        if row is None:
            return PlatformAuthFailed(
                "the merchant no longer exists; nothing was sent",
                platform=str(bag.platform),
                may_have_applied=False,
            )
        try:
            return self._merchants.adapter_for(*row)
        except ValueError:
            return _unreadable(str(bag.platform))


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


def _too_many(quantity: int, limit: int) -> InvalidRequest:
    return InvalidRequest(
        [FieldProblem("quantity", f"the line would hold {quantity}; at most {limit}")]
    )


def _settling(settings: Settings) -> ConflictError:
    wait = max(1, round(settings.external_delete_retry_s))
    return ConflictError(
        "This merchant's external cart is still being created or resolved; retry shortly.",
        kind=ErrorCode.CART_BUSY,
        headers={"Retry-After": str(wait)},
    )


def _deleting(settings: Settings) -> ConflictError:
    wait = max(1, round(settings.external_delete_retry_s))
    return ConflictError(
        "An external cart this merchant's bag made earlier is still being removed; retry shortly.",
        kind=ErrorCode.CART_BUSY,
        headers={"Retry-After": str(wait)},
    )


def _unreadable(platform: str) -> PlatformAuthFailed:
    return PlatformAuthFailed(
        "this merchant's credentials cannot be read by the service (its encryption key is no"
        " longer configured); nothing was sent",
        platform=platform,
        may_have_applied=False,
    )
