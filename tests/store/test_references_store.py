"""One live bag per external cart (migration 0004's partial unique index), on both engines."""

from __future__ import annotations

import asyncio

import pytest

from adapters.elastic_path import ELASTIC_PATH
from bags.status import BagStatus, CartStatus
from orchestrator.store import PendingExternalDelete, Store
from orchestrator.store.references import DuplicateReference
from tests.store.factories import make_app, make_cart


async def test_a_live_external_cart_is_held_once(store: Store) -> None:
    app_a, app_b = await make_app(store), await make_app(store)
    first = make_cart(app_a, bags=1, errors=0)
    first.bags[0].merchant_id, first.bags[0].external_id = "mer_ref", "ext-1"
    await store.references.insert(first)
    assert await store.references.holder("mer_ref", "ext-1") == first.id
    assert await store.references.holder("mer_other", "ext-1") is None

    second = make_cart(app_b, bags=1, errors=0)
    second.bags[0].merchant_id, second.bags[0].external_id = "mer_ref", "ext-1"
    with pytest.raises(DuplicateReference):
        await store.references.insert(second)
    assert await store.carts.get(app_b, second.id) is None  # nothing written

    # A cart saved whole (a create's) holds its external carts the same way.
    with pytest.raises(Exception, match=r"uq_bags_merchant_id_external_id|UNIQUE"):
        await store.carts.insert(second)


async def test_a_deleted_bag_lets_go_of_its_external_cart(store: Store) -> None:
    app_id = await make_app(store)
    first = make_cart(app_id, bags=1, errors=0)
    first.bags[0].merchant_id, first.bags[0].external_id = "mer_ref", "ext-2"
    await store.references.insert(first)
    first.bags[0].move_to(BagStatus.DELETED)
    first.status = CartStatus.DELETED
    await store.carts.save(first)
    assert await store.references.holder("mer_ref", "ext-2") is None
    again = make_cart(app_id, bags=1, errors=0)
    again.bags[0].merchant_id, again.bags[0].external_id = "mer_ref", "ext-2"
    await store.references.insert(again)


async def test_concurrent_inserts_of_one_external_cart_have_one_winner(store: Store) -> None:
    app_id = await make_app(store)
    rivals = []
    for _ in range(6):
        cart = make_cart(app_id, bags=1, errors=0)
        cart.bags[0].merchant_id, cart.bags[0].external_id = "mer_ref", "ext-race"
        rivals.append(cart)
    results = await asyncio.gather(
        *(store.references.insert(c) for c in rivals), return_exceptions=True
    )
    assert sum(r is None for r in results) == 1
    assert all(isinstance(r, DuplicateReference) for r in results if r is not None)


async def test_pending_deletes_count_only_entries_still_worked(store: Store) -> None:
    entry = PendingExternalDelete(
        id="xdel_ref_1",
        cart_id="cart_x",
        bag_id="bag_ref",
        merchant_id="mer_ref",
        platform=ELASTIC_PATH,
        external_id="bag_ref",
    )
    assert await store.references.pending_deletes("bag_ref") == 0
    await store.outbox.enqueue([entry])
    assert await store.references.pending_deletes("bag_ref") == 1
    await store.outbox.bury(entry.id, "dead", "gave up")
    assert await store.references.pending_deletes("bag_ref") == 0
