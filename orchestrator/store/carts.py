"""The cart aggregate's persistence: insert, save, read and page carts of one app.

Every method is one short transaction on the shared ``Database``. Concurrent changes of one
cart are caught twice: ``save`` is an optimistic version check (``StaleCart``), and
``LeaseStore.acquire`` serializes a cart's mutations across tasks and processes. How a
``Cart`` maps to rows lives in ``cart_rows.py``; the schema in ``tables.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy import (
    ColumnElement,
    Float,
    Select,
    and_,
    bindparam,
    case,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)

from bags import Bag, Cart, CartStatus
from errors import Overloaded
from orchestrator.store.cart_cursor import decode_cursor, encode_cursor
from orchestrator.store.cart_rows import (
    BAG_OUTCOME,
    INSERT_BAGS,
    INSERT_ERRORS,
    INSERT_LINES,
    LINE_OUTCOME,
    cart_values,
    changeable_values,
    children_rows,
    delete_children,
    insert_children,
    load_carts,
    outcome_rows,
)
from orchestrator.store.database import Database
from orchestrator.store.db_clock import db_now_plus
from orchestrator.store.group_commit import GroupCommit, RowWrite, StaleWrite
from orchestrator.store.idempotency import BIND_CART, bind_cart_rows
from orchestrator.store.outbox import PendingExternalDelete, insert_outbox
from orchestrator.store.read_back import read_back
from orchestrator.store.tables import UNSETTLED_BAG, bags, carts

__all__ = ["CartStore", "StaleCart"]

# The create path's statements, built once: building them per call (coercions, bind
# parameters) was a visible share of its CPU (`python -m bench --profile`).
# A born-leased cart's ``lease_until`` is the database's now + ``lease_s`` (``db_clock.py``),
# computed in the INSERT itself: no round trip more; a NULL ``lease_s`` leaves it NULL.
_INSERT_CART = insert(carts).values(lease_until=db_now_plus(bindparam("lease_s", type_=Float)))
# Recording a create's outcomes also lets go of the lease the create held (see ``insert``),
# and only that one: a create that overran its lease may find a line change holding the cart,
# whose lease it must not drop (a second change would get in beside it).
_OWN_LEASE = carts.c.lease_owner == bindparam("owner")
_TOUCH_CART = (
    update(carts)
    .where(carts.c.id == bindparam("row_id"), carts.c.version == bindparam("seen"))
    .values(
        date_last_modified=bindparam("modified"),
        version=carts.c.version + 1,
        lease_owner=case((_OWN_LEASE, None), else_=carts.c.lease_owner),
        lease_until=case((_OWN_LEASE, None), else_=carts.c.lease_until),
    )
)
# The order a group commit runs the create path's statements in: parents before children, and
# a cart's version check before the outcomes it guards.
_CREATE_WRITES = (
    _INSERT_CART,
    BIND_CART,
    INSERT_BAGS,
    INSERT_LINES,
    _TOUCH_CART,
    BAG_OUTCOME,
    LINE_OUTCOME,
    INSERT_ERRORS,
)


def unsettled_query(db: Database, settle_s: float, limit: int) -> Select[tuple[str]]:
    """``CartStore.unsettled``'s query: driven from the unsettled bags (a partial index,
    migration 0007), then each cart by its key; the live carts are never scanned.

    Both cut-offs are on the database's clock: the lease (written on it) and ``settle_s``
    before now; ``date_last_modified`` is written on the application's, so a writer's skew
    moves that grace by as much, while the lease is what keeps work in flight from the
    reconciler."""
    unsettled = select(bags.c.cart_id).where(UNSETTLED_BAG).distinct().subquery("unsettled")
    return (
        select(carts.c.id)
        .join(unsettled, unsettled.c.cart_id == carts.c.id)
        .where(
            carts.c.status == CartStatus.IN_PROGRESS.value,
            carts.c.date_last_modified < db.clock(-settle_s),
            or_(carts.c.lease_until.is_(None), carts.c.lease_until < db.clock()),
        )
        .order_by(carts.c.date_last_modified)
        .limit(limit)
    )


class StaleCart(Exception):
    """The cart changed (or vanished) since it was loaded: the optimistic version check failed."""


class CartStore:
    """Carts with their bags, order skus and errors, loaded and saved whole."""

    def __init__(self, db: Database) -> None:
        self._db = db
        # A create's two writes (``insert``, ``record_creation``) share transactions with
        # other creates' (``group_commit.py``).
        self.group_commit = GroupCommit(db, _CREATE_WRITES)

    async def insert(self, cart: Cart, *, lease: tuple[str, float] | None = None) -> None:
        """Insert the whole aggregate (cart, bags, order skus, errors) in one transaction.

        ``lease`` (owner, seconds): the cart is born leased for that long on the database's
        clock, so nothing else changes it while its bags are created (a DELETE answers
        ``cart_busy``); ``record_creation`` lets go.
        """
        values = {**cart_values(cart), "version": cart.version}
        # Every carts row carries the same keys: a group commit's executemany builds its
        # statement from the first row's keys (a lease-less empty cart first would drop the
        # lease of every cart after it).
        owner, lease_s = lease if lease is not None else (None, None)
        values["lease_owner"] = owner
        values["lease_s"] = None if lease_s is None else lease_s + self._db.clock_offset_s
        try:
            rows = {_INSERT_CART: [values], **children_rows(cart)}
            bind = bind_cart_rows(cart.id)  # the request's Idempotency-Key names its cart
            if bind:
                rows[BIND_CART] = bind
            await self.group_commit.run(RowWrite(rows))
        except Overloaded:
            raise  # it never left the queue: nothing was written
        except Exception:
            # A batch whose COMMIT lost its answer may have committed; its writes then run
            # again alone and this one meets its own row (a duplicate key). The cart's id is
            # random and ours alone, so a row under it is this insert, committed.
            if not await self._exists(cart.id):
                raise

    async def _exists(self, cart_id: str) -> bool:
        async with self._db.read(single_statement=True) as conn:
            found = await conn.execute(select(carts.c.id).where(carts.c.id == cart_id))
            return found.first() is not None

    async def save(self, cart: Cart, *, outbox: Sequence[PendingExternalDelete] = ()) -> None:
        """Replace the stored aggregate with ``cart`` if nobody saved it since it was loaded.

        Raises ``StaleCart`` (nothing written) when the stored version is not ``cart.version``;
        on success the outbox entries are in the same transaction and ``cart.version`` is bumped.
        """
        async with self._db.write() as conn:
            result = await conn.execute(
                update(carts)
                .where(carts.c.id == cart.id, carts.c.version == cart.version)
                .values(**changeable_values(cart), version=carts.c.version + 1)
            )
            if result.rowcount != 1:
                raise StaleCart(f"cart {cart.id} is no longer at version {cart.version}")
            await delete_children(conn, cart.id)
            await insert_children(conn, cart)
            await insert_outbox(conn, outbox)
        cart.version += 1

    async def record_creation(self, cart: Cart, *, lease_owner: str | None = None) -> None:
        """Save a freshly inserted cart's creation outcomes with the version check of
        ``save``: bags and lines are updated in place and its errors inserted (the create
        path's second and last write; the inserted cart had no errors). The lease
        ``lease_owner`` took at ``insert`` is let go, if it is still the one on the row."""
        touch = {
            "row_id": cart.id,
            "seen": cart.version,
            "modified": cart.date_last_modified,
            "owner": lease_owner,
        }
        try:
            await self.group_commit.run(
                RowWrite(outcome_rows(cart), check=(_TOUCH_CART, cart.id, touch))
            )
        except StaleWrite:
            raise StaleCart(f"cart {cart.id} is no longer at version {cart.version}") from None
        cart.version += 1

    async def count_live(self, app_id: str, at_most: int) -> int:
        """Carts of ``app_id`` neither expired nor deleted, counted up to ``at_most`` (the
        app's quota): an index range of ``ix_carts_app_id_date_created_id``, cut short."""
        gone = (CartStatus.EXPIRED.value, CartStatus.DELETED.value)
        live = (
            select(carts.c.id)
            .where(carts.c.app_id == app_id, carts.c.status.not_in(gone))
            .limit(at_most)
            .subquery()
        )
        async with self._db.read(single_statement=True) as conn:
            found = await conn.execute(select(func.count()).select_from(live))
            return int(found.scalar_one())

    async def get(self, app_id: str, cart_id: str) -> Cart | None:
        """The cart, or None if it is absent, another app's, or DELETED."""
        async with self._db.read() as conn:
            rows = (
                await conn.execute(
                    select(carts).where(
                        carts.c.id == cart_id,
                        carts.c.app_id == app_id,
                        carts.c.status != CartStatus.DELETED.value,
                    )
                )
            ).all()
            loaded = await load_carts(conn, rows)
        return loaded[0] if loaded else None

    async def page(
        self,
        app_id: str,
        *,
        customer_id: str | None = None,
        status: CartStatus | None = None,
        limit: int = 20,
        cursor: str | None = None,
    ) -> tuple[list[Cart], str | None]:
        """One page of the app's carts, newest first, and the cursor of the next page (or None).

        DELETED carts are left out unless ``status=DELETED`` is asked; ``ValueError`` on a
        malformed cursor.
        """
        limit = max(1, limit)
        where: list[ColumnElement[bool]] = [carts.c.app_id == app_id]
        if customer_id is not None:
            where.append(carts.c.customer_id == customer_id)
        if status is None:
            where.append(carts.c.status != CartStatus.DELETED.value)
        else:
            where.append(carts.c.status == CartStatus(status).value)
        if cursor is not None:
            after_date, after_id = decode_cursor(cursor)
            where.append(
                or_(
                    carts.c.date_created < after_date,
                    and_(carts.c.date_created == after_date, carts.c.id < after_id),
                )
            )
        query = (
            select(carts)
            .where(*where)
            .order_by(carts.c.date_created.desc(), carts.c.id.desc())
            .limit(limit + 1)
        )
        async with self._db.read() as conn:
            rows = (await conn.execute(query)).all()
            page = await load_carts(conn, rows[:limit])
        if len(rows) <= limit:
            return page, None
        last = page[-1]
        return page, encode_cursor(last.date_created, last.id)

    async def delete_record(
        self, cart_id: str, *, outbox: Sequence[PendingExternalDelete] = ()
    ) -> None:
        """Hard-delete the cart and its children, with ``outbox`` entries for the external carts
        it leaves behind in the same transaction (entries outlive the cart)."""
        async with self._db.write() as conn:
            await delete_children(conn, cart_id)
            await conn.execute(delete(carts).where(carts.c.id == cart_id))
            await insert_outbox(conn, outbox)

    async def queue_unkept(
        self,
        cart_id: str,
        candidates: Sequence[PendingExternalDelete],
        *,
        lease_owner: str | None = None,
        outcome: Cart | None = None,
        fail_bag: Callable[[Cart, Bag, bool], None] | None = None,
    ) -> tuple[Cart | None, list[PendingExternalDelete]]:
        """After a write of ``cart_id`` failed: record what can still be recorded, queue the
        deletes of the rest, decided from what the database holds (``read_back.py``)."""
        return await read_back(
            self._db,
            cart_id,
            candidates,
            lease_owner=lease_owner,
            outcome=outcome,
            fail_bag=fail_bag,
        )

    async def get_any(self, cart_id: str) -> Cart | None:
        """The cart whatever its app (for the background workers), or None."""
        async with self._db.read() as conn:
            rows = (await conn.execute(select(carts).where(carts.c.id == cart_id))).all()
            loaded = await load_carts(conn, rows)
        return loaded[0] if loaded else None

    async def unsettled(self, settle_s: float, *, limit: int = 50) -> list[str]:
        """Ids of live carts with a bag still ``PENDING`` or ``UNKNOWN``, unchanged for
        ``settle_s`` and not leased, both by the database's clock: creates that crashed, or
        whose outcome is unknown."""
        query = unsettled_query(self._db, settle_s, limit)
        async with self._db.read(single_statement=True) as conn:
            return [row.id for row in await conn.execute(query)]

    async def expired(self, now: datetime, *, limit: int = 50) -> list[str]:
        """Ids of live carts whose ``expires_at`` has passed at ``now`` and that nobody leases,
        the longest expired first: the expiry sweeper's batch (``ix_carts_status_expires_at``).

        ``expires_at`` is written on the app's clock, as clients are shown it; it is compared
        with the earlier of ``now`` (the sweeper's) and the database's clock, so a sweeper
        whose clock runs ahead expires nothing early. The lease is the database's, as
        ``LeaseStore`` takes it."""
        query = (
            select(carts.c.id)
            .where(
                carts.c.status == CartStatus.IN_PROGRESS.value,
                carts.c.expires_at <= now,
                carts.c.expires_at <= self._db.clock(),
                or_(carts.c.lease_until.is_(None), carts.c.lease_until < self._db.clock()),
            )
            .order_by(carts.c.expires_at)
            .limit(limit)
        )
        async with self._db.read(single_statement=True) as conn:
            return [row.id for row in await conn.execute(query)]
