"""Group commit of the create path's writes, on both engines: batched when writes arrive
together, each caller told only its own outcome, and nothing written for a caller that gave up.
"""

from __future__ import annotations

import asyncio
import copy
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from bags.models import Cart
from bags.status import BagStatus
from errors import Overloaded
from orchestrator.store import StaleCart, Store
from orchestrator.store.tables import carts
from tests.store.factories import T0, count_carts, make_app, make_cart
from tests.store.test_waits import budget, writes_blocked


def pending(app_id: str, bags: int = 3) -> Cart:
    cart = make_cart(app_id, bags=bags, lines=1, errors=0)
    for bag in cart.bags:
        bag.status, bag.external_id, bag.checkout_url = BagStatus.PENDING, None, None
    return cart


async def test_concurrent_creates_share_transactions_and_all_land(store: Store) -> None:
    app_id = await make_app(store)
    carts = [pending(app_id) for _ in range(40)]
    gc = store.carts.group_commit
    before = copy.deepcopy(gc.stats)
    async with writes_blocked(store.db):  # the writes arrive while the database is busy
        inserts = [asyncio.create_task(store.carts.insert(c)) for c in carts]
        await asyncio.sleep(0)
        assert not any(t.done() for t in inserts)
    await asyncio.gather(*inserts)
    flushes = gc.stats.flushes - before.flushes
    assert gc.stats.writes - before.writes == 40
    assert flushes < 40 and gc.stats.largest > 1, gc.stats  # several writes per transaction
    for cart in carts:
        for bag in cart.bags:
            bag.move_to(BagStatus.IN_PROGRESS)
            bag.external_id = f"ext-{bag.id}"
        cart.date_last_modified = T0 + timedelta(seconds=1)
    await asyncio.gather(*(store.carts.record_creation(c) for c in carts))
    for cart in carts:
        loaded = await store.carts.get(app_id, cart.id)
        assert loaded is not None and loaded.version == 1
        assert [b.external_id for b in loaded.bags] == [f"ext-{b.id}" for b in loaded.bags]
        assert loaded.date_last_modified == T0 + timedelta(seconds=1)


async def test_one_bad_write_fails_alone_and_its_batch_mates_land(store: Store) -> None:
    app_id = await make_app(store)
    good = [pending(app_id) for _ in range(6)]
    bad = pending("app_that_does_not_exist")  # a foreign-key violation in the batch
    gc = store.carts.group_commit
    alone = gc.stats.alone
    async with writes_blocked(store.db):
        tasks = [asyncio.create_task(store.carts.insert(c)) for c in [*good[:3], bad, *good[3:]]]
        await asyncio.sleep(0)
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert isinstance(results[3], IntegrityError)
    assert [r for i, r in enumerate(results) if i != 3] == [None] * 6
    assert gc.stats.alone > alone  # the batch was split, each write run again alone
    assert await count_carts(store) == 6
    for cart in good:
        assert await store.carts.get(app_id, cart.id) is not None


async def test_a_stale_outcome_in_a_batch_is_refused_alone(store: Store) -> None:
    app_id = await make_app(store)
    carts = [pending(app_id) for _ in range(5)]
    for cart in carts:
        await store.carts.insert(cart)
    moved = copy.deepcopy(carts[2])
    await store.carts.save(moved)  # another change won: carts[2] is no longer at version 0
    for cart in carts:
        for bag in cart.bags:
            bag.move_to(BagStatus.IN_PROGRESS)
            bag.external_id = f"ext-{bag.id}"
    async with writes_blocked(store.db):
        tasks = [asyncio.create_task(store.carts.record_creation(c)) for c in carts]
        await asyncio.sleep(0)
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert isinstance(results[2], StaleCart)
    assert [r for i, r in enumerate(results) if i != 2] == [None] * 4
    stale = await store.carts.get(app_id, carts[2].id)
    assert stale is not None and {b.external_id for b in stale.bags} == {None}
    assert stale.version == 1  # the winner's save, nothing of the stale outcome
    for i in (0, 1, 3, 4):
        loaded = await store.carts.get(app_id, carts[i].id)
        assert loaded is not None and loaded.version == 1
        assert all(b.external_id for b in loaded.bags)


async def test_a_write_still_queued_at_its_deadline_gives_up_and_writes_nothing(
    store: Store,
) -> None:
    if not store.db.sqlite:
        pytest.skip("the queue waits behind SQLite's write lock; PostgreSQL's pool is test_waits'")
    app_id = await make_app(store)
    cart = pending(app_id)
    async with writes_blocked(store.db):
        with budget(0.3) as given, pytest.raises(Overloaded) as raised:
            await store.carts.insert(cart)
        assert raised.value.data == {"reason": "database_wait"}
        assert given.gave_up == 1 and not given.wrote
    later = pending(app_id)
    with budget(5.0) as given:
        await store.carts.insert(later)
        assert given.wrote  # a committed write marks the request as finishing
    assert await store.carts.get(app_id, cart.id) is None
    assert await store.carts.get(app_id, later.id) is not None


