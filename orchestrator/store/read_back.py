"""Reading a cart back after a write that would have recorded external carts failed.

Why: "an exception was raised" does not say "nothing was written" (a COMMIT whose answer was
lost; a create that outlived its lease while the reconciler settled its bags; a cart saved by
reference elsewhere meanwhile, which breaks the unique index). What happens to the external
carts a request made is decided from what the database holds, in one transaction that first
bumps the cart's version: that takes the row lock (PostgreSQL) or runs under the single writer
(SQLite), so a concurrent adoption either committed before this read (its bag names the cart:
kept) or fails its version check after it and reads what is queued here (the reconciler never
adopts a reference an outbox entry names).

In that transaction, for each bag of the request:

- still unsettled in the record (nobody else touches a bag in that state): the request's own
  outcome (``outcome``, holding only its own bags) is recorded, unless another cart's bag
  holds the cart it made (``taken``: that bag keeps it, this one fails);
- settled by someone else, or the cart gone: what it made is kept if a live bag of the cart
  names it, else its delete is queued, and a bag left ``PENDING`` whose cart is queued fails
  (``fail_bag``), so the reconciler neither adopts its reference nor counts an unknown create.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy import and_, case, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bags import Bag, BagStatus, Cart, CartStatus
from orchestrator.store.cart_rows import (
    changeable_values,
    delete_children,
    insert_children,
    load_carts,
)
from orchestrator.store.database import Database
from orchestrator.store.outbox import PendingExternalDelete, insert_outbox
from orchestrator.store.tables import bags, carts

# Bags whose external id no longer holds a cart of ours (its delete was queued when it got there).
NOT_HOLDING = (BagStatus.DELETED, BagStatus.FAILED)
FailBag = Callable[[Cart, Bag, bool], None]
_UNSETTLED = (BagStatus.PENDING, BagStatus.UNKNOWN)


async def read_back(
    db: Database,
    cart_id: str,
    candidates: Sequence[PendingExternalDelete],
    *,
    lease_owner: str | None = None,
    outcome: Cart | None = None,
    fail_bag: FailBag | None = None,
) -> tuple[Cart | None, list[PendingExternalDelete]]:
    """The cart as the database holds it once this is written (None when its record is gone),
    and the deletes queued. ``candidates``: the deletes of what the request made;
    ``outcome``: the request's cart, whose settled bags are recorded where the record still
    has them ``PENDING``; the lease ``lease_owner`` holds, if still its, is let go."""
    async with db.write() as conn:
        stored = await _lock_and_load(conn, cart_id, lease_owner)
        taken = await _held_elsewhere(conn, cart_id, candidates)
        recorded: set[str] = set()
        if stored is not None and stored.status is CartStatus.IN_PROGRESS and outcome:
            recorded = _record_outcomes(stored, outcome, taken)
        holding = _holding(stored) | taken
        # An unknown create's entry goes with the outcome that settled its bag: only when that
        # outcome is recorded here (else whoever settled the bag wrote its own).
        queued = [
            e
            for e in candidates
            if (e.kind == "delete" and (e.merchant_id, e.external_id) not in holding)
            or (e.kind == "unknown_create" and e.bag_id in recorded)
        ]
        await insert_outbox(conn, queued)
        failed = _fail_pending(stored, candidates, queued, taken, fail_bag)
        if stored is not None and (recorded or failed):
            await conn.execute(
                update(carts).where(carts.c.id == cart_id).values(**changeable_values(stored))
            )
            await delete_children(conn, cart_id)
            await insert_children(conn, stored)
    return stored, queued


async def _lock_and_load(
    conn: AsyncConnection, cart_id: str, lease_owner: str | None
) -> Cart | None:
    """Bump the cart's version (its row lock, on PostgreSQL), let go of the lease
    ``lease_owner`` holds if it is still its, and load the cart (None when it is gone)."""
    own = carts.c.lease_owner == lease_owner
    await conn.execute(
        update(carts)
        .where(carts.c.id == cart_id)
        .values(
            version=carts.c.version + 1,
            lease_owner=case((own, None), else_=carts.c.lease_owner),
            lease_until=case((own, None), else_=carts.c.lease_until),
        )
    )
    rows = (await conn.execute(select(carts).where(carts.c.id == cart_id))).all()
    loaded = await load_carts(conn, rows)
    return loaded[0] if loaded else None


def _holding(stored: Cart | None) -> set[tuple[str, str]]:
    """The external carts a live bag of the stored cart holds (none once it is deleted)."""
    if stored is None or stored.status is CartStatus.DELETED:
        return set()
    return {
        (b.merchant_id, b.external_id)
        for b in stored.bags
        if b.external_id and b.status not in NOT_HOLDING
    }


def _fail_pending(
    stored: Cart | None,
    candidates: Sequence[PendingExternalDelete],
    queued: Sequence[PendingExternalDelete],
    taken: set[tuple[str, str]],
    fail_bag: FailBag | None,
) -> bool:
    """Fail (``fail_bag``) each bag still ``PENDING`` whose external cart is queued for deletion
    (its flag False) or held by another cart (True); True when any was."""
    if stored is None or fail_bag is None:
        return False
    reasons = {e.bag_id: False for e in queued}
    reasons |= {e.bag_id: True for e in candidates if (e.merchant_id, e.external_id) in taken}
    failing = [b for b in stored.bags if b.id in reasons and b.status is BagStatus.PENDING]
    for bag in failing:
        fail_bag(stored, bag, reasons[bag.id])
    return bool(failing)


def _record_outcomes(stored: Cart, outcome: Cart, taken: set[tuple[str, str]]) -> set[str]:
    """``outcome``'s bags (the request's own: a caller passes only those) and their order
    errors in place of ``stored``'s that are still unsettled, except a bag whose cart another
    cart holds; the ids of those recorded. An unsettled bag is touched by nothing else: line
    changes refuse it, the reconciler settles it under the lease this request held."""
    recorded: set[str] = set()
    for mine in outcome.bags:
        if mine.status is BagStatus.PENDING:
            continue
        if mine.external_id and (mine.merchant_id, mine.external_id) in taken:
            continue  # that cart is another cart's: the bag fails (``fail_bag``)
        for index, held in enumerate(stored.bags):
            if held.id == mine.id and held.status in _UNSETTLED:
                stored.bags[index] = mine
                stored.errors = [e for e in stored.errors if e.bag_id != mine.id]
                stored.errors += [e for e in outcome.errors if e.bag_id == mine.id]
                recorded.add(mine.id)
    return recorded


async def _held_elsewhere(
    conn: AsyncConnection, cart_id: str, candidates: Sequence[PendingExternalDelete]
) -> set[tuple[str, str]]:
    """Which of ``candidates``' external carts a live bag of another cart holds."""
    wanted = {(e.merchant_id, e.external_id) for e in candidates if e.kind == "delete"}
    if not wanted:
        return set()
    # By (merchant_id, external_id) pairs: the unique index's columns, so no scan of bags
    # while this transaction holds the write side.
    pairs = [and_(bags.c.merchant_id == m, bags.c.external_id == x) for m, x in sorted(wanted)]
    found = await conn.execute(
        select(bags.c.merchant_id, bags.c.external_id).where(
            or_(*pairs),
            bags.c.cart_id != cart_id,
            bags.c.status.not_in([s.value for s in NOT_HOLDING]),
        )
    )
    return {(str(m), str(x)) for m, x in found} & wanted
