"""Cart expiry over real HTTP, on every platform: ours (the sweeper in `multicart serve`) and the
platforms' own (the sandbox's clock).

`multicart serve` runs on the wall clock, so a test makes a cart old by moving its own
timestamps back in the database (the cart, as if made that long ago), and makes the platforms
older with the sandbox's clock; the sweeper, a background worker of the running server, does
the rest in its next round.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from orchestrator.store import Store
from orchestrator.store.tables import external_deletes
from tests.e2e.conftest import Stack, wait_until
from tests.e2e.test_platforms_e2e import BC, EP, SHOPIFY, held, sku

pytestmark = pytest.mark.e2e

STORES = (BC, SHOPIFY, EP)


def age_cart(e2e: Stack, cart_id: str, by: timedelta) -> None:
    """Move the cart's clock back ``by``: as if it was made, and last changed, that long ago."""

    async def shift() -> None:
        store = Store.from_url(e2e.api_proc.env["MULTICART_DATABASE_URL"])
        try:
            cart = await store.carts.get_any(cart_id)
            assert cart is not None
            cart.date_created -= by
            cart.date_last_modified -= by
            cart.expires_at -= by
            for bag in cart.bags:
                if bag.platform_changed_at is not None:
                    bag.platform_changed_at -= by
            await store.carts.save(cart)
        finally:
            await store.db.close()

    asyncio.run(shift())


def outbox_entries(e2e: Stack, cart_id: str) -> int:
    async def count() -> int:
        store = Store.from_url(e2e.api_proc.env["MULTICART_DATABASE_URL"])
        try:
            async with store.db.read() as conn:
                query = select(func.count()).where(external_deletes.c.cart_id == cart_id)
                return int(await conn.scalar(query) or 0)
        finally:
            await store.db.close()

    return asyncio.run(count())


def advance_platforms(e2e: Stack, by: timedelta) -> None:
    e2e.sandbox.http.post(
        "/__sandbox/clock", json={"advance_s": by.total_seconds()}
    ).raise_for_status()


def three_platform_cart(e2e: Stack) -> tuple[Any, dict[str, Any]]:
    api = e2e.new_app()
    cart = api.create_cart([(sku(e2e, store, "p0"), 1) for store in STORES])
    assert [b["status"] for b in cart["bags"]] == ["IN_PROGRESS"] * 3
    assert all(held(e2e, store) for store in STORES)
    return api, cart


def test_an_expired_cart_is_swept_its_external_carts_go_and_it_still_reads(e2e: Stack) -> None:
    api, cart = three_platform_cart(e2e)
    age_cart(e2e, cart["id"], timedelta(days=30, minutes=1))

    # The next round: EXPIRED, bags DELETED, and nothing held on any platform (BigCommerce's
    # and Elastic Path's carts deleted, Shopify's emptied).
    assert wait_until(lambda: api.get_cart(cart["id"])["status"] == "EXPIRED", 15)
    assert wait_until(lambda: not any(held(e2e, store) for store in STORES), 15)
    assert {c["id"] for c in e2e.sandbox.carts(BC) + e2e.sandbox.carts(EP)}.isdisjoint(
        b["external_id"] for b in cart["bags"]
    )
    read = api.get_cart(cart["id"])
    assert [b["status"] for b in read["bags"]] == ["DELETED"] * 3
    assert read["sub_total"] == 0
    assert wait_until(lambda: outbox_entries(e2e, cart["id"]) == 0, 15)
    assert [c["id"] for c in api.list_carts(status="EXPIRED")["data"]] == [cart["id"]]

    assert api.http.delete(f"/v1/carts/{cart['id']}").status_code == 204
    assert api.http.get(f"/v1/carts/{cart['id']}").status_code == 404


def test_a_cart_elastic_path_expired_reads_as_such_then_our_expiry_deletes_the_rest(
    e2e: Stack,
) -> None:
    """The defaults: an idle cart's Elastic Path cart goes after 7 days, Shopify's after about
    10, BigCommerce's and ours after 30."""
    api, cart = three_platform_cart(e2e)
    eight_days = timedelta(days=8)
    advance_platforms(e2e, eight_days)
    age_cart(e2e, cart["id"], eight_days)
    assert not e2e.sandbox.carts(EP) and held(e2e, BC) and held(e2e, SHOPIFY)

    read = api.get_cart(cart["id"])
    bags = {b["platform"]: b for b in read["bags"]}
    assert read["status"] == "IN_PROGRESS"
    assert {p: b["status"] for p, b in bags.items()} == {
        "BIGCOMMERCE": "IN_PROGRESS",
        "SHOPIFY": "IN_PROGRESS",
        "ELASTIC_PATH": "EXPIRED",
    }
    assert read["sub_total"] == bags["BIGCOMMERCE"]["sub_total"] + bags["SHOPIFY"]["sub_total"]
    ends = {p: datetime.fromisoformat(b["external_expires_at"]) for p, b in bags.items()}
    assert ends["ELASTIC_PATH"] < datetime.now(UTC) < ends["SHOPIFY"] < ends["BIGCOMMERCE"]

    # Day 31: every platform has dropped its cart; the sweep's deletes find none (a 404 is
    # success: nothing stays in the outbox) and the cart is EXPIRED.
    advance_platforms(e2e, timedelta(days=23))
    assert not any(e2e.sandbox.carts(store) for store in STORES)
    age_cart(e2e, cart["id"], timedelta(days=23))
    assert wait_until(lambda: api.get_cart(cart["id"])["status"] == "EXPIRED", 15)
    assert wait_until(lambda: outbox_entries(e2e, cart["id"]) == 0, 15)
    assert [b["status"] for b in api.get_cart(cart["id"])["bags"]] == ["DELETED"] * 3
