"""The Shopify adapter end to end against the sandbox's Storefront simulator, in-process on a
real loopback port, over the registry's real (aiohttp) transport.

The simulator is written from Shopify's docs, not from this adapter: agreeing with it checks
the documents, the headers and the answers' reading together, including its faults.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from adapters.base import CartContext, LineRequest
from adapters.registry import AdapterRegistry
from adapters.shopify import SHOPIFY, ShopifyAdapter
from errors import Cause, PlatformNotFound, PlatformRejected, PlatformTimeout
from tests.adapters.conftest import fast_settings

sandbox_app = pytest.importorskip("sandbox.app", reason="the sandbox is not importable")
pytest.importorskip("sandbox.shopify", reason="the sandbox has no Shopify simulator")

STORE = "threads4"
Client = TestClient[web.Request, web.Application]


def gid(variant: int) -> dict[str, str]:
    return {"variant_id": f"gid://shopify/ProductVariant/{variant}"}


TEE_S = LineRequest(gid(41011), 2, "tee_s")
TEE_L = LineRequest(gid(41013), 5, "tee_l")  # stock 2
SOCKS = LineRequest(gid(41020), 1, "socks")


def soon(seconds: float = 5.0) -> float:
    return time.monotonic() + seconds


@pytest.fixture
async def sandbox() -> AsyncIterator[Client]:
    app = sandbox_app.build_app(sandbox_app.SandboxConfig(hang_max_s=10))
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        yield client


@pytest.fixture
async def shop(sandbox: Client) -> AsyncIterator[ShopifyAdapter]:
    stores = await (await sandbox.get("/__sandbox/stores")).json()
    store = next(s for s in stores if s["store"] == STORE)
    assert store["platform"] == "SHOPIFY"
    settings = fast_settings(platform_attempt_timeout_s=0.3, platform_retry_after_cap_s=0.05)
    registry = AdapterRegistry(settings)
    # The connection exactly as the sandbox advertises it for the admin routes.
    adapter = registry.for_merchant("mer_1", SHOPIFY, store["connection"])
    assert isinstance(adapter, ShopifyAdapter)
    yield adapter
    await registry.aclose()


async def statuses(sandbox: Client) -> list[Any]:
    """The statuses of the requests the store received, in order (None: never answered)."""
    entries = await (await sandbox.get(f"/__sandbox/requests?store={STORE}")).json()
    return [e["status"] for e in entries]


async def fault(sandbox: Client, **spec: Any) -> None:
    response = await sandbox.post("/__sandbox/faults", json={"store": STORE, **spec})
    assert response.status == 201, await response.text()


async def test_create_get_add_update_remove_delete(shop: ShopifyAdapter) -> None:
    context = CartContext(cart_id="crt_1", bag_id="bag_1", customer_id="cus_1")
    created = await shop.create_cart(
        [TEE_S, TEE_L], currency="USD", deadline=soon(), context=context
    )
    assert created.external_id.startswith("gid://shopify/Cart/") and "?key=" in created.external_id
    assert created.checkout_url and created.currency == "USD"
    assert [(ln.platform_ref, ln.quantity) for ln in created.lines] == [
        (TEE_S.platform_ref, 2),
        (TEE_L.platform_ref, 2),  # clamped to the stock, with a warning
    ]
    assert [
        (p.platform_ref, p.cause, p.requested_quantity, p.held_quantity) for p in created.problems
    ] == [(TEE_L.platform_ref, Cause.OUT_OF_STOCK, 5, 2)]
    assert created.sub_total == sum(ln.line_price for ln in created.lines) == 10000

    read = await shop.get_cart(created.external_id, deadline=soon())
    assert read.lines == created.lines and read.problems == ()

    added = await shop.add_lines(created.external_id, [SOCKS], deadline=soon())
    socks = added.line_for(SOCKS.platform_ref)
    assert socks is not None and socks.quantity == 1 and socks.unit_price == 1400

    updated = await shop.update_line(
        created.external_id, socks.external_id, 3, platform_ref=SOCKS.platform_ref, deadline=soon()
    )
    assert updated is not None
    assert updated.line_for(SOCKS.platform_ref).quantity == 3  # type: ignore[union-attr]

    removed = await shop.remove_line(created.external_id, socks.external_id, deadline=soon())
    assert removed is not None and removed.line_for(SOCKS.platform_ref) is None

    await shop.delete_cart(created.external_id, deadline=soon())
    emptied = await shop.get_cart(created.external_id, deadline=soon())
    assert emptied.lines == ()  # Shopify keeps the empty cart until it expires

    await shop.delete_cart(created.external_id, deadline=soon())  # again: nothing to do


async def test_unknown_carts_variants_and_out_of_stock_items(shop: ShopifyAdapter) -> None:
    unknown = "gid://shopify/Cart/c1-00000000000000000000000000000000?key=0"
    with pytest.raises(PlatformNotFound):
        await shop.get_cart(unknown, deadline=soon())
    with pytest.raises(PlatformNotFound):
        await shop.add_lines(unknown, [SOCKS], deadline=soon())
    await shop.delete_cart(unknown, deadline=soon())  # absent: already what deleting wants

    with pytest.raises(PlatformRejected) as info:
        await shop.create_cart(
            [LineRequest(gid(12345), 1, "ghost")], currency="USD", deadline=soon()
        )
    assert info.value.cause == Cause.SKU_NOT_FOUND_ON_PLATFORM
    assert info.value.data == {"sku_ids": ["ghost"]}

    with pytest.raises(PlatformRejected) as info:
        await shop.create_cart([LineRequest(gid(9000), 1, "oos")], currency="USD", deadline=soon())
    assert info.value.cause == Cause.OUT_OF_STOCK


@pytest.mark.parametrize("form", ["THROTTLED", "429", "430", "503"])
async def test_each_throttling_form_is_waited_out_even_for_a_create(
    sandbox: Client, shop: ShopifyAdapter, form: str
) -> None:
    await fault(sandbox, mode="rate_limit", form=form, count=1)
    created = await shop.create_cart([SOCKS], currency="USD", deadline=soon())
    assert created.line_for(SOCKS.platform_ref) is not None
    assert await statuses(sandbox) == [200 if form == "THROTTLED" else int(form), 200]


async def test_a_create_applied_then_unanswered_is_not_sent_again(
    sandbox: Client, shop: ShopifyAdapter
) -> None:
    await fault(sandbox, mode="apply_then_hang", count=1)
    with pytest.raises(PlatformTimeout) as info:
        await shop.create_cart([SOCKS], currency="USD", deadline=soon())
    assert info.value.may_have_applied is True
    carts = await (await sandbox.get(f"/__sandbox/carts?store={STORE}")).json()
    assert len(carts) == 1  # one cart made, not two
    assert len(await statuses(sandbox)) == 1
