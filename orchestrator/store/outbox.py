"""The outbox of external carts still to delete (the ``external_deletes`` table).

A delete is recorded here in the same transaction that marks its bags DELETED (``insert_outbox``
runs on the caller's connection, see ``CartStore.save``), so an external cart is never forgotten
even if the process dies before the platform call; ``OutboxStore`` then hands out the entries
that are due and records each attempt's outcome for the background workers.

Entries are *claimed* before they are worked on (``claimed_until``, set in the same transaction
that selects them: ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, the single writer on SQLite), so
two processes never work the same entry; a claim whose worker died simply expires. Claims are
written and compared on the database's clock (``db_clock.py``), so a worker whose clock runs
ahead takes no live claim; when an entry is due (``next_attempt_at``) is a schedule, written
and compared on the application's clock (the caller's ``now``). An entry that can never
succeed, or failed for longer than the give-up window (``first_failed_at`` is where that
window starts), is *buried* (``dead``, or ``undetectable`` for a create whose outcome the
platform cannot tell): kept and counted, never retried by itself, until an operator
``requeue``s it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bags import Platform
from orchestrator.store.columns import copied
from orchestrator.store.database import Database
from orchestrator.store.tables import external_deletes

Kind = Literal["delete", "unknown_create"]
Burial = Literal["dead", "undetectable"]
State = Literal["pending", "dead", "undetectable"]
STATES: tuple[State, ...] = ("pending", "dead", "undetectable")
Requeue = Literal["requeued", "missing", "pending"]


@dataclass(frozen=True)
class PendingExternalDelete:
    """One entry of the outbox of external carts still to delete.

    ``kind="unknown_create"``: a create whose outcome is unknown; ``external_id`` is the
    reference it was sent with (the bag's id), which finds the cart only on platforms that take
    caller-chosen ids.
    """

    id: str
    cart_id: str
    bag_id: str
    merchant_id: str
    platform: Platform
    external_id: str
    attempts: int = 0
    next_attempt_at: datetime | None = None  # None on enqueue: due at once
    last_error: str | None = None
    kind: Kind = "delete"
    first_failed_at: datetime | None = None  # the first real failure: the give-up window's start
    state: State = "pending"


# The external_deletes columns holding the entry's field of the same name as it is.
_ENTRY_COPIED = (
    "id",
    "cart_id",
    "bag_id",
    "merchant_id",
    "external_id",
    "attempts",
    "last_error",
    "kind",
)


def _entry(row: Any) -> PendingExternalDelete:
    return PendingExternalDelete(
        **copied(row, _ENTRY_COPIED),
        platform=Platform(row.platform),
        next_attempt_at=row.next_attempt_at,
        first_failed_at=row.first_failed_at,
        state=row.state,
    )


def _workable(db: Database, now: datetime) -> list[Any]:
    """Pending, due at ``now`` (the app's clock) and unclaimed (the database's clock)."""
    t = external_deletes.c
    return [
        t.state == "pending",
        t.next_attempt_at <= now,
        or_(t.claimed_until.is_(None), t.claimed_until < db.clock()),
    ]


async def insert_outbox(conn: AsyncConnection, items: Sequence[PendingExternalDelete]) -> None:
    """Insert ``items`` on ``conn``, inside the caller's transaction."""
    if not items:
        return
    now = datetime.now(UTC)
    rows = [
        {
            **copied(item, _ENTRY_COPIED),
            "platform": item.platform,
            "next_attempt_at": item.next_attempt_at or now,
            "created_at": now,
            "state": "pending",
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
        """Pending, unclaimed entries due at ``now``, the longest-waiting first."""
        async with self._db.read() as conn:
            rows = await conn.execute(
                select(external_deletes)
                .where(*_workable(self._db, now))
                .order_by(external_deletes.c.next_attempt_at, external_deletes.c.id)
                .limit(limit)
            )
            return [_entry(row) for row in rows]

    async def claim(
        self, now: datetime, *, hold_s: float, limit: int = 50
    ) -> list[PendingExternalDelete]:
        """Claim up to ``limit`` entries due at ``now`` for ``hold_s`` seconds of the database's
        clock: no other worker gets them until the claim is settled (``finish``, ``postpone``,
        ``bury``) or runs out."""
        t = external_deletes.c
        pick = (
            select(external_deletes)
            .where(*_workable(self._db, now))
            .order_by(t.next_attempt_at, t.id)
        )
        async with self._db.write() as conn:
            if conn.dialect.name == "postgresql":
                pick = pick.with_for_update(skip_locked=True)
            rows = (await conn.execute(pick.limit(limit))).all()
            if rows:
                await conn.execute(
                    update(external_deletes)
                    .where(t.id.in_([row.id for row in rows]))
                    .values(claimed_until=self._db.clock(hold_s))
                )
        return [_entry(row) for row in rows]

    async def finish(self, delete_id: str) -> None:
        """The external cart is gone: drop its entry."""
        async with self._db.write() as conn:
            await conn.execute(delete(external_deletes).where(external_deletes.c.id == delete_id))

    async def postpone(
        self, delete_id: str, next_attempt_at: datetime, last_error: str, *, failed_at: datetime
    ) -> None:
        """Count a failed attempt, start the failure clock at ``failed_at`` if it has not
        started, schedule the next attempt and let the claim go."""
        t = external_deletes.c
        async with self._db.write() as conn:
            await conn.execute(
                update(external_deletes)
                .where(t.id == delete_id)
                .values(
                    attempts=t.attempts + 1,
                    first_failed_at=func.coalesce(t.first_failed_at, failed_at),
                    next_attempt_at=next_attempt_at,
                    last_error=last_error[:500],
                    claimed_until=None,
                )
            )

    async def defer(self, delete_id: str, next_attempt_at: datetime, last_error: str) -> None:
        """Schedule the next attempt of one that did not really fail (throttled, circuit open,
        out of time): neither counted nor on the failure clock."""
        async with self._db.write() as conn:
            await conn.execute(
                update(external_deletes)
                .where(external_deletes.c.id == delete_id)
                .values(
                    next_attempt_at=next_attempt_at, last_error=last_error[:500], claimed_until=None
                )
            )

    async def bury(self, delete_id: str, state: Burial, reason: str) -> None:
        """Stop working on an entry that cannot succeed; it stays, counted, for an operator
        to list (``page``) and ``requeue``."""
        async with self._db.write() as conn:
            await conn.execute(
                update(external_deletes)
                .where(external_deletes.c.id == delete_id)
                .values(
                    state=state,
                    attempts=external_deletes.c.attempts + 1,
                    last_error=reason[:500],
                    claimed_until=None,
                )
            )

    async def page(
        self, state: State | None, *, limit: int, after: str | None = None
    ) -> list[PendingExternalDelete]:
        """Up to ``limit`` entries (of ``state``, or all) by id, after the id ``after``."""
        t = external_deletes.c
        query = select(external_deletes).order_by(t.id).limit(limit)
        if state is not None:
            query = query.where(t.state == state)
        if after is not None:
            query = query.where(t.id > after)
        async with self._db.read(single_statement=True) as conn:
            return [_entry(row) for row in await conn.execute(query)]

    async def get(self, delete_id: str) -> PendingExternalDelete | None:
        async with self._db.read(single_statement=True) as conn:
            row = (
                await conn.execute(
                    select(external_deletes).where(external_deletes.c.id == delete_id)
                )
            ).first()
            return None if row is None else _entry(row)

    async def requeue(self, delete_id: str, now: datetime) -> Requeue:
        """A buried entry back to ``pending``, due at ``now``, its attempts and failure clock
        reset (its ``last_error`` kept); ``pending`` when it is not buried, ``missing`` when
        there is no such entry."""
        t = external_deletes.c
        async with self._db.write() as conn:
            done = await conn.execute(
                update(external_deletes)
                .where(t.id == delete_id, t.state.in_(("dead", "undetectable")))
                .values(
                    state="pending",
                    attempts=0,
                    first_failed_at=None,
                    next_attempt_at=now,
                    claimed_until=None,
                )
            )
            if done.rowcount:
                return "requeued"
            found = await conn.execute(select(t.id).where(t.id == delete_id))
            return "pending" if found.first() is not None else "missing"

    async def depths(self) -> dict[str, int]:
        """How many entries are in each state (``pending``, ``dead``, ``undetectable``)."""
        t = external_deletes.c
        async with self._db.read(single_statement=True) as conn:
            rows = await conn.execute(select(t.state, func.count()).group_by(t.state))
            return {str(state): int(n) for state, n in rows}
