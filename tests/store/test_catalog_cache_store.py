"""The catalog cache in the store, on both engines: every catalog write moves the version, a
local write is seen at once, another process's write after the poll, a new SKU at once."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import delete, event, update

from orchestrator.store import Store
from orchestrator.store.tables import catalog_version, skus
from tests.store.factories import catalog_sku, make_merchant


@pytest.fixture
async def cached(migrated_database_url: str) -> AsyncIterator[Store]:
    """A second store on the same database with its cache on: another process, as the server
    runs it (the test polls with ``refresh_cache`` instead of the background worker)."""
    opened = Store.from_url(migrated_database_url)
    opened.catalog.use_cache(refresh_s=60.0, max_entries=100)
    try:
        yield opened
    finally:
        await opened.close()


def count_queries(store: Store) -> list[str]:
    """The catalog reads ``store`` makes from now on (SQL text, appended as they run)."""
    seen: list[str] = []

    @event.listens_for(store.db.engine.sync_engine, "before_cursor_execute")
    def _seen(*args: object) -> None:
        if "FROM skus" in str(args[2]) or "FROM merchants" in str(args[2]):
            seen.append(str(args[2]))

    return seen


async def test_every_catalog_write_moves_the_version_and_a_failed_one_does_not(
    store: Store,
) -> None:
    start = await store.catalog.version()
    merchant = await make_merchant(store)
    assert await store.catalog.version() == start + 1
    await store.catalog.upsert_skus([catalog_sku(merchant.id, "sku_v")])
    assert await store.catalog.version() == start + 2
    with pytest.raises(ValueError, match="mer_nobody"):
        await store.catalog.upsert_skus([catalog_sku("mer_nobody", "sku_w")])
    assert await store.catalog.version() == start + 2  # rolled back with the upsert

    assert await store.catalog.reseal_connections(lambda _m, _s: None) == 0
    assert await store.catalog.version() == start + 2  # a reseal that rewrites nothing
    assert await store.catalog.reseal_connections(lambda _m, s: s + b"!") == 1
    assert await store.catalog.version() == start + 3

    async with store.db.write() as conn:  # an emptied table: the next write makes the row again
        await conn.execute(delete(catalog_version))
    assert await store.catalog.version() == 0
    await store.catalog.upsert_skus([catalog_sku(merchant.id, "sku_v", price=1)])
    assert await store.catalog.version() == 1


async def test_lookups_are_served_from_the_cache_until_the_poll_sees_the_version_move(
    store: Store, cached: Store
) -> None:
    merchant = await make_merchant(store)
    await store.catalog.upsert_skus([catalog_sku(merchant.id, "sku_a", price=100)])
    await cached.catalog.refresh_cache()  # the process's first poll learns the version

    found, owners = await cached.catalog.lookup(["sku_a"])
    assert found["sku_a"].price == 100 and owners[merchant.id][0] == merchant
    queries = count_queries(cached)
    assert await cached.catalog.lookup(["sku_a"]) == (found, owners)
    assert queries == []  # served from the cache
    assert await cached.catalog.get_merchants([merchant.id]) == owners
    assert await cached.catalog.get_merchants([merchant.id]) == owners
    assert len(queries) == 1  # a merchant's entry of its own: read once

    # Another process changes the price: stale here until the poll, fresh right after it.
    await store.catalog.upsert_skus([catalog_sku(merchant.id, "sku_a", price=250)])
    assert (await cached.catalog.lookup(["sku_a"]))[0]["sku_a"].price == 100
    assert len(queries) == 1  # no database read for a cached SKU
    assert await cached.catalog.refresh_cache() is True
    assert (await cached.catalog.lookup(["sku_a"]))[0]["sku_a"].price == 250
    assert await cached.catalog.refresh_cache() is False  # nothing moved since


async def test_a_write_through_this_store_is_seen_at_once(cached: Store) -> None:
    merchant = await make_merchant(cached)
    await cached.catalog.upsert_skus([catalog_sku(merchant.id, "sku_b", price=100)])
    assert (await cached.catalog.lookup(["sku_b"]))[0]["sku_b"].price == 100

    gone = dataclasses.replace(catalog_sku(merchant.id, "sku_b", price=300), available=False)
    await cached.catalog.upsert_skus([gone])
    assert (await cached.catalog.lookup(["sku_b"]))[0]["sku_b"] == gone

    await cached.catalog.reseal_connections(lambda _m, s: b"resealed:" + s)
    sealed = (await cached.catalog.get_merchants([merchant.id]))[merchant.id][1]
    assert sealed.startswith(b"resealed:")
    assert (await cached.catalog.lookup(["sku_b"]))[1][merchant.id][1] == sealed


async def test_a_new_sku_or_merchant_is_seen_at_once_everywhere(
    store: Store, cached: Store
) -> None:
    assert await cached.catalog.lookup(["sku_new"]) == ({}, {})
    assert await cached.catalog.get_merchants(["mer_new"]) == {}
    merchant = await make_merchant(store, "mer_new")
    await store.catalog.upsert_skus([catalog_sku(merchant.id, "sku_new")])
    # No poll in between: misses are never cached.
    assert set((await cached.catalog.lookup(["sku_new"]))[0]) == {"sku_new"}
    assert set(await cached.catalog.get_merchants(["mer_new"])) == {"mer_new"}


async def test_only_the_missing_ids_are_read(store: Store, cached: Store) -> None:
    merchant = await make_merchant(store)
    await store.catalog.upsert_skus([catalog_sku(merchant.id, f"sku_{n}") for n in range(3)])
    await cached.catalog.lookup(["sku_0", "sku_1"])
    async with store.db.write() as conn:  # behind the store's back: only a read can see it
        await conn.execute(update(skus).values(price=7))
    found, owners = await cached.catalog.lookup(["sku_0", "sku_1", "sku_2"])
    assert {s: sku.price for s, sku in found.items()} == {"sku_0": 2999, "sku_1": 2999, "sku_2": 7}
    assert set(owners) == {merchant.id}


async def test_with_refresh_zero_every_lookup_reads_the_database(
    store: Store, migrated_database_url: str
) -> None:
    merchant = await make_merchant(store)
    await store.catalog.upsert_skus([catalog_sku(merchant.id, "sku_c", price=100)])
    off = Store.from_url(migrated_database_url)
    try:
        off.catalog.use_cache(refresh_s=0, max_entries=100)
        assert (await off.catalog.lookup(["sku_c"]))[0]["sku_c"].price == 100
        await store.catalog.upsert_skus([catalog_sku(merchant.id, "sku_c", price=200)])
        assert (await off.catalog.lookup(["sku_c"]))[0]["sku_c"].price == 200
        assert await off.catalog.refresh_cache() is False  # nothing to poll
    finally:
        await off.close()


async def test_a_fill_that_read_before_a_change_the_poll_saw_is_not_kept(
    store: Store, cached: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    merchant = await make_merchant(store)
    await store.catalog.upsert_skus([catalog_sku(merchant.id, "sku_r", price=100)])
    await cached.catalog.refresh_cache()
    original = cached.db.read
    interleaved: list[bool] = []

    @contextlib.asynccontextmanager
    async def read(**kw: Any) -> AsyncIterator[Any]:
        async with original(**kw) as conn:
            yield conn
        if not interleaved:  # the lookup has read price 100; now the race:
            interleaved.append(True)
            await store.catalog.upsert_skus([catalog_sku(merchant.id, "sku_r", price=200)])
            assert await cached.catalog.refresh_cache() is True

    monkeypatch.setattr(cached.db, "read", read)
    assert (await cached.catalog.lookup(["sku_r"]))[0]["sku_r"].price == 100  # read before
    assert interleaved
    assert (await cached.catalog.lookup(["sku_r"]))[0]["sku_r"].price == 200  # not kept
