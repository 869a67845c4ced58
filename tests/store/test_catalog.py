"""Apps, merchants and the SKU catalog."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.exc import IntegrityError

from adapters.elastic_path import ELASTIC_PATH
from adapters.shopify import SHOPIFY
from orchestrator.store import Store
from tests.store.factories import catalog_sku, get_skus, make_app, make_merchant


async def test_apps_by_key_hash(store: Store) -> None:
    app_id = await make_app(store)
    assert await store.apps.id_for_key_hash(f"hash-{app_id}") == app_id
    assert await store.apps.id_for_key_hash("hash-unknown") is None
    with pytest.raises(IntegrityError):
        await store.apps.create("app_other", "other", f"hash-{app_id}")  # key hashes are unique


async def test_merchants_keep_their_ciphertext(store: Store) -> None:
    first = await make_merchant(store, platform=SHOPIFY)
    second = await make_merchant(store, platform=ELASTIC_PATH)

    got = await store.catalog.get_merchant(first.id)
    assert got == (first, b"\x00sealed\xff" + first.id.encode())
    assert await store.catalog.get_merchant("mer_unknown") is None

    many = await store.catalog.get_merchants([first.id, second.id, "mer_unknown", first.id])
    assert set(many) == {first.id, second.id}
    assert many[second.id][0] == second
    assert isinstance(many[second.id][1], bytes)
    assert await store.catalog.get_merchants([]) == {}

    assert await store.catalog.list_merchants() == [first, second]


async def test_upsert_inserts_then_updates(store: Store) -> None:
    merchant = await make_merchant(store)
    other = await make_merchant(store)
    mug, cup = catalog_sku(merchant.id, "sku_mug"), catalog_sku(merchant.id, "sku_cup", 500)
    assert await store.catalog.upsert_skus([mug, cup]) == 2
    assert await get_skus(store, ["sku_mug", "sku_cup", "sku_unknown"]) == {
        "sku_mug": mug,
        "sku_cup": cup,
    }

    cheaper = dataclasses.replace(mug, price=1999, available=False, name="Blue mug (sale)")
    moved = dataclasses.replace(cup, merchant_id=other.id, platform_ref={"sku": "CUP-1"})
    assert await store.catalog.upsert_skus([cheaper, moved]) == 2
    assert await get_skus(store, ["sku_mug", "sku_cup"]) == {"sku_mug": cheaper, "sku_cup": moved}
    assert await store.catalog.upsert_skus([]) == 0


async def test_upsert_keeps_the_last_of_duplicates(store: Store) -> None:
    merchant = await make_merchant(store)
    first = catalog_sku(merchant.id, "sku_dup", 100)
    last = dataclasses.replace(first, price=200)
    assert await store.catalog.upsert_skus([first, last]) == 1
    assert (await get_skus(store, ["sku_dup"]))["sku_dup"].price == 200


async def test_upsert_with_unknown_merchants_writes_nothing(store: Store) -> None:
    merchant = await make_merchant(store)
    good = catalog_sku(merchant.id, "sku_good")
    with pytest.raises(ValueError, match="unknown merchant ids: mer_ghost_1, mer_ghost_2"):
        await store.catalog.upsert_skus(
            [
                good,
                catalog_sku("mer_ghost_2"),
                catalog_sku("mer_ghost_1"),
                catalog_sku("mer_ghost_1"),
            ]
        )
    assert await get_skus(store, ["sku_good"]) == {}


async def test_list_and_bulk_get(store: Store) -> None:
    first, second = await make_merchant(store), await make_merchant(store)
    items = [catalog_sku(first.id, f"sku_a{i:04d}") for i in range(1200)]
    items += [catalog_sku(second.id, f"sku_b{i}") for i in range(3)]
    assert await store.catalog.upsert_skus(items) == 1203  # more rows than one statement's chunk

    assert len(await get_skus(store, [s.sku_id for s in items])) == 1203
    listed = await store.catalog.list_skus(second.id)
    assert [s.sku_id for s in listed] == ["sku_b0", "sku_b1", "sku_b2"]
    assert len(await store.catalog.list_skus(first.id)) == 1000  # the default limit
    assert len(await store.catalog.list_skus(limit=5)) == 5
    assert (await store.catalog.list_skus(limit=1))[0].sku_id == "sku_a0000"


async def test_ping(store: Store) -> None:
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(store.db.engine.sync_engine, "before_cursor_execute", record)
    await store.ping()
    assert "SELECT 1" in statements  # it really asked the database
    assert store.db.engine.pool.checkedout() == 0  # and gave its connection back


async def test_ping_fails_on_an_unreachable_database() -> None:
    store = Store.from_url("postgresql+asyncpg://nobody@127.0.0.1:1/none")
    try:
        with pytest.raises((OSError, TimeoutError)):
            await store.ping(timeout_s=2)
    finally:
        await store.close()
