"""Cart expiry, ours and the platforms', against the fake platforms on both engines.

The sweeper's clock is injected (no sleeps): a cart past ``expires_at`` is swept in one round
(status EXPIRED, bags DELETED, its external carts deleted), still reads and still deletes; two
sweepers never expire one cart twice; a round is bounded. A bag whose platform has dropped
its external cart (its lifetime after the last confirmed change) reads EXPIRED.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from adapters.elastic_path import ELASTIC_PATH
from errors import PlatformNotFound
from orchestrator.http.keys import METRICS, SERVICES
from orchestrator.service.expiry import ExpirySweeper
from tests.api.conftest import Api
from tests.api.test_reconcile import add_ep_merchant, cart_of, lines, outdoors

LATER = timedelta(days=31)  # past the default 30-day TTL


def sweeper(api: Api, ahead: timedelta = LATER, batch: int = 50) -> ExpirySweeper:
    """A sweeper ``ahead`` in time: its clock, and the database's (``expired`` takes the
    earlier of the two), through the store's seam."""
    api.store.db.clock_offset_s = ahead.total_seconds()
    app = api.client.server.app
    context = replace(app[SERVICES].context, clock=lambda: datetime.now(UTC) + ahead)
    return ExpirySweeper(context, batch=batch)


async def new_cart(api: Api, *sku_ids: str) -> dict[str, Any]:
    response = await api.post_cart(lines(*sku_ids))
    assert response.status == 201, await response.text()
    return await response.json()  # type: ignore[no-any-return]


