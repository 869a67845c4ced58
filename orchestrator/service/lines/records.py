"""The ``Record`` of a line change: what the platform holds, folded into a cart.

Why apart from ``changes.py``: a record is applied to whichever cart the save finds (the
one read, or a fresh one if another change won the version check), so it finds bags and lines
by id and decides from what the platform answered (``sync.Settled``) alone: the line as
held, the order error when the platform holds other than asked, an emptied bag's delete.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from bags import Bag, BagStatus, Cart, OrderSku
from errors import Cause, PlatformError
from orchestrator.service.deletion import ExternalDeleter
from orchestrator.service.lines.sync import Settled, shortfall, sync_bag
from orchestrator.service.merge import error_factory
from orchestrator.service.secrets import new_id
from orchestrator.store import PendingExternalDelete

# Applies a change's outcome to a cart; returns the outbox entries to save with it.
Record = Callable[[Cart], list[PendingExternalDelete]]


@dataclass(frozen=True)
class MadeRecord:
    """The ``Record`` of a change that made an external cart (a new bag's), with the outbox
    entries that delete it: queued should its save fail, unless the database shows the bag
    holding it (``CartStore.queue_unkept``), so no id a platform gave is ever dropped."""

    apply: Record
    bag_id: str
    made: list[PendingExternalDelete]

    def __call__(self, cart: Cart) -> list[PendingExternalDelete]:
        return self.apply(cart)


ADD, UPDATE, REMOVE = "EXTERNAL_ADD_ITEM", "EXTERNAL_UPDATE_ITEM", "EXTERNAL_REMOVE_ITEM"


class LineRecords:
    def __init__(self, deleter: ExternalDeleter, clock: Callable[[], datetime]) -> None:
        self._deleter = deleter
        self._clock = clock

    def line(self, bag_id: str, line_id: str, settled: Settled, wanted: int, kind: str) -> Record:
        def record(c: Cart) -> list[PendingExternalDelete]:
            b = c.bag(bag_id)
            ln = b.line(line_id) if b is not None else None
            if b is None or ln is None or b.status != BagStatus.IN_PROGRESS:
                return []
            if settled.gone:
                return self._gone(c, b, ln, settled, kind)
            if wanted == 0 and settled.error is None and settled.external is None:
                b.skus.remove(ln)  # held by our record alone
                return []
            self.fold(c, b, ln, settled, wanted, kind)
            if wanted == 0 and ln.external_id is None and not settled.unknown:
                b.skus.remove(ln)
            return []

        return record

    def fold(self, c: Cart, b: Bag, ln: OrderSku, settled: Settled, wanted: int, kind: str) -> None:
        """``settled`` into the bag; an order error when the platform holds other than asked."""
        new_error = error_factory(c, self._clock(), new_id)
        if settled.external is not None:
            sync_bag(b, settled.external)
            if settled.error is None or ln.quantity == wanted:  # the write applied
                b.platform_changed_at = self._clock()
            if ln.quantity != wanted:
                cause, message = shortfall(settled, ln, wanted, str(b.platform))
                c.errors.append(new_error(b, ln.sku_id, kind, cause, message, retryable=False))
            return
        error = settled.error
        assert error is not None
        message = error.message
        if settled.unknown:
            ln.external_id = None  # its next change reads the platform first
            message += (
                f". {b.platform} may have applied the change; the line is read back from it on"
                " its next change."
            )
        retryable = error.retryable and not settled.unknown
        c.errors.append(new_error(b, ln.sku_id, kind, error.cause, message, retryable=retryable))

    def _gone(
        self, c: Cart, b: Bag, ln: OrderSku, settled: Settled, kind: str
    ) -> list[PendingExternalDelete]:
        """The platform has no cart any more: emptied by this removal (BigCommerce deletes an
        emptied cart), or lost (expired there)."""
        if kind == REMOVE and not [s for s in b.skus if s.id != ln.id and s.external_id]:
            entries = self._deleter.entries(
                c.id, [b]
            )  # nothing left to delete; recorded all the same
            b.move_to(BagStatus.DELETED)
            b.skus, b.platform_sub_total = [], None
            return entries
        if kind == REMOVE:
            b.skus.remove(ln)  # no cart holds it: the removal is done
        self.expire(c, b, ln.sku_id, kind, settled)
        return []

    def expire(self, c: Cart, b: Bag, sku_id: str, kind: str, settled: Settled) -> None:
        """The platform answered that the bag's external cart is gone (a 404, and a read-back
        that found none): the bag is ``EXPIRED``, as one past its platform's lifetime reads,
        with the order error. Its lines stay in our record, so the merchant's next add makes
        the external cart again with them (``new_bag.py``), queuing a delete of the old id (a
        404 there, which counts as done) rather than writing to a cart that is not there."""
        new_error = error_factory(c, self._clock(), new_id)
        message = f"{b.platform} no longer has this bag's cart"
        if settled.error is not None:
            message = settled.error.message
        message += "; the bag is EXPIRED, and the merchant's next add makes its cart again"
        c.errors.append(
            new_error(b, sku_id, kind, Cause.CART_NOT_FOUND_ON_PLATFORM, message, retryable=False)
        )
        b.move_to(BagStatus.EXPIRED)

    def refused(self, bag_id: str, sku_id: str, kind: str, error: PlatformError) -> Record:
        """Nothing changed on the platform: only the order error is recorded."""

        def record(c: Cart) -> list[PendingExternalDelete]:
            b = c.bag(bag_id)
            if b is not None:
                new_error = error_factory(c, self._clock(), new_id)
                c.errors.append(
                    new_error(
                        b, sku_id, kind, error.cause, error.message, retryable=error.retryable
                    )
                )
            return []

        return record
