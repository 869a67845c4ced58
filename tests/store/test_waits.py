"""Database waits end with the request's deadline, on both engines, and leak nothing.

The write is made to wait the way each engine makes it wait under load: on SQLite behind
another write holding the in-process write lock, on PostgreSQL behind a pool whose every
connection is checked out. Nothing sleeps to wait for state: the holder signals (an event).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from errors import Overloaded
from orchestrator.store import Store
from orchestrator.store.database import Database
from orchestrator.store.waits import REQUEST_BUDGET, SETTLE_S, RequestBudget


@contextlib.asynccontextmanager
async def writes_blocked(db: Database) -> AsyncIterator[None]:
    """While inside, a new write must wait: SQLite's write lock held, or PostgreSQL's pool empty."""
    if db.sqlite:
        taken, done = asyncio.Event(), asyncio.Event()

        async def hold() -> None:
            async with db.write():
                taken.set()
                await done.wait()

        holder = asyncio.create_task(hold())  # created outside any budget: it has none
        await asyncio.wait_for(taken.wait(), 5)
        try:
            yield
        finally:
            done.set()
            await holder
        return
    pool: Any = db.engine.pool
    held: list[AsyncConnection] = []
    try:
        for _ in range(pool.size() + pool._max_overflow):
            held.append(await db.engine.connect().start())
        yield
    finally:
        for conn in held:
            await conn.close()


@contextlib.contextmanager
def budget(seconds: float, *, wrote: bool = False) -> Any:
    given = RequestBudget(time.monotonic() + seconds, wrote=wrote)
    token = REQUEST_BUDGET.set(given)
    try:
        yield given
    finally:
        REQUEST_BUDGET.reset(token)


async def timed_write(db: Database) -> float:
    """Seconds until a one-statement write gave up with ``Overloaded`` (it must give up)."""
    started = time.monotonic()
    with pytest.raises(Overloaded) as raised:
        async with db.write() as conn:
            await conn.execute(text("SELECT 1"))
    assert raised.value.data == {"reason": "database_wait"}
    assert raised.value.status == 503 and raised.value.headers["Retry-After"] == "1"
    return time.monotonic() - started


async def test_a_waiting_write_gives_up_with_the_request_deadline(store: Store) -> None:
    db = store.db
    async with writes_blocked(db):
        with budget(0.4) as given:
            elapsed = await timed_write(db)
        assert given.gave_up == 1 and not given.wrote
    # The deadline's 0.4 s, not the 10 s pool timeout: a real wait, so a generous upper bound.
    assert 0.3 < elapsed < 0.4 + 5.0, elapsed
    async with db.write() as conn:  # nothing leaked: the lock and the pool serve again
        await conn.execute(text("SELECT 1"))
    assert getattr(db.engine.pool, "checkedout", lambda: 0)() == 0


async def test_a_request_past_its_deadline_gives_up_at_once(store: Store) -> None:
    async with writes_blocked(store.db):
        with budget(-1.0):
            elapsed = await timed_write(store.db)
    assert elapsed < 1.5, elapsed  # its one chance (START_MIN_S), not SETTLE_S or the pool's


async def test_a_finishing_request_waits_at_least_the_settle_time(
    migrated_database_url: str,
) -> None:
    # A request that has written (its platform calls may have made carts) still gets
    # settle_s past its deadline for its outcome write.
    db = Database.from_url(migrated_database_url)
    db._settle_s = 0.5
    try:
        async with writes_blocked(db):
            with budget(-1.0, wrote=True):
                elapsed = await timed_write(db)
        assert 0.4 < elapsed < SETTLE_S, elapsed  # its 0.5 s, not the default settle time
    finally:
        await db.close()


async def test_outside_a_request_the_wait_is_bounded_by_db_wait_s(
    migrated_database_url: str,
) -> None:
    quick = Store.from_url(migrated_database_url, wait_s=0.3)
    try:
        assert REQUEST_BUDGET.get() is None
        async with writes_blocked(quick.db):
            elapsed = await timed_write(quick.db)
        assert 0.2 < elapsed < 0.3 + 5.0, elapsed  # wait_s, not the default 10 s: generous
    finally:
        await quick.close()


async def test_a_write_that_gets_its_turn_in_time_succeeds(store: Store) -> None:
    db = store.db
    with budget(5.0) as given:
        async with db.write() as conn:
            await conn.execute(text("SELECT 1"))
        assert given.wrote and given.gave_up == 0
