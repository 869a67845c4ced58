"""A cart's lease: one change of a cart at a time, across tasks and processes.

The lease is two columns of the cart's own row, taken and released on the database's clock.
"""

from __future__ import annotations

from sqlalchemy import or_, update

from orchestrator.store.database import Database
from orchestrator.store.tables import carts

__all__ = ["LeaseStore"]


class LeaseStore:
    """A cart's lease: two columns of its own row (``lease_owner``, ``lease_until``), taken and
    released with single conditional UPDATEs; a lease whose holder died simply expires."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def acquire(self, cart_id: str, owner: str, ttl_s: float) -> bool:
        """Take (or renew) the cart's lease for ``ttl_s``; False if another owner holds it live
        or the cart does not exist. Held and taken over on the database's clock."""
        async with self._db.write() as conn:
            result = await conn.execute(
                update(carts)
                .where(
                    carts.c.id == cart_id,
                    or_(
                        carts.c.lease_until.is_(None),
                        carts.c.lease_until < self._db.clock(),
                        carts.c.lease_owner == owner,
                    ),
                )
                .values(lease_owner=owner, lease_until=self._db.clock(ttl_s))
            )
        return result.rowcount == 1

    async def release(self, cart_id: str, owner: str) -> None:
        """Release the lease if ``owner`` still holds it (a no-op otherwise)."""
        async with self._db.write() as conn:
            await conn.execute(
                update(carts)
                .where(carts.c.id == cart_id, carts.c.lease_owner == owner)
                .values(lease_owner=None, lease_until=None)
            )
