"""Who holds an external cart: the reads and the one write behind saved references and retries.

Why a module of its own: a saved reference (``POST /v1/cart-references``) must be refused when
any live bag of any app already holds that external cart, and concurrent saves of one cart
must give exactly one winner on both engines. The partial unique index
``uq_bags_merchant_id_external_id`` (``tables.py``, migration 0004) decides the race; this
module asks it first (a cheap 409 before any platform call), then inserts the new cart and
turns the index's refusal into ``DuplicateReference``. A bag retry asks it whether an external
cart the bag made earlier is still queued for deletion (``pending_deletes``).
"""

from __future__ import annotations

from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

from bags.models import Cart
from bags.status import BagStatus
from orchestrator.store.cart_rows import cart_values, insert_children
from orchestrator.store.database import Database
from orchestrator.store.tables import bags, carts, external_deletes

__all__ = ["DuplicateReference", "ReferenceStore"]

_UNIQUE_INDEX = "uq_bags_merchant_id_external_id"
# SQLite names the columns, not the index, in its message.
_SQLITE_MARKER = "bags.merchant_id, bags.external_id"


class DuplicateReference(Exception):
    """A live bag already holds that external cart (nothing was written)."""


def _is_duplicate(exc: IntegrityError) -> bool:
    text = str(exc.orig)
    return _UNIQUE_INDEX in text or _SQLITE_MARKER in text


class ReferenceStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def holder(self, merchant_id: str, external_id: str) -> str | None:
        """The id of the cart whose live bag holds the external cart, or None."""
        query = (
            select(bags.c.cart_id)
            .where(
                bags.c.merchant_id == merchant_id,
                bags.c.external_id == external_id,
                bags.c.status != BagStatus.DELETED.value,
            )
            .limit(1)
        )
        async with self._db.read(single_statement=True) as conn:
            found = await conn.scalar(query)
        return None if found is None else str(found)

    async def insert(self, cart: Cart) -> None:
        """Insert ``cart`` (a saved reference: its bags already hold their external carts);
        ``DuplicateReference`` when a live bag got one of them first."""
        try:
            async with self._db.write() as conn:
                await conn.execute(insert(carts), {**cart_values(cart), "version": cart.version})
                await insert_children(conn, cart)
        except IntegrityError as exc:
            if _is_duplicate(exc):
                raise DuplicateReference(str(exc.orig)) from None
            raise

    async def pending_deletes(self, bag_id: str) -> int:
        """How many outbox entries of ``bag_id`` are still being worked (not buried)."""
        query = select(func.count()).where(
            external_deletes.c.bag_id == bag_id, external_deletes.c.state == "pending"
        )
        async with self._db.read(single_statement=True) as conn:
            return int(await conn.scalar(query) or 0)
