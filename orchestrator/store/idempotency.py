"""Idempotency-Key records: who holds a key, and the answer it got.

Why in the database: a client that lost an answer retries, maybe against another process or
after a restart, and must get the first answer back instead of a second cart. The claim is a
row: ``INSERT ... ON CONFLICT DO NOTHING`` on the (scope, key) primary key, so among any number
of concurrent requests, in any number of processes, exactly one inserts it and runs; the others
read the row and are told to replay, to wait (in flight) or that the key named another request.

Cost, the create path being hot: a first use is one INSERT (``claim``) and one UPDATE
(``complete``), each its own short write transaction (the claim must be committed before the
work so other processes see it). Only a key already present costs a SELECT, and taking over a
stale row an UPDATE more.

A row is stale, and taken over by the next claim (a compare-and-swap on ``owner``), when its
answer is older than its ``expires_at`` or when it is still in flight past ``locked_until`` (the
process running it died). ``purge`` deletes expired rows; nothing depends on it but the table's
size. Both deadlines are written and judged on the database's clock (``db_clock.py``), in the
statement that writes or judges them, so a process whose clock runs ahead never takes over a
key still in flight in another; ``created_at`` alone is the application's clock.
"""

from __future__ import annotations

import secrets
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Row, and_, bindparam, delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from orchestrator.store.database import Database
from orchestrator.store.tables import idempotency_keys as keys

_CLAIM_ROUNDS = 3  # a row vanishing or changing between our statements: try again, boundedly


@dataclass(frozen=True)
class StoredAnswer:
    status: int
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class Claimed:
    """This request holds the key: run it, then ``complete`` or ``release`` with ``owner``.

    ``cart_id``: the claim was taken over from a request that died after writing this cart
    (the key's lock lapsed): answer that cart, never make another."""

    owner: str
    cart_id: str | None = None


@dataclass(frozen=True)
class KeyInFlight:
    """The claim the current request holds (``IN_FLIGHT``), for the cart's insert to name
    its cart on the key's record in the same transaction (``bind_cart_rows``)."""

    scope: str
    key: str
    owner: str


IN_FLIGHT: ContextVar[KeyInFlight | None] = ContextVar("idempotency_in_flight", default=None)

# The cart's insert names its cart on the claim, if the claim is still its request's.
BIND_CART = (
    update(keys)
    .where(
        keys.c.scope == bindparam("k_scope"),
        keys.c.key == bindparam("k_key"),
        keys.c.owner == bindparam("k_owner"),
    )
    .values(cart_id=bindparam("k_cart"), phase="cart_written")
)


def bind_cart_rows(cart_id: str) -> list[dict[str, Any]]:
    """``BIND_CART``'s row for the current request's claim, if it holds one."""
    held = IN_FLIGHT.get()
    if held is None:
        return []
    return [{"k_scope": held.scope, "k_key": held.key, "k_owner": held.owner, "k_cart": cart_id}]


@dataclass(frozen=True)
class Replay:
    answer: StoredAnswer


@dataclass(frozen=True)
class InUse:
    """Another request with this key and body is still running (until ``locked_until`` at most)."""

    locked_until: datetime


@dataclass(frozen=True)
class Reused:
    """The key was first used for another request (its fingerprint differs)."""


Outcome = Claimed | Replay | InUse | Reused
AnyRow = Row[*tuple[Any, ...]]


def _told(row: AnyRow, fingerprint: str) -> Outcome | None:
    """What a request of ``fingerprint`` is told about the key's ``row``; None when the row is
    stale and may be taken over."""
    in_flight = row.status is None
    if not row.stale:
        if row.fingerprint != fingerprint:
            return Reused()
        if in_flight:
            return InUse(row.locked_until)
        return Replay(StoredAnswer(row.status, dict(row.headers or {}), bytes(row.body)))
    if in_flight and row.cart_id is not None and row.fingerprint != fingerprint:
        return Reused()  # the key names a cart another request made
    return None


class IdempotencyStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    def _stale(self) -> ColumnElement[bool]:
        """The row's answer has expired, or it is in flight past its lock: by the database."""
        now = self._db.clock()
        return or_(
            keys.c.expires_at <= now, and_(keys.c.status.is_(None), keys.c.locked_until <= now)
        )

    async def claim(
        self,
        scope: str,
        key: str,
        fingerprint: str,
        *,
        now: datetime,
        lock_for: timedelta,
        keep_for: timedelta,
    ) -> Outcome:
        """Claim ``key`` in ``scope`` for a request of ``fingerprint``, or say why not.

        ``lock_for``: how long an unfinished claim holds (past it, the claimer is presumed
        dead); ``keep_for``: how long, from now, the answer will be kept; both counted on the
        database's clock. ``now`` (the application's clock) is recorded as ``created_at``.
        """
        owner = secrets.token_hex(16)
        fresh = {
            "fingerprint": fingerprint,
            "owner": owner,
            "locked_until": self._db.clock(lock_for.total_seconds()),
            "status": None,
            "headers": None,
            "body": None,
            "created_at": now,
            "expires_at": self._db.clock(keep_for.total_seconds()),
        }
        for _ in range(_CLAIM_ROUNDS):
            async with self._db.write() as conn:
                if await self._insert(conn, {"scope": scope, "key": key, **fresh}):
                    return Claimed(owner)
            row = await self._read(scope, key)
            if row is None:
                continue  # released or purged since our insert: insert again
            told = _told(row, fingerprint)
            if told is not None:
                return told
            # A claim that lapsed in flight keeps the cart its request wrote (the retry answers
            # that cart); an expired answer starts afresh.
            named = row.cart_id if row.status is None else None
            taking = {**fresh, "cart_id": named, "phase": row.phase if named else None}
            if await self._take_over(scope, key, row.owner, taking):
                return Claimed(owner, cart_id=named)
            # another request took it over first: read again
        # Other requests with this key kept racing ours: one of them is running it now.
        return InUse(now + lock_for)

    async def _read(self, scope: str, key: str) -> AnyRow | None:
        """The key's row with whether it is ``stale``, or None when there is none."""
        async with self._db.read(single_statement=True) as conn:
            return (
                await conn.execute(
                    select(keys, self._stale().label("stale")).where(
                        keys.c.scope == scope, keys.c.key == key
                    )
                )
            ).one_or_none()

    async def _take_over(self, scope: str, key: str, owner: str, values: dict[str, Any]) -> bool:
        """Write ``values`` over the stale row ``owner`` holds; False when it is no longer
        ``owner``'s or no longer stale."""
        async with self._db.write() as conn:
            taken = await conn.execute(
                update(keys)
                .where(
                    keys.c.scope == scope,
                    keys.c.key == key,
                    keys.c.owner == owner,
                    self._stale(),  # still: its owner may have completed it meanwhile
                )
                .values(**values)
            )
        return taken.rowcount == 1

    async def _insert(self, conn: AsyncConnection, row: dict[str, Any]) -> bool:
        """Insert ``row`` unless its key exists; True when inserted."""
        if self._db.sqlite:
            lite = sqlite.insert(keys).values(row).on_conflict_do_nothing()
            result = await conn.execute(lite)
        else:
            pg = postgresql.insert(keys).values(row).on_conflict_do_nothing()
            result = await conn.execute(pg)
        return result.rowcount == 1

    async def complete(self, scope: str, key: str, owner: str, answer: StoredAnswer) -> bool:
        """Store ``answer`` on the claim ``owner`` holds; False when the claim was lost (it
        expired and another request took the key over)."""
        async with self._db.write() as conn:
            result = await conn.execute(
                update(keys)
                .where(keys.c.scope == scope, keys.c.key == key, keys.c.owner == owner)
                .values(
                    status=answer.status,
                    headers=answer.headers,
                    body=answer.body,
                    locked_until=None,
                )
            )
        return result.rowcount == 1

    async def release(self, scope: str, key: str, owner: str) -> bool:
        """Give the key up (no answer kept): the next request with it runs afresh."""
        async with self._db.write() as conn:
            result = await conn.execute(
                delete(keys).where(keys.c.scope == scope, keys.c.key == key, keys.c.owner == owner)
            )
        return result.rowcount == 1

    async def lapse(self, scope: str, key: str, owner: str) -> None:
        """Let the claim ``owner`` holds lapse now, keeping what it names (its cart): the next
        request with the key takes it over at once instead of waiting out the lock."""
        async with self._db.write() as conn:
            await conn.execute(
                update(keys)
                .where(
                    keys.c.scope == scope,
                    keys.c.key == key,
                    keys.c.owner == owner,
                    keys.c.status.is_(None),
                )
                .values(locked_until=self._db.clock())
            )

    async def purge(self) -> int:
        """Delete every record past its ``expires_at`` (the database's clock); how many went. An
        in-flight claim's lock is far shorter than its expiry, so no running request loses its
        key here."""
        async with self._db.write() as conn:
            result = await conn.execute(delete(keys).where(keys.c.expires_at <= self._db.clock()))
        return int(result.rowcount or 0)
