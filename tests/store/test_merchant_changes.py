"""A merchant's change (name, status, connection) and a SKU's delete, on both engines."""

from __future__ import annotations

import pytest

from bags import BagStatus, CartStatus, MerchantStatus
from orchestrator.store import Store
from tests.store.factories import catalog_sku, make_app, make_cart, make_merchant


async def test_a_merchant_change_is_stored_whole_and_moves_the_version(store: Store) -> None:
    merchant = await make_merchant(store)
    other = await make_merchant(store)
    before = await store.catalog.version()

    changed = await store.catalog.update_merchant(
        merchant.id, name="Renamed", status=MerchantStatus.PAUSED, connection_ciphertext=b"new"
    )

    assert changed is not None
    assert (changed.name, changed.status, changed.platform) == (
        "Renamed",
        MerchantStatus.PAUSED,
        merchant.platform,
    )
    assert await store.catalog.version() > before  # every process's cache drops the old one
    assert await store.catalog.get_merchant(merchant.id) == (changed, b"new")
    assert await store.catalog.read_merchant(merchant.id) == changed
    assert await store.catalog.get_merchant(other.id) == (
        other,
        b"\x00sealed\xff" + other.id.encode(),
    )  # the other merchant untouched
    listed = {m.id: m.status for m in await store.catalog.list_merchants()}
    assert listed == {merchant.id: MerchantStatus.PAUSED, other.id: MerchantStatus.ACTIVE}


async def test_only_what_is_given_changes(store: Store) -> None:
    merchant = await make_merchant(store)
    await store.catalog.update_merchant(merchant.id, status=MerchantStatus.PAUSED)
    found = await store.catalog.get_merchant(merchant.id)
    assert found is not None
    assert found[0].name == merchant.name and found[1] == b"\x00sealed\xff" + merchant.id.encode()
    resumed = await store.catalog.update_merchant(merchant.id, status=MerchantStatus.ACTIVE)
    assert resumed == merchant


async def test_changing_an_unknown_merchant_writes_nothing(store: Store) -> None:
    assert await store.catalog.update_merchant("mer_unknown", name="x") is None
    assert await store.catalog.read_merchant("mer_unknown") is None


async def test_lookup_carries_the_merchant_status_past_the_cache(store: Store) -> None:
    store.catalog.use_cache(refresh_s=60, max_entries=100)
    merchant = await make_merchant(store)
    sku = catalog_sku(merchant.id, "sku_paused")
    await store.catalog.upsert_skus([sku])
    found, _ = await store.catalog.lookup({"sku_paused"})
    assert found["sku_paused"].merchant_status is MerchantStatus.ACTIVE  # now cached

    await store.catalog.update_merchant(merchant.id, status=MerchantStatus.PAUSED)
    found, owners = await store.catalog.lookup({"sku_paused"})
    assert found["sku_paused"].merchant_status is MerchantStatus.PAUSED
    assert owners[merchant.id][0].status is MerchantStatus.PAUSED


async def _cart_holding(store: Store, sku_id: str, status: CartStatus, bag: BagStatus) -> None:
    cart = make_cart(await make_app(store), bags=1, lines=1, errors=0, status=status)
    cart.bags[0].status = bag
    cart.bags[0].skus[0].sku_id = sku_id
    await store.carts.insert(cart)


async def test_a_sku_held_by_a_live_cart_is_not_deleted(store: Store) -> None:
    merchant = await make_merchant(store)
    await store.catalog.upsert_skus([catalog_sku(merchant.id, "sku_held")])
    await _cart_holding(store, "sku_held", CartStatus.IN_PROGRESS, BagStatus.IN_PROGRESS)
    await _cart_holding(store, "sku_held", CartStatus.IN_PROGRESS, BagStatus.FAILED)

    assert await store.catalog.delete_sku("sku_held") == 2
    assert [s.sku_id for s in await store.catalog.list_skus()] == ["sku_held"]


@pytest.mark.parametrize(
    ("cart", "bag"),
    [
        (CartStatus.IN_PROGRESS, BagStatus.DELETED),
        (CartStatus.DELETED, BagStatus.IN_PROGRESS),
        (CartStatus.EXPIRED, BagStatus.IN_PROGRESS),
    ],
)
async def test_a_sku_held_by_no_live_cart_is_deleted(
    store: Store, cart: CartStatus, bag: BagStatus
) -> None:
    merchant = await make_merchant(store)
    await store.catalog.upsert_skus([catalog_sku(merchant.id, "sku_gone")])
    await _cart_holding(store, "sku_gone", cart, bag)
    before = await store.catalog.version()

    assert await store.catalog.delete_sku("sku_gone") == 0
    assert await store.catalog.list_skus() == []
    assert await store.catalog.version() > before
    assert await store.catalog.delete_sku("sku_gone") is None  # unknown now
