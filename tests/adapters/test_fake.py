"""The in-memory platform the orchestrator's unit tests use behaves like a platform."""

from __future__ import annotations

import time

import pytest
from pydantic import ValidationError

from adapters.base import CartPlatform, LineRequest
from adapters.bigcommerce import BIGCOMMERCE, BigCommerceConnection
from adapters.elastic_path import ELASTIC_PATH
from adapters.fake import FakePlatform, FakeRegistry, ref_key
from adapters.shopify import SHOPIFY, ShopifyConnection
from errors import Cause, PlatformNotFound, PlatformRejected, PlatformTimeout

A = {"product_id": 1, "variant_id": 10}
B = {"product_id": 2}
FAR = time.monotonic() + 60


def fake(**kwargs: object) -> FakePlatform:
    return FakePlatform({ref_key(A): 1250, ref_key(B): 999}, **kwargs)  # type: ignore[arg-type]


async def test_create_add_update_remove_delete() -> None:
    platform: CartPlatform = fake()
    cart = await platform.create_cart(
        [LineRequest(A, 2, sku_id="a"), LineRequest(B, 1, sku_id="b")], currency="USD", deadline=FAR
    )
    assert cart.sub_total == 2 * 1250 + 999
    assert cart.checkout_url and cart.external_id in cart.checkout_url
    line_a = cart.line_for({"product_id": 1})
    assert line_a is not None and line_a.unit_price == 1250 and line_a.line_price == 2500

    cart = await platform.add_lines(cart.external_id, [LineRequest(A, 1)], deadline=FAR)
    merged = cart.line_for(A)
    assert merged is not None and merged.quantity == 3 and len(cart.lines) == 2

    updated = await platform.update_line(
        cart.external_id, merged.external_id, 5, platform_ref=A, deadline=FAR
    )
    assert updated is not None and updated.sub_total == 5 * 1250 + 999

    line_b = updated.line_for(B)
    assert line_b is not None
    after = await platform.remove_line(cart.external_id, line_b.external_id, deadline=FAR)
    assert after is not None and len(after.lines) == 1
    assert await platform.remove_line(cart.external_id, merged.external_id, deadline=FAR) is None
    with pytest.raises(PlatformNotFound):
        await platform.get_cart(cart.external_id, deadline=FAR)
    await platform.delete_cart(cart.external_id, deadline=FAR)  # absent: still success


async def test_unknown_and_out_of_stock_refs_are_rejected_with_their_sku() -> None:
    platform = fake(out_of_stock={ref_key(B)})
    with pytest.raises(PlatformRejected) as unknown:
        await platform.create_cart(
            [LineRequest({"product_id": 9}, 1, sku_id="z")], currency="USD", deadline=FAR
        )
    assert unknown.value.cause == Cause.SKU_NOT_FOUND_ON_PLATFORM
    assert unknown.value.data == {"sku_ids": ["z"]}
    with pytest.raises(PlatformRejected) as stock:
        await platform.create_cart([LineRequest(B, 1, sku_id="b")], currency="USD", deadline=FAR)
    assert stock.value.cause == Cause.OUT_OF_STOCK
    assert platform.carts == {}


async def test_scripted_failures_hit_the_next_calls_only() -> None:
    platform = fake()
    platform.fail_next("create_cart", PlatformTimeout("slow", platform="BIGCOMMERCE"), times=2)
    for _ in range(2):
        with pytest.raises(PlatformTimeout):
            await platform.create_cart([LineRequest(A, 1)], currency="USD", deadline=FAR)
    cart = await platform.create_cart([LineRequest(A, 1)], currency="USD", deadline=FAR)
    assert cart.lines
    assert [op for op, _ in platform.calls] == ["create_cart"] * 3


async def test_delay_and_caller_chosen_ids() -> None:
    platform = fake(platform=ELASTIC_PATH, delay=0.02)
    assert platform.capabilities.caller_chosen_cart_ids
    started = time.monotonic()
    cart = await platform.create_cart(
        [LineRequest(A, 1)], currency="USD", deadline=FAR, cart_ref="bag_1"
    )
    assert time.monotonic() - started >= 0.02
    assert cart.external_id == "bag_1"


async def test_shopify_fake_cannot_delete_and_keeps_an_emptied_cart() -> None:
    platform = fake(platform=SHOPIFY)
    assert not platform.capabilities.can_delete_cart
    cart = await platform.create_cart([LineRequest(A, 1)], currency="USD", deadline=FAR)
    emptied = await platform.remove_line(cart.external_id, cart.lines[0].external_id, deadline=FAR)
    assert emptied is not None and emptied.lines == ()


async def test_fake_registry_surface() -> None:
    registry = FakeRegistry(default_price=500)
    assert registry.supported_platforms() == {SHOPIFY, BIGCOMMERCE, ELASTIC_PATH}
    assert isinstance(
        registry.parse_connection(BIGCOMMERCE, {"api_url": "https://x/v3", "access_token": "t"}),
        BigCommerceConnection,
    )
    with pytest.raises(ValidationError):
        registry.parse_connection(BIGCOMMERCE, {"api_url": "x"})
    # Every platform's connection is its real adapter's model (the registry table's row).
    shopify = {"shop_url": "https://shop.test", "storefront_token": "t", "api_version": "2026-04"}
    assert isinstance(registry.parse_connection(SHOPIFY, shopify), ShopifyConnection)
    first = registry.for_merchant("m1", BIGCOMMERCE, {})
    assert registry.for_merchant("m1", BIGCOMMERCE, {}) is first
    cart = await first.create_cart([LineRequest({"sku": "any"}, 2)], currency="USD", deadline=FAR)
    assert cart.sub_total == 1000
    await registry.aclose()
    assert registry.closed
