"""The outbox of external carts still to delete (the ``external_deletes`` table).

A delete is recorded here in the same transaction that marks its bags DELETED (``insert_outbox``
runs on the caller's connection, see ``CartStore.save``), so an external cart is never forgotten
even if the process dies before the platform call; ``OutboxStore`` then hands out the entries
that are due and records each attempt's outcome for the background retrier.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bags.status import Platform
from orchestrator.store.database import Database
from orchestrator.store.tables import external_deletes


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


async def insert_outbox(conn: AsyncConnection, items: Sequence[PendingExternalDelete]) -> None:
    """Insert ``items`` on ``conn``, inside the caller's transaction."""
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


class OutboxStore:
    """Enqueue, hand out and settle pending external deletes."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def enqueue(self, items: Sequence[PendingExternalDelete]) -> None:
        if not items:
            return
        async with self._db.write() as conn:
            await insert_outbox(conn, items)

    async def due(self, now: datetime, limit: int = 50) -> list[PendingExternalDelete]:
        """Entries whose next attempt is due at ``now``, the longest-waiting first."""
        async with self._db.read() as conn:
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

    async def finish(self, delete_id: str) -> None:
        """The external cart is gone: drop its entry."""
        async with self._db.write() as conn:
            await conn.execute(delete(external_deletes).where(external_deletes.c.id == delete_id))

    async def postpone(self, delete_id: str, next_attempt_at: datetime, last_error: str) -> None:
        """Count a failed attempt and schedule the next one."""
        async with self._db.write() as conn:
            await conn.execute(
                update(external_deletes)
                .where(external_deletes.c.id == delete_id)
                .values(
                    attempts=external_deletes.c.attempts + 1,
                    next_attempt_at=next_attempt_at,
                    last_error=last_error,
                )
            )
