"""Leases, outbox claims and idempotency locks run on the database's clock, not the process's.

Each test takes a lease, claim or lock as one process would, on the real clock, then acts as a
second process whose own clock runs a minute ahead (``time-machine`` moves this process's
clock; the database's is untouched): that process must not take it. It is free exactly when
the database's clock passes it, moved with ``Database.clock_offset_s``. Before these deadlines
were the database's, the process ahead took every one of them at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import time_machine

from bags.status import BagStatus
from orchestrator.store import PendingExternalDelete, Store
from orchestrator.store.idempotency import Claimed, InUse, Replay, StoredAnswer
from tests.store.factories import make_app, make_cart, new_id
from tests.store.test_outbox import _entry

AHEAD = timedelta(minutes=1)
JUST_PAST_S = 0.01  # the database's clock has milliseconds (SQLite's)


@contextmanager
def process_clock_ahead(by: timedelta = AHEAD) -> Iterator[None]:
    """This process's clock (``datetime.now``, ``time.time``) ``by`` ahead; the database's as
    it is."""
    with time_machine.travel(datetime.now(UTC) + by, tick=True):
        yield


async def test_a_lease_is_not_taken_by_a_process_whose_clock_runs_ahead(store: Store) -> None:
    cart = make_cart(await make_app(store))
    await store.carts.insert(cart)
    assert await store.leases.acquire(cart.id, "here", 30)
    with process_clock_ahead():
        assert not await store.leases.acquire(cart.id, "ahead", 30)
        store.db.clock_offset_s = 29
        assert not await store.leases.acquire(cart.id, "ahead", 30)
        store.db.clock_offset_s = 30 + JUST_PAST_S
        assert await store.leases.acquire(cart.id, "ahead", 30)
    assert not await store.leases.acquire(cart.id, "here", 30)  # it was taken over


async def test_a_create_born_leased_is_neither_leased_nor_settled_by_a_process_ahead(
    store: Store,
) -> None:
    cart = make_cart(await make_app(store), created=datetime.now(UTC))
    cart.bags[1].status = BagStatus.PENDING  # its platform call still under way
    await store.carts.insert(cart, lease=("create", 26.0))
    with process_clock_ahead():
        assert await store.carts.unsettled(31.0) == []
        assert not await store.leases.acquire(cart.id, "reconciler", 30)
        store.db.clock_offset_s = 25
        assert not await store.leases.acquire(cart.id, "reconciler", 30)
        store.db.clock_offset_s = 31 + JUST_PAST_S  # past the lease and the settle cut-off
        assert await store.carts.unsettled(31.0) == [cart.id]
        assert await store.leases.acquire(cart.id, "reconciler", 30)


async def test_an_expired_cart_leased_elsewhere_is_not_swept_by_a_process_ahead(
    store: Store,
) -> None:
    cart = make_cart(await make_app(store))  # made long ago: expired
    await store.carts.insert(cart)
    assert await store.leases.acquire(cart.id, "sweeper-here", 30)
    with process_clock_ahead():
        assert await store.carts.expired(datetime.now(UTC)) == []
        store.db.clock_offset_s = 30 + JUST_PAST_S
        assert await store.carts.expired(datetime.now(UTC)) == [cart.id]


async def test_a_sweeper_whose_clock_runs_ahead_expires_nothing_early(store: Store) -> None:
    cart = make_cart(await make_app(store), created=datetime.now(UTC))
    cart.expires_at = datetime.now(UTC) + timedelta(seconds=30)
    await store.carts.insert(cart)
    with process_clock_ahead():  # its own clock says the cart is a minute past its expiry
        assert await store.carts.expired(datetime.now(UTC)) == []
        store.db.clock_offset_s = 30 + JUST_PAST_S
        assert await store.carts.expired(datetime.now(UTC)) == [cart.id]


async def test_an_outbox_claim_is_not_taken_by_a_worker_whose_clock_runs_ahead(
    store: Store,
) -> None:
    entry: PendingExternalDelete = _entry()
    await store.outbox.enqueue([entry])
    assert [e.id for e in await store.outbox.claim(datetime.now(UTC), hold_s=30)] == [entry.id]
    with process_clock_ahead():
        assert await store.outbox.claim(datetime.now(UTC), hold_s=30) == []
        store.db.clock_offset_s = 29
        assert await store.outbox.claim(datetime.now(UTC), hold_s=30) == []
        store.db.clock_offset_s = 30 + JUST_PAST_S
        taken = await store.outbox.claim(datetime.now(UTC), hold_s=30)
    assert [e.id for e in taken] == [entry.id]


LOCK = timedelta(seconds=20)
KEEP = timedelta(hours=24)


async def _claim(store: Store, key: str) -> object:
    """A claim with this process's own clock as ``now``, as the HTTP layer makes it."""
    now = datetime.now(UTC)
    return await store.idempotency.claim("app_1", key, "fp", now=now, lock_for=LOCK, keep_for=KEEP)


async def test_a_key_in_flight_is_not_taken_over_by_a_process_whose_clock_runs_ahead(
    store: Store,
) -> None:
    key = new_id("key")
    assert isinstance(await _claim(store, key), Claimed)
    with process_clock_ahead():
        assert isinstance(await _claim(store, key), InUse)
        store.db.clock_offset_s = LOCK.total_seconds() - 1
        assert isinstance(await _claim(store, key), InUse)
        store.db.clock_offset_s = LOCK.total_seconds() + JUST_PAST_S
        assert isinstance(await _claim(store, key), Claimed)


async def test_an_answer_is_replayed_to_a_process_whose_clock_is_past_its_expiry(
    store: Store,
) -> None:
    key = new_id("key")
    first = await _claim(store, key)
    assert isinstance(first, Claimed)
    answer = StoredAnswer(201, {}, b"{}")
    assert await store.idempotency.complete("app_1", key, first.owner, answer)
    with process_clock_ahead(KEEP + AHEAD):
        assert await _claim(store, key) == Replay(answer)
        assert await store.idempotency.purge() == 0
        store.db.clock_offset_s = KEEP.total_seconds() + JUST_PAST_S
        assert await store.idempotency.purge() == 1
