"""The Idempotency-Key store on both engines: claim, replay, reuse, in flight, takeover, purge.

Time is moved on the database's clock (``Database.clock_offset_s``), never slept through:
locks and expiry are the database's; the ``now`` passed in is only recorded as ``created_at``.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import func, select

from orchestrator.store import Store
from orchestrator.store.idempotency import (
    Claimed,
    InUse,
    Outcome,
    Replay,
    Reused,
    StoredAnswer,
)
from orchestrator.store.tables import idempotency_keys
from tests.store.factories import T0

LOCK = timedelta(seconds=20)
KEEP = timedelta(hours=24)
ANSWER = StoredAnswer(201, {"Content-Type": "application/json", "Location": "/x"}, b'{"id":1}')


async def _claim(
    store: Store,
    key: str = "k",
    fp: str = "fp",
    later: timedelta | None = None,
    scope: str = "app_1",
) -> Outcome:
    """A claim at the database's now (+ ``later``), whatever the process's clock (``T0``)."""
    if later is not None:
        store.db.clock_offset_s = later.total_seconds()
    return await store.idempotency.claim(scope, key, fp, now=T0, lock_for=LOCK, keep_for=KEEP)


async def _rows(store: Store) -> int:
    async with store.db.read(single_statement=True) as conn:
        return int(await conn.scalar(select(func.count()).select_from(idempotency_keys)) or 0)


async def test_first_claim_then_in_use_then_replay(store: Store) -> None:
    first = await _claim(store)
    assert isinstance(first, Claimed)
    assert isinstance(await _claim(store, later=timedelta(seconds=1)), InUse)
    assert await store.idempotency.complete("app_1", "k", first.owner, ANSWER)
    assert await _claim(store, later=timedelta(hours=23)) == Replay(ANSWER)


async def test_another_fingerprint_is_reused_in_flight_or_done(store: Store) -> None:
    first = await _claim(store)
    assert isinstance(first, Claimed)
    assert await _claim(store, fp="other") == Reused()
    await store.idempotency.complete("app_1", "k", first.owner, ANSWER)
    assert await _claim(store, fp="other") == Reused()


async def test_keys_are_scoped(store: Store) -> None:
    assert isinstance(await _claim(store, scope="app_1"), Claimed)
    assert isinstance(await _claim(store, scope="app_2"), Claimed)
    assert isinstance(await _claim(store, scope="admin"), Claimed)
    assert await _rows(store) == 3


async def test_release_frees_the_key(store: Store) -> None:
    first = await _claim(store)
    assert isinstance(first, Claimed)
    assert await store.idempotency.release("app_1", "k", first.owner)
    again = await _claim(store, fp="another body now")
    assert isinstance(again, Claimed)
    assert not await store.idempotency.release("app_1", "k", first.owner)  # not its claim now


async def test_an_abandoned_claim_is_taken_over_after_its_lock(store: Store) -> None:
    crashed = await _claim(store)
    assert isinstance(crashed, Claimed)
    assert isinstance(await _claim(store, later=LOCK - timedelta(seconds=1)), InUse)
    taker = await _claim(store, later=LOCK)
    assert isinstance(taker, Claimed) and taker.owner != crashed.owner
    # The crashed claimer, coming back, cannot store over the new claim.
    assert not await store.idempotency.complete("app_1", "k", crashed.owner, ANSWER)
    assert await store.idempotency.complete("app_1", "k", taker.owner, ANSWER)
    assert await _claim(store, later=LOCK) == Replay(ANSWER)


async def test_an_answer_expires_after_24_hours(store: Store) -> None:
    first = await _claim(store)
    assert isinstance(first, Claimed)
    await store.idempotency.complete("app_1", "k", first.owner, ANSWER)
    again = await _claim(store, fp="new body", later=KEEP)  # expired: a fresh claim
    assert isinstance(again, Claimed)


async def test_purge_deletes_only_expired_keys(store: Store) -> None:
    old = await _claim(store, key="old")
    assert isinstance(old, Claimed)
    await store.idempotency.complete("app_1", "old", old.owner, ANSWER)
    assert isinstance(await _claim(store, key="new", later=timedelta(hours=1)), Claimed)
    store.db.clock_offset_s = (KEEP - timedelta(seconds=1)).total_seconds()
    assert await store.idempotency.purge() == 0
    store.db.clock_offset_s = KEEP.total_seconds()
    assert await store.idempotency.purge() == 1
    async with store.db.read(single_statement=True) as conn:
        assert list(await conn.scalars(select(idempotency_keys.c.key))) == ["new"]


async def test_concurrent_claims_give_exactly_one_owner(store: Store) -> None:
    outcomes = await asyncio.gather(*(_claim(store) for _ in range(30)))
    assert sum(isinstance(o, Claimed) for o in outcomes) == 1
    assert all(isinstance(o, Claimed | InUse) for o in outcomes)


async def test_concurrent_takeovers_of_a_stale_claim_give_one_owner(store: Store) -> None:
    assert isinstance(await _claim(store), Claimed)
    later = LOCK + timedelta(seconds=1)
    outcomes = await asyncio.gather(*(_claim(store, later=later) for _ in range(20)))
    assert sum(isinstance(o, Claimed) for o in outcomes) == 1
    assert all(isinstance(o, Claimed | InUse) for o in outcomes)


async def test_two_stores_on_one_database_share_the_keys(
    store: Store, migrated_database_url: str
) -> None:
    """A second process (its own engine and pool) sees the first's claim and answer."""
    other = Store.from_url(migrated_database_url)
    try:
        first = await _claim(store)
        assert isinstance(first, Claimed)
        assert isinstance(await _claim(other), InUse)
        await store.idempotency.complete("app_1", "k", first.owner, ANSWER)
        assert await _claim(other) == Replay(ANSWER)
    finally:
        await other.close()
