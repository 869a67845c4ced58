"""Cart leases: cross-process serialization of one cart's mutations."""

from __future__ import annotations

import asyncio

from orchestrator.store import Store
from tests.store.factories import inserted_cart


async def test_acquire_conflict_renew_release(store: Store) -> None:
    cart = await inserted_cart(store)

    assert await store.leases.acquire(cart.id, "worker-a", 30)
    assert not await store.leases.acquire(cart.id, "worker-b", 30)
    assert await store.leases.acquire(cart.id, "worker-a", 30)  # the owner renews

    await store.leases.release(cart.id, "worker-b")  # not the owner: no effect
    assert not await store.leases.acquire(cart.id, "worker-b", 30)

    await store.leases.release(cart.id, "worker-a")
    assert await store.leases.acquire(cart.id, "worker-b", 30)


async def test_an_expired_lease_can_be_taken_over(store: Store) -> None:
    cart = await inserted_cart(store)
    assert await store.leases.acquire(cart.id, "crashed", 30)
    assert not await store.leases.acquire(cart.id, "next", 30)
    # 31 s later on the leases' clock (the database's, moved by its seam), not after a sleep
    # (a 50 ms lease lapsed on a loaded machine before the second acquire had run).
    store.db.clock_offset_s = 31
    assert await store.leases.acquire(cart.id, "next", 30)
    assert not await store.leases.acquire(cart.id, "crashed", 30)


async def test_lease_of_an_unknown_cart_is_refused(store: Store) -> None:
    assert not await store.leases.acquire("cart_unknown", "worker-a", 30)
    await store.leases.release("cart_unknown", "worker-a")


async def test_leases_do_not_touch_the_cart_version(store: Store) -> None:
    cart = await inserted_cart(store)
    assert await store.leases.acquire(cart.id, "worker-a", 30)
    await store.carts.save(cart)  # a lease held is no reason for a StaleCart
    await store.leases.release(cart.id, "worker-a")
    loaded = await store.carts.get(cart.app_id, cart.id)
    assert loaded == cart and cart.version == 1


async def test_only_one_of_many_concurrent_owners_wins(
    store: Store, migrated_database_url: str
) -> None:
    cart = await inserted_cart(store)
    others = [Store.from_url(migrated_database_url) for _ in range(3)]  # other "processes"
    try:
        stores = [store, *others]
        results = await asyncio.gather(
            *(
                s.leases.acquire(cart.id, f"owner-{i}-{j}", 30)
                for i, s in enumerate(stores)
                for j in range(4)
            )
        )
    finally:
        for other in others:
            await other.close()
    assert sum(results) == 1
