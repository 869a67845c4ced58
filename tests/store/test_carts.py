"""The cart aggregate through the store: round trip, versions, isolation, deletion."""

from __future__ import annotations

import copy
from datetime import UTC, timedelta, timezone

import pytest
from sqlalchemy.exc import IntegrityError, StatementError

from adapters.shopify import SHOPIFY
from bags.models import OrderError, OrderSku
from bags.status import BagStatus, CartStatus
from orchestrator.store import PendingExternalDelete, StaleCart, Store
from tests.store.factories import T0, count_carts, make_app, make_cart, new_id


async def test_round_trip_keeps_everything_in_order(store: Store) -> None:
    app_id = await make_app(store)
    cart = make_cart(app_id, bags=3, lines=4, errors=3)
    cart.bags.reverse()  # order is the aggregate's, not the ids'
    cart.bags[0].skus.reverse()
    expected = copy.deepcopy(cart)

    await store.carts.insert(cart)
    loaded = await store.carts.get(app_id, cart.id)

    assert loaded == expected
    assert loaded is not None
    assert [b.id for b in loaded.bags] == [b.id for b in expected.bags]
    assert [s.id for s in loaded.bags[0].skus] == [s.id for s in expected.bags[0].skus]
    assert [e.id for e in loaded.errors] == [e.id for e in expected.errors]
    for stamp in (loaded.date_created, loaded.expires_at, loaded.errors[0].date_created):
        assert stamp.tzinfo is not None and stamp.utcoffset() == timedelta(0)
    assert loaded.date_created == T0  # microseconds survive
    assert loaded.sub_total == expected.sub_total
    assert loaded.bags[1].platform_sub_total is None


async def test_empty_cart_round_trips(store: Store) -> None:
    app_id = await make_app(store)
    cart = make_cart(app_id, bags=0, errors=0)
    cart.customer_id = cart.name = cart.app_order_id = None
    cart.metadata = {}
    await store.carts.insert(cart)
    assert await store.carts.get(app_id, cart.id) == cart


async def test_other_time_zones_are_stored_as_the_same_instant(store: Store) -> None:
    app_id = await make_app(store)
    cart = make_cart(app_id, created=T0.astimezone(timezone(timedelta(hours=-5))))
    await store.carts.insert(cart)
    loaded = await store.carts.get(app_id, cart.id)
    assert loaded is not None
    assert loaded.date_created == T0 and loaded.date_created.tzinfo == UTC


async def test_naive_datetimes_are_refused(store: Store) -> None:
    app_id = await make_app(store)
    cart = make_cart(app_id, created=T0.replace(tzinfo=None))
    with pytest.raises(StatementError, match="naive datetime"):
        await store.carts.insert(cart)
    assert await count_carts(store) == 0


async def test_save_cart_replaces_the_aggregate_and_bumps_version(store: Store) -> None:
    app_id = await make_app(store)
    cart = make_cart(app_id, bags=2, lines=2, errors=1)
    await store.carts.insert(cart)
    loaded = await store.carts.get(app_id, cart.id)
    assert loaded is not None and loaded.version == 0

    loaded.bags[0].skus.pop(0)
    loaded.bags[0].skus[0].quantity = 9
    loaded.bags[0].skus.append(
        OrderSku(
            id=new_id("osku"),
            sku_id="sku_new",
            name="new",
            quantity=1,
            price=5,
            line_price=5,
            platform_ref={"sku": "x"},
        )
    )
    loaded.bags.pop(1)
    loaded.errors.append(
        OrderError(
            id=new_id("err"),
            order_id=cart.id,
            bag_id=None,
            entity_id="sku_new",
            type="EXTERNAL_ADD_ITEM",
            message="m",
            date_created=T0,
            platform=SHOPIFY,
            cause="OUT_OF_STOCK",
            retryable=False,
            entity_type="SKU",
        )
    )
    loaded.name = "renamed"
    loaded.metadata = {"k": "v"}
    loaded.date_last_modified = T0 + timedelta(minutes=5)
    await store.carts.save(loaded)
    assert loaded.version == 1

    again = await store.carts.get(app_id, cart.id)
    assert again == loaded
    assert again is not None and again.version == 1
    await store.carts.save(again)
    assert again.version == 2


async def test_stale_save_writes_nothing(store: Store) -> None:
    app_id = await make_app(store)
    cart = make_cart(app_id)
    await store.carts.insert(cart)
    first = await store.carts.get(app_id, cart.id)
    second = await store.carts.get(app_id, cart.id)
    assert first is not None and second is not None

    first.name = "first"
    await store.carts.save(first)

    second.name = "second"
    second.bags.clear()
    outbox = [
        PendingExternalDelete(
            id=new_id("xdel"),
            cart_id=cart.id,
            bag_id="b",
            merchant_id="m",
            platform=SHOPIFY,
            external_id="e",
        )
    ]
    with pytest.raises(StaleCart):
        await store.carts.save(second, outbox=outbox)
    assert second.version == 0
    stored = await store.carts.get(app_id, cart.id)
    assert stored == first
    assert await store.outbox.due(T0 + timedelta(days=3650)) == []


async def test_save_of_a_missing_cart_is_stale(store: Store) -> None:
    app_id = await make_app(store)
    with pytest.raises(StaleCart):
        await store.carts.save(make_cart(app_id))
    assert await count_carts(store) == 0


async def test_get_cart_is_scoped_to_the_app_and_hides_deleted(store: Store) -> None:
    mine, theirs = await make_app(store), await make_app(store)
    cart = make_cart(mine)
    await store.carts.insert(cart)
    assert await store.carts.get(mine, cart.id) is not None
    assert await store.carts.get(theirs, cart.id) is None
    assert await store.carts.get(mine, "cart_unknown") is None

    cart.status = CartStatus.DELETED
    for bag in cart.bags:
        bag.move_to(BagStatus.DELETED)
    await store.carts.save(cart)
    assert await store.carts.get(mine, cart.id) is None
    assert await count_carts(store) == 1


async def test_insert_cart_is_all_or_nothing(store: Store) -> None:
    app_id = await make_app(store)
    cart = make_cart(app_id, bags=2)
    cart.bags[1].skus[0].id = cart.bags[0].skus[0].id  # duplicate primary key in the children
    with pytest.raises(IntegrityError):
        await store.carts.insert(cart)
    assert await count_carts(store) == 0


async def test_insert_cart_needs_a_known_app(store: Store) -> None:
    with pytest.raises(IntegrityError):
        await store.carts.insert(make_cart("app_missing"))
    assert await count_carts(store) == 0


async def test_delete_cart_record_removes_the_cart_and_children(store: Store) -> None:
    app_id = await make_app(store)
    doomed, kept = make_cart(app_id), make_cart(app_id)
    await store.carts.insert(doomed)
    await store.carts.insert(kept)
    await store.carts.delete_record(doomed.id)
    assert await count_carts(store) == 1
    assert await store.carts.get(app_id, doomed.id) is None
    assert await store.carts.get(app_id, kept.id) == kept
    # the ids are free again: nothing of the old aggregate is left behind
    await store.carts.insert(doomed)
    assert await store.carts.get(app_id, doomed.id) == doomed
    await store.carts.delete_record("cart_unknown")  # a no-op