async def test_a_lone_write_is_flushed_alone(store: Store) -> None:
    # No other write in flight: the write is flushed at once, alone (one transaction).
    app_id = await make_app(store)
    gc = store.carts.group_commit
    before = gc.stats.flushes
    await store.carts.insert(pending(app_id))
    assert gc.stats.flushes == before + 1


async def test_a_leaseless_cart_first_in_a_batch_keeps_the_next_carts_lease(store: Store) -> None:
    app_id = await make_app(store)
    empty = make_cart(app_id, bags=0, errors=0)
    leased = pending(app_id)
    async with writes_blocked(store.db):  # both in one batch, the lease-less one first
        first = asyncio.create_task(store.carts.insert(empty))
        second = asyncio.create_task(store.carts.insert(leased, lease=("lease_x", 300.0)))
        await asyncio.sleep(0)
    await asyncio.gather(first, second)
    async with store.db.read() as conn:
        rows = (
            await conn.execute(
                select(
                    carts.c.lease_owner,
                    carts.c.lease_until,
                    store.db.clock(300).label("at_most"),
                ).where(carts.c.id.in_([leased.id, empty.id]))
            )
        ).all()
    lease = {r.lease_owner: r for r in rows}
    assert set(lease) == {"lease_x", None} and lease[None].lease_until is None
    # Five minutes on the database's clock from the insert, which came just before this read.
    held = lease["lease_x"]
    assert timedelta(0) <= held.at_most - held.lease_until < timedelta(seconds=5)


async def test_a_finishing_write_promotes_the_flush_past_starting_writers(store: Store) -> None:
    if not store.db.sqlite:
        pytest.skip("the write lock's queues are SQLite's; PostgreSQL has row locks")
    app_id = await make_app(store)
    recorded = pending(app_id)
    await store.carts.insert(recorded)
    for bag in recorded.bags:
        bag.move_to(BagStatus.IN_PROGRESS)
        bag.external_id = f"ext-{bag.id}"
    order: list[str] = []

    async def competitor() -> None:  # a starting writer outside the group commit
        async with store.db.write():
            order.append("competitor")

    async def outcome() -> None:
        with budget(5.0, wrote=True):  # a create that has made its external carts
            await store.carts.record_creation(recorded)
        order.append("outcome")

    async with writes_blocked(store.db):
        other = asyncio.create_task(competitor())  # queued first
        await asyncio.sleep(0)
        insert = asyncio.create_task(store.carts.insert(pending(app_id)))  # flush waits: starting
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        finishing = asyncio.create_task(outcome())
        await asyncio.sleep(0)
    await asyncio.gather(insert, other, finishing)
    assert order == ["outcome", "competitor"], order


async def test_a_slow_flush_is_logged_with_where_the_time_went(store: Store) -> None:
    if not store.db.sqlite:
        pytest.skip("held here behind SQLite's write lock")
    from structlog.testing import capture_logs

    from orchestrator.store import group_commit

    app_id = await make_app(store)
    with capture_logs() as logs:
        async with writes_blocked(store.db):
            slow = asyncio.create_task(store.carts.insert(pending(app_id)))
            await asyncio.sleep(group_commit.SLOW_FLUSH_S + 0.05)  # the write lock held this long
        await slow
        await store.carts.insert(pending(app_id))  # a quick one: not logged
    events = [e for e in logs if e["event"] == "group_commit_slow"]
    assert len(events) == 1, logs
    assert events[0]["writes"] == 1 and events[0]["wait_ms"] >= 250
    assert events[0]["log_level"] == "warning"


async def test_the_writer_never_checkpoints_and_the_checkpointer_does(store: Store) -> None:
    # SQLite checkpoints inside whichever commit passes 1,000 WAL pages: on the group commit's
    # writer that stalled every create for 300-470 ms. The writer's are off; a PASSIVE one runs
    # on a thread of its own every CHECKPOINT_EVERY writer transactions.
    if not store.db.sqlite:
        pytest.skip("SQLite's WAL")
    from orchestrator.store.database import CHECKPOINT_EVERY

    sync = store.db._sync
    assert sync is not None
    with sync.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 0
    app_id = await make_app(store)
    before = store.db.checkpoints
    for _ in range(CHECKPOINT_EVERY + 1):
        await store.carts.insert(pending(app_id))
    running = store.db._checkpoint_running
    if running is not None:
        await asyncio.wait_for(asyncio.shield(running), 10)
    assert store.db.checkpoints == before + 1
