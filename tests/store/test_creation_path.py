"""The create path's own store calls: one catalog read, and outcomes written in place."""

from __future__ import annotations

import copy
from datetime import timedelta

import pytest

from adapters.shopify import SHOPIFY
from bags.models import OrderError
from bags.status import BagStatus
from orchestrator.store import StaleCart, Store
from tests.store.factories import T0, catalog_sku, make_app, make_cart, make_merchant, new_id


async def test_get_catalog_returns_skus_with_their_merchants(store: Store) -> None:
    first, second = (
        await make_merchant(store),
        await make_merchant(store, platform=SHOPIFY),
    )
    a, b, c = catalog_sku(first.id), catalog_sku(first.id), catalog_sku(second.id)
    await store.catalog.upsert_skus([a, b, c])
    found, owners = await store.catalog.lookup({a.sku_id, c.sku_id, "sku-unknown"})
    assert found == {a.sku_id: a, c.sku_id: c}
    assert set(owners) == {first.id, second.id}
    assert owners[second.id][0] == second
    assert owners[first.id][1] == b"\x00sealed\xff" + first.id.encode()
    assert await store.catalog.lookup(set()) == ({}, {})


async def test_record_creation_updates_in_place_and_appends_errors(store: Store) -> None:
    app_id = await make_app(store)
    cart = make_cart(app_id, bags=2, lines=2, errors=0)
    for bag in cart.bags:
        bag.status, bag.external_id, bag.checkout_url = BagStatus.PENDING, None, None
    await store.carts.insert(cart)
    created, failed = cart.bags
    created.move_to(BagStatus.IN_PROGRESS)
    created.external_id, created.checkout_url, created.platform_sub_total = (
        "ext-1",
        "https://c",
        777,
    )
    created.skus[0].quantity, created.skus[0].external_id, created.skus[0].price = 5, "line-1", 111
    failed.move_to(BagStatus.FAILED)
    cart.errors.append(
        OrderError(
            new_id("err"),
            cart.id,
            failed.id,
            failed.skus[0].sku_id,
            "EXTERNAL_CREATE_CART",
            "down",
            T0,
            failed.platform,
            "PLATFORM_ERROR",
            True,
        )
    )
    cart.date_last_modified = T0 + timedelta(seconds=3)
    stale = copy.deepcopy(cart)
    await store.carts.record_creation(cart)
    assert cart.version == 1
    loaded = await store.carts.get(app_id, cart.id)
    assert loaded == cart
    with pytest.raises(StaleCart):
        await store.carts.record_creation(stale)
    assert await store.carts.get(app_id, cart.id) == cart  # the stale write changed nothing