def stamp(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


async def test_create_sets_expires_at_and_each_bags_platform_expiry(api: Api) -> None:
    cart = await new_cart(api, api.skus["tent"], api.skus["pan"])
    created = stamp(cart["date_created"])
    assert stamp(cart["expires_at"]) == created + timedelta(days=30)
    for bag in cart["bags"]:  # BigCommerce keeps a cart 30 days after its last change
        assert bag["platform"] == "BIGCOMMERCE" and bag["status"] == "IN_PROGRESS"
        ends = stamp(bag["external_expires_at"])
        assert timedelta(days=30) <= ends - created < timedelta(days=30, seconds=5)
    assert await sweeper(api, ahead=timedelta(days=29)).run_once() == 0


async def test_an_expired_cart_is_swept_once_reads_and_still_deletes(api: Api) -> None:
    cart = await new_cart(api, api.skus["tent"], api.skus["pan"])
    external = {bag["external_id"] for bag in cart["bags"]}
    fakes = [api.platforms.platforms[m] for m in api.merchants[:2]]
    assert external == {i for fake in fakes for i in fake.carts}
    live = await new_cart(api, api.skus["book"])

    # One round: the cart is EXPIRED, its bags DELETED and its external carts gone.
    sweep = sweeper(api)
    assert await sweep.run_once() == 2  # both carts are 31 days old
    assert sweep.expired_total == 2
    assert not any(fake.carts for fake in fakes)
    assert await api.store.outbox.depths() == {}
    read = await cart_of(api, cart["id"])
    assert read["status"] == "EXPIRED" and read["sub_total"] == 0
    assert [b["status"] for b in read["bags"]] == ["DELETED", "DELETED"]
    assert [b["external_expires_at"] for b in read["bags"]] == [None, None]
    assert read["expires_at"] == cart["expires_at"]
    assert await sweep.run_once() == 0  # nothing is swept twice

    listed = await api.client.get("/v1/carts?status=EXPIRED", headers=api.auth)
    assert {c["id"] for c in (await listed.json())["data"]} == {cart["id"], live["id"]}
    listed = await api.client.get("/v1/carts", headers=api.auth)  # EXPIRED carts still list
    assert cart["id"] in {c["id"] for c in (await listed.json())["data"]}

    # A DELETE of an expired cart works: nothing left to delete on the platforms.
    calls = sum(len(fake.calls) for fake in fakes)
    response = await api.client.delete(f"/v1/carts/{cart['id']}", headers=api.auth)
    assert response.status == 204
    assert sum(len(fake.calls) for fake in fakes) == calls
    response = await api.client.get(f"/v1/carts/{cart['id']}", headers=api.auth)
    assert response.status == 404


async def test_a_cart_not_yet_expired_is_left_alone(api: Api) -> None:
    cart = await new_cart(api, api.skus["tent"])
    assert await sweeper(api, ahead=timedelta(days=29, hours=23)).run_once() == 0
    assert (await cart_of(api, cart["id"]))["status"] == "IN_PROGRESS"
    assert outdoors(api).carts


async def test_an_external_cart_the_platform_already_dropped_is_deleted_as_a_404(
    api: Api,
) -> None:
    cart = await new_cart(api, api.skus["tent"])
    fake = outdoors(api)
    fake.fail_next("delete_cart", PlatformNotFound("no such cart", platform="BIGCOMMERCE"))
    assert await sweeper(api).run_once() == 1
    assert ("delete_cart", (cart["bags"][0]["external_id"],)) in fake.calls
    assert await api.store.outbox.depths() == {}  # a 404 is success: no retry, no dead letter
    assert (await cart_of(api, cart["id"]))["status"] == "EXPIRED"


async def test_a_failed_external_delete_stays_in_the_outbox(api: Api) -> None:
    from errors import PlatformServerError

    cart = await new_cart(api, api.skus["tent"])
    fake = outdoors(api)
    fake.fail_next("delete_cart", PlatformServerError("boom", platform="BIGCOMMERCE"), times=3)
    assert await sweeper(api).run_once() == 1
    assert (await cart_of(api, cart["id"]))["status"] == "EXPIRED"
    assert await api.store.outbox.depths() == {"pending": 1}
    assert fake.carts  # still there: the reconciler's rounds retry it


async def test_two_sweepers_never_expire_the_same_cart(api: Api) -> None:
    ids = [(await new_cart(api, api.skus["tent"]))["id"] for _ in range(6)]
    first, second = sweeper(api), sweeper(api)
    counts = await asyncio.gather(first.run_once(), second.run_once())
    assert sum(counts) == 6
    deletes = [c for c in outdoors(api).calls if c[0] == "delete_cart"]
    assert len(deletes) == 6 and len(set(deletes)) == 6  # each external cart deleted once
    for cart_id in ids:
        assert (await cart_of(api, cart_id))["status"] == "EXPIRED"


async def test_a_leased_cart_waits_and_a_round_is_bounded(api: Api) -> None:
    ids = [(await new_cart(api, api.skus["tent"]))["id"] for _ in range(3)]
    sweep = sweeper(api, batch=1)  # time moved on first: the lease is taken then
    assert await api.store.leases.acquire(ids[0], "someone", 60)
    assert await sweep.run_once() == 1
    assert await sweep.run_once() == 1
    assert await sweep.run_once() == 0  # the third is leased: a request is changing it
    await api.store.leases.release(ids[0], "someone")
    assert await sweep.run_once() == 1
    assert [(await cart_of(api, i))["status"] for i in ids] == ["EXPIRED"] * 3


async def test_metrics_count_the_carts_expired(api: Api) -> None:
    await new_cart(api, api.skus["tent"])
    app_sweeper = api.client.server.app[METRICS].state.expiry
    assert isinstance(app_sweeper, ExpirySweeper)
    app_sweeper.clock = lambda: datetime.now(UTC) + LATER
    api.store.db.clock_offset_s = LATER.total_seconds()
    assert await app_sweeper.run_once() == 1
    text = await (await api.client.get("/metrics")).text()
    assert "multicart_carts_expired_total 1.0" in text
    assert 'multicart_bags{status="EXPIRED"}' in text


async def test_a_bag_the_platform_expired_reads_expired(api: Api) -> None:
    """Elastic Path drops a cart 7 days after its last change, BigCommerce after 30: eight
    days on, the Elastic Path bag reads EXPIRED and leaves the sub-total; the cart does not."""
    _, seeds, ep = await add_ep_merchant(api)
    cart = await new_cart(api, api.skus["tent"], seeds)
    stored = await api.store.carts.get_any(cart["id"])
    assert stored is not None
    eight_days = timedelta(days=8)
    for bag in stored.bags:  # as if the cart was made eight days ago
        assert bag.platform_changed_at is not None
        bag.platform_changed_at -= eight_days
    stored.date_created -= eight_days
    stored.date_last_modified -= eight_days
    stored.expires_at -= eight_days
    await api.store.carts.save(stored)

    read = await cart_of(api, cart["id"])
    bags = {b["platform"]: b for b in read["bags"]}
    assert read["status"] == "IN_PROGRESS"
    assert bags["ELASTIC_PATH"]["status"] == "EXPIRED"
    assert bags["BIGCOMMERCE"]["status"] == "IN_PROGRESS"
    assert stamp(bags["ELASTIC_PATH"]["external_expires_at"]) < datetime.now(UTC)
    assert stamp(bags["BIGCOMMERCE"]["external_expires_at"]) > datetime.now(UTC)
    assert read["sub_total"] == bags["BIGCOMMERCE"]["sub_total"]
    listed = await api.client.get("/v1/carts", headers=api.auth)
    [row] = [c for c in (await listed.json())["data"] if c["id"] == cart["id"]]
    assert row["bags"] == read["bags"]
    assert ep.platform is ELASTIC_PATH

    # Reading wrote nothing; our own expiry (22 days on) deletes both, the dropped one a 404.
    assert (await api.store.carts.get_any(cart["id"])).version == stored.version  # type: ignore[union-attr]
    ep.fail_next("delete_cart", PlatformNotFound("no such cart", platform="ELASTIC_PATH"))
    assert await sweeper(api, ahead=timedelta(days=23)).run_once() == 1
    assert await api.store.outbox.depths() == {}
    read = await cart_of(api, cart["id"])
    assert read["status"] == "EXPIRED"
    assert [b["status"] for b in read["bags"]] == ["DELETED", "DELETED"]
