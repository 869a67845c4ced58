"""The external deletes outbox: due, postpone, finish; written atomically with ``save_cart``."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from adapters.elastic_path import ELASTIC_PATH
from bags.status import BagStatus, CartStatus
from orchestrator.store import PendingExternalDelete, Store
from tests.store.factories import T0, make_app, make_cart, new_id


def _entry(cart_id: str = "cart_x", **kw: object) -> PendingExternalDelete:
    values: dict[str, object] = {
        "id": new_id("xdel"),
        "cart_id": cart_id,
        "bag_id": new_id("bag"),
        "merchant_id": "mer_1",
        "platform": ELASTIC_PATH,
        "external_id": "ext-" + new_id("x"),
    }
    values.update(kw)
    return PendingExternalDelete(**values)  # type: ignore[arg-type]


async def test_due_postpone_finish(store: Store) -> None:
    now = datetime.now(UTC)
    due_now = _entry()
    later = _entry(next_attempt_at=now + timedelta(hours=1))
    await store.outbox.enqueue([due_now, later])
    await store.outbox.enqueue([])

    due = await store.outbox.due(now + timedelta(seconds=1))
    assert [d.id for d in due] == [due_now.id]
    got = due[0]
    assert (got.cart_id, got.bag_id, got.merchant_id, got.platform, got.external_id) == (
        due_now.cart_id,
        due_now.bag_id,
        due_now.merchant_id,
        ELASTIC_PATH,
        due_now.external_id,
    )
    assert got.attempts == 0 and got.last_error is None
    assert got.next_attempt_at is not None and got.next_attempt_at.tzinfo is not None

    retry_at = now + timedelta(minutes=5)
    await store.outbox.postpone(due_now.id, retry_at, "PlatformTimeout: no answer", failed_at=now)
    assert await store.outbox.due(now + timedelta(seconds=1)) == []
    due = await store.outbox.due(now + timedelta(hours=2))
    assert [d.id for d in due] == [due_now.id, later.id]  # longest waiting first
    assert due[0].attempts == 1 and due[0].last_error == "PlatformTimeout: no answer"
    assert due[0].next_attempt_at == retry_at and due[0].first_failed_at == now

    await store.outbox.finish(due_now.id)
    await store.outbox.finish("xdel_unknown")
    assert [d.id for d in await store.outbox.due(now + timedelta(hours=2))] == [later.id]


async def test_due_respects_the_limit(store: Store) -> None:
    await store.outbox.enqueue([_entry() for _ in range(7)])
    now = datetime.now(UTC) + timedelta(seconds=1)
    assert len(await store.outbox.due(now, limit=5)) == 5
    assert len(await store.outbox.due(now)) == 7


async def test_save_cart_writes_the_outbox_in_its_transaction(store: Store) -> None:
    app_id = await make_app(store)
    cart = make_cart(app_id)
    await store.carts.insert(cart)
    entries = [
        _entry(cart.id, bag_id=bag.id, external_id=bag.external_id)
        for bag in cart.bags
        if bag.external_id
    ]
    for bag in cart.bags:
        bag.move_to(BagStatus.DELETED)
    cart.status = CartStatus.DELETED
    await store.carts.save(cart, outbox=entries)
    due = await store.outbox.due(datetime.now(UTC) + timedelta(seconds=1))
    assert sorted(d.id for d in due) == sorted(e.id for e in entries)

    # the outbox outlives the cart's record
    await store.carts.delete_record(cart.id)
    assert len(await store.outbox.due(T0 + timedelta(days=3650))) == len(entries)


async def test_concurrent_claims_never_hand_out_one_entry_twice(store: Store) -> None:
    entries = [_entry() for _ in range(12)]
    await store.outbox.enqueue(entries)
    now = datetime.now(UTC) + timedelta(seconds=1)
    claims = await asyncio.gather(*(store.outbox.claim(now, hold_s=30, limit=5) for _ in range(4)))
    handed = [e.id for claim in claims for e in claim]
    assert sorted(handed) == sorted(e.id for e in entries)  # every entry, each exactly once
    assert await store.outbox.claim(now, hold_s=30) == []  # all held
    # A claim whose worker died runs out (on the database's clock); a settled claim is free
    # again when due.
    store.db.clock_offset_s = 31
    await store.outbox.postpone(entries[0].id, now, "PlatformTimeout", failed_at=now)
    assert len(await store.outbox.claim(now, hold_s=30, limit=50)) == 12


async def test_buried_entries_are_kept_counted_and_never_handed_out(store: Store) -> None:
    dead, lost, live = _entry(), _entry(kind="unknown_create"), _entry()
    await store.outbox.enqueue([dead, lost, live])
    await store.outbox.bury(dead.id, "dead", "credentials refused")
    await store.outbox.bury(lost.id, "undetectable", "cannot be asked")
    assert await store.outbox.depths() == {"dead": 1, "undetectable": 1, "pending": 1}
    later = datetime.now(UTC) + timedelta(days=1)
    assert [e.id for e in await store.outbox.claim(later, hold_s=30)] == [live.id]


async def test_removing_a_record_writes_its_outbox_in_the_same_transaction(store: Store) -> None:
    app_id = await make_app(store)
    cart = make_cart(app_id)
    await store.carts.insert(cart)
    entry = _entry(cart.id)
    await store.carts.delete_record(cart.id, outbox=[entry])
    assert await store.carts.get(app_id, cart.id) is None
    assert [e.id for e in await store.outbox.due(datetime.now(UTC) + timedelta(seconds=1))] == [
        entry.id
    ]
