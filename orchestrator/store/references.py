"""Who holds an external cart: the reads and the one write behind saved references and retries.

A live bag, a pending delete in the outbox, or an Elastic Path bag still being created under
that id all hold it; the partial unique index ``uq_bags_merchant_id_external_id`` decides
concurrent saves, asked before the insert (a cheap 409) and the outbox again after it, in the
same transaction. Why each holder counts: docs/decisions/0007-saved-references.md.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Select, and_, case, func, insert, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from bags import BagStatus, Cart
from orchestrator.store.cart_rows import cart_values, insert_children
from orchestrator.store.database import Database
from orchestrator.store.tables import bags, carts, external_deletes

__all__ = ["BagOutbox", "DuplicateReference", "Holder", "ReferenceStore"]

_UNIQUE_INDEX = "uq_bags_merchant_id_external_id"
# SQLite names the columns, not the index, in its message.
_SQLITE_MARKER = "bags.merchant_id, bags.external_id"


class DuplicateReference(Exception):
    """A live bag already holds that external cart, or its delete is still pending
    (``deleting``); nothing was written."""

    def __init__(self, message: str, *, deleting: bool = False) -> None:
        super().__init__(message)
        self.deleting = deleting


# Outbox states whose entry may still delete its external cart: worked, or requeued by hand.
_REQUEUEABLE = ("pending", "dead")
# Bags whose create is not settled: their id may still become their external cart's.
_UNSETTLED = (BagStatus.PENDING.value, BagStatus.UNKNOWN.value)


@dataclass(frozen=True)
class Holder:
    """Who holds an external cart: a live bag of ``cart_id``, or (``deleting``) the outbox
    entry of ``cart_id``, a deleted cart whose platform delete has not been done yet."""

    cart_id: str
    deleting: bool = False


@dataclass(frozen=True)
class BagOutbox:
    """A bag's outbox entries (``ReferenceStore.bag_outbox``)."""

    pending: int  # still being worked, or dead (an operator may requeue it), any kind
    unknown_creates: int  # of kind ``unknown_create``, in any state


def _is_duplicate(exc: IntegrityError) -> bool:
    text = str(exc.orig)
    return _UNIQUE_INDEX in text or _SQLITE_MARKER in text


class ReferenceStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def hold(self, merchant_id: str, external_id: str) -> Holder | None:
        """Who holds the external cart (a live bag first, then a pending delete), or None:
        one statement, both asked as scalar subqueries."""
        query = select(
            _holding_query(merchant_id, external_id).scalar_subquery(),
            _deleting_query(merchant_id, external_id).scalar_subquery(),
        )
        async with self._db.read(single_statement=True) as conn:
            held, deleting = (await conn.execute(query)).one()
        if held is not None:
            return Holder(str(held))
        return None if deleting is None else Holder(str(deleting), deleting=True)

    async def holder(self, merchant_id: str, external_id: str) -> str | None:
        """The id of the cart holding the external cart (its live bag's, or the deleted
        cart's whose delete of it is still pending), or None."""
        held = await self.hold(merchant_id, external_id)
        return None if held is None else held.cart_id

    async def insert(self, cart: Cart) -> None:
        """Insert ``cart`` (a saved reference: its bags already hold their external carts);
        ``DuplicateReference`` when a live bag got one of them first, or when one of them
        has a delete still pending (asked after the insert: see the module docstring)."""
        held = [(b.merchant_id, b.external_id) for b in cart.bags if b.external_id]
        try:
            async with self._db.write() as conn:
                await conn.execute(insert(carts), {**cart_values(cart), "version": cart.version})
                await insert_children(conn, cart)
                deleting = await _deleting(conn, held)
                if deleting is not None:  # raised inside: the transaction rolls back
                    raise DuplicateReference(
                        f"cart {deleting}'s delete of it is pending", deleting=True
                    )
                creating = await _creating(conn, held)
                if creating is not None:
                    raise DuplicateReference(f"cart {creating} is still creating it")
        except IntegrityError as exc:
            if _is_duplicate(exc):
                raise DuplicateReference(str(exc.orig)) from None
            raise

    async def being_deleted(self, merchant_id: str, external_id: str) -> bool:
        """Whether an outbox entry (pending, or dead and so requeueable) names the external
        cart: a reference in that state is never adopted or sent again."""
        query = _deleting_query(merchant_id, external_id)
        async with self._db.read(single_statement=True) as conn:
            return await conn.scalar(query) is not None

    async def pending_deletes(self, bag_id: str) -> int:
        """How many outbox entries of ``bag_id`` are still being worked (not buried)."""
        query = select(func.count()).where(
            external_deletes.c.bag_id == bag_id, external_deletes.c.state == "pending"
        )
        async with self._db.read(single_statement=True) as conn:
            return int(await conn.scalar(query) or 0)

    async def bag_outbox(self, bag_id: str) -> BagOutbox:
        """What the outbox holds for ``bag_id``, in one statement: the entries still being
        worked or dead (a dead letter can be requeued, so its reference stays taken), and
        its ``unknown_create`` entries in any state (pending, or buried ``dead`` or
        ``undetectable``: a cart its create may have made is still unaccounted for on the
        platform, so no create may be sent under its id again). A finished entry is no row."""
        t = external_deletes.c
        query = select(
            func.coalesce(func.sum(case((t.state.in_(_REQUEUEABLE), 1), else_=0)), 0),
            func.coalesce(func.sum(case((t.kind == "unknown_create", 1), else_=0)), 0),
        ).where(t.bag_id == bag_id)
        async with self._db.read(single_statement=True) as conn:
            pending, unknown = (await conn.execute(query)).one()
        return BagOutbox(pending=int(pending), unknown_creates=int(unknown))


def _holding_query(merchant_id: str, external_id: str) -> Select[tuple[str]]:
    """The cart id of a bag that holds the external cart: a live bag naming it, or a bag still
    being created under it as its reference (``PENDING`` or ``UNKNOWN``: on Elastic Path the
    bag's id is the cart's, which the create or the reconciler will adopt)."""
    return (
        select(bags.c.cart_id)
        .where(
            bags.c.merchant_id == merchant_id,
            or_(
                and_(
                    bags.c.external_id == external_id,
                    bags.c.status != BagStatus.DELETED.value,
                ),
                and_(bags.c.id == external_id, bags.c.status.in_(_UNSETTLED)),
            ),
        )
        .limit(1)
    )


async def _creating(conn: AsyncConnection, held: Iterable[tuple[str, str]]) -> str | None:
    """The cart id of a bag still being created under one of ``held`` as its reference, or
    None (asked after a reference's insert, in its transaction: see the module docstring)."""
    for merchant_id, external_id in held:
        found = await conn.scalar(
            select(bags.c.cart_id)
            .where(
                bags.c.merchant_id == merchant_id,
                bags.c.id == external_id,
                bags.c.status.in_(_UNSETTLED),
            )
            .limit(1)
        )
        if found is not None:
            return str(found)
    return None


def _deleting_query(merchant_id: str, external_id: str) -> Select[tuple[str]]:
    """The cart id of an outbox entry that will (or, requeued, may) delete the external cart."""
    t = external_deletes.c
    return (
        select(t.cart_id)
        .where(
            t.state.in_(_REQUEUEABLE),
            t.merchant_id == merchant_id,
            t.external_id == external_id,
        )
        .limit(1)
    )


async def _deleting(conn: AsyncConnection, held: Iterable[tuple[str, str]]) -> str | None:
    """The cart id of a pending outbox entry deleting one of ``held`` (merchant id, external
    id), or None."""
    for merchant_id, external_id in held:
        found = await conn.scalar(_deleting_query(merchant_id, external_id))
        if found is not None:
            return str(found)
    return None
