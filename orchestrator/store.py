"""The Store: all persistence of multicart, returning ``bags`` domain objects.

Every method is one short transaction (how writes and reads are run per engine: see
``store_base.py``; merchants and the catalog: ``store_catalog.py``).

Concurrent changes of one cart are caught twice: ``save_cart`` is an optimistic version check
(``StaleCart``), and ``acquire_cart_lease`` serializes a cart's mutations across processes.
The cart's row mapping lives in ``store_carts.py``; the schema in ``tables.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, bindparam, delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bags.models import Cart
from bags.status import CartStatus, Platform
from orchestrator.store_carts import (
    cart_values,
    decode_cursor,
    delete_children,
    encode_cursor,
    insert_children,
    load_carts,
    update_children_in_place,
)
from orchestrator.store_catalog import CatalogStore
from orchestrator.tables import apps, carts, external_deletes

__all__ = ["PendingExternalDelete", "StaleCart", "Store"]

# The create path's statements, built once: building them per call (coercions, bind
# parameters) was a visible share of its CPU (`python -m bench --profile`).
_INSERT_CART = insert(carts)
_TOUCH_CART = (
    update(carts)
    .where(carts.c.id == bindparam("row_id"), carts.c.version == bindparam("seen"))
    .values(date_last_modified=bindparam("modified"), version=carts.c.version + 1)
)


class StaleCart(Exception):
    """The cart changed (or vanished) since it was loaded: the optimistic version check failed."""


@dataclass(frozen=True)
class PendingExternalDelete:
    """One entry of the outbox of external carts still to delete."""

    id: str
    cart_id: str
    bag_id: str
    merchant_id: str
    platform: Platform
    external_id: str
    attempts: int = 0
    next_attempt_at: datetime | None = None  # None on enqueue: due at once
    last_error: str | None = None


def _changeable(values: dict[str, Any]) -> dict[str, Any]:
    """A carts row without the columns that never change (the key and the owning app)."""
    return {k: v for k, v in values.items() if k not in ("id", "app_id")}


class Store(CatalogStore):
    """All persistence of multicart (catalog and merchants in ``CatalogStore``)."""

    # -- apps ---------------------------------------------------------------------------------

    async def create_app(self, app_id: str, name: str, key_hash: str) -> None:
        async with self._write() as conn:
            await conn.execute(
                insert(apps).values(
                    id=app_id, name=name, key_hash=key_hash, created_at=datetime.now(UTC)
                )
            )

    async def app_id_for_key_hash(self, key_hash: str) -> str | None:
        async with self._read() as conn:
            found = await conn.scalar(select(apps.c.id).where(apps.c.key_hash == key_hash))
        return None if found is None else str(found)

    # -- carts --------------------------------------------------------------------------------

    async def insert_cart(self, cart: Cart) -> None:
        """Insert the whole aggregate (cart, bags, order skus, errors) in one transaction."""
        async with self._write() as conn:
            await conn.execute(_INSERT_CART, {**cart_values(cart), "version": cart.version})
            await insert_children(conn, cart)

    async def save_cart(self, cart: Cart, *, outbox: Sequence[PendingExternalDelete] = ()) -> None:
        """Replace the stored aggregate with ``cart`` if nobody saved it since it was loaded.

        Raises ``StaleCart`` (nothing written) when the stored version is not ``cart.version``;
        on success the outbox entries are in the same transaction and ``cart.version`` is bumped.
        """
        async with self._write() as conn:
            result = await conn.execute(
                update(carts)
                .where(carts.c.id == cart.id, carts.c.version == cart.version)
                .values(**_changeable(cart_values(cart)), version=carts.c.version + 1)
            )
            if result.rowcount != 1:
                raise StaleCart(f"cart {cart.id} is no longer at version {cart.version}")
            await delete_children(conn, cart.id)
            await insert_children(conn, cart)
            await self._insert_outbox(conn, outbox)
        cart.version += 1

    async def record_creation(self, cart: Cart) -> None:
        """Save a freshly inserted cart's creation outcomes with the version check of
        ``save_cart``: bags and lines are updated in place and its errors inserted (the
        create path's second and last write; the inserted cart had no errors)."""
        async with self._write() as conn:
            result = await conn.execute(
                _TOUCH_CART,
                {"row_id": cart.id, "seen": cart.version, "modified": cart.date_last_modified},
            )
            if result.rowcount != 1:
                raise StaleCart(f"cart {cart.id} is no longer at version {cart.version}")
            await update_children_in_place(conn, cart)
        cart.version += 1

    async def get_cart(self, app_id: str, cart_id: str) -> Cart | None:
        """The cart, or None if it is absent, another app's, or DELETED."""
        async with self._read() as conn:
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

    async def list_carts(
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
        async with self._read() as conn:
            rows = (await conn.execute(query)).all()
            page = await load_carts(conn, rows[:limit])
        if len(rows) <= limit:
            return page, None
        last = page[-1]
        return page, encode_cursor(last.date_created, last.id)

    async def delete_cart_record(self, cart_id: str) -> None:
        """Hard-delete the cart and its children (outbox entries stay: they outlive it)."""
        async with self._write() as conn:
            await delete_children(conn, cart_id)
            await conn.execute(delete(carts).where(carts.c.id == cart_id))

    async def count_carts(self) -> int:
        async with self._read() as conn:
            return int(await conn.scalar(select(func.count()).select_from(carts)) or 0)

    # -- leases -------------------------------------------------------------------------------

    async def acquire_cart_lease(self, cart_id: str, owner: str, ttl_s: float) -> bool:
        """Take (or renew) the cart's lease for ``ttl_s``; False if another owner holds it live
        or the cart does not exist."""
        now = datetime.now(UTC)
        async with self._write() as conn:
            result = await conn.execute(
                update(carts)
                .where(
                    carts.c.id == cart_id,
                    or_(
                        carts.c.lease_until.is_(None),
                        carts.c.lease_until < now,
                        carts.c.lease_owner == owner,
                    ),
                )
                .values(lease_owner=owner, lease_until=now + timedelta(seconds=ttl_s))
            )
        return result.rowcount == 1

    async def release_cart_lease(self, cart_id: str, owner: str) -> None:
        """Release the lease if ``owner`` still holds it (a no-op otherwise)."""
        async with self._write() as conn:
            await conn.execute(
                update(carts)
                .where(carts.c.id == cart_id, carts.c.lease_owner == owner)
                .values(lease_owner=None, lease_until=None)
            )

    # -- external deletes outbox --------------------------------------------------------------

    async def _insert_outbox(
        self, conn: AsyncConnection, items: Sequence[PendingExternalDelete]
    ) -> None:
        if not items:
            return
        now = datetime.now(UTC)
        rows = [
            {
                "id": item.id,
                "cart_id": item.cart_id,
                "bag_id": item.bag_id,
                "merchant_id": item.merchant_id,
                "platform": Platform(item.platform).value,
                "external_id": item.external_id,
                "attempts": item.attempts,
                "next_attempt_at": item.next_attempt_at or now,
                "last_error": item.last_error,
                "created_at": now,
            }
            for item in items
        ]
        await conn.execute(insert(external_deletes), rows)

    async def enqueue_external_deletes(self, items: Sequence[PendingExternalDelete]) -> None:
        if not items:
            return
        async with self._write() as conn:
            await self._insert_outbox(conn, items)

    async def due_external_deletes(
        self, now: datetime, limit: int = 50
    ) -> list[PendingExternalDelete]:
        """Entries whose next attempt is due at ``now``, the longest-waiting first."""
        async with self._read() as conn:
            rows = await conn.execute(
                select(external_deletes)
                .where(external_deletes.c.next_attempt_at <= now)
                .order_by(external_deletes.c.next_attempt_at, external_deletes.c.id)
                .limit(limit)
            )
            return [
                PendingExternalDelete(
                    id=row.id,
                    cart_id=row.cart_id,
                    bag_id=row.bag_id,
                    merchant_id=row.merchant_id,
                    platform=Platform(row.platform),
                    external_id=row.external_id,
                    attempts=row.attempts,
                    next_attempt_at=row.next_attempt_at,
                    last_error=row.last_error,
                )
                for row in rows
            ]

    async def finish_external_delete(self, delete_id: str) -> None:
        async with self._write() as conn:
            await conn.execute(delete(external_deletes).where(external_deletes.c.id == delete_id))

    async def postpone_external_delete(
        self, delete_id: str, next_attempt_at: datetime, last_error: str
    ) -> None:
        """Count a failed attempt and schedule the next one."""
        async with self._write() as conn:
            await conn.execute(
                update(external_deletes)
                .where(external_deletes.c.id == delete_id)
                .values(
                    attempts=external_deletes.c.attempts + 1,
                    next_attempt_at=next_attempt_at,
                    last_error=last_error,
                )
            )
