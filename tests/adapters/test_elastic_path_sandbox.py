"""The Elastic Path adapter end to end against the sandbox's Elastic Path, in-process on loopback.

Real HTTP over the registry's real client (the aiohttp transport): the token grant, a create
with its reference, reads, adds, updates, removals, a delete, a 401 after the store dropped the
token, and a create repeated after the store applied it but the answer never came.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from adapters.base import CartContext, LineRequest
from adapters.elastic_path import ELASTIC_PATH, ElasticPathAdapter
from adapters.registry import AdapterRegistry
from errors import Cause, PlatformRejected, PlatformTimeout
from sandbox.app import SandboxConfig, build_app
from tests.adapters.conftest import deadline, fast_settings

Client = TestClient[web.Request, web.Application]
STORE = "garden6"
REF = "bag_e2e_0123456789abcdef"


@pytest.fixture
async def sandbox() -> AsyncIterator[Client]:
    async with TestClient(TestServer(build_app(SandboxConfig(hang_max_s=5)))) as client:
        yield client


async def control(client: Client, method: str, path: str, body: Any = None) -> Any:
    response = await client.request(method, "/__sandbox" + path, json=body)
    assert response.status < 300, await response.text()
    return await response.json()


@pytest.fixture
async def store(sandbox: Client) -> dict[str, Any]:
    stores = await control(sandbox, "GET", "/stores")
    return next(s for s in stores if s["store"] == STORE)


@pytest.fixture
async def ep(store: dict[str, Any]) -> AsyncIterator[ElasticPathAdapter]:
    registry = AdapterRegistry(fast_settings(platform_attempt_timeout_s=1.0))
    adapter = registry.for_merchant("mer_e2e", ELASTIC_PATH, store["connection"])
    assert isinstance(adapter, ElasticPathAdapter)
    yield adapter
    await registry.aclose()


def line(store: dict[str, Any], sku: str, quantity: int, *, by_sku: bool = False) -> LineRequest:
    product = next(p for p in store["products"] if p["sku"] == sku)
    ref = {"sku": sku} if by_sku else product["platform_ref"]
    return LineRequest(platform_ref=ref, quantity=quantity, sku_id=f"ours-{sku}")


async def held(client: Client) -> list[dict[str, Any]]:
    carts: list[dict[str, Any]] = await control(client, "GET", f"/carts?store={STORE}")
    return carts


async def test_a_cart_lives_its_whole_life_through_the_adapter(
    sandbox: Client, store: dict[str, Any], ep: ElasticPathAdapter
) -> None:
    seeds, gloves = line(store, "SEEDS-TOMATO", 3), line(store, "GLOVES", 1, by_sku=True)
    context = CartContext(cart_id="cart_e2e", bag_id=REF, name="Garden order")

    cart = await ep.create_cart(
        [seeds], currency="USD", deadline=deadline(), cart_ref=REF, context=context
    )
    assert cart.external_id == REF and cart.currency == "USD"
    assert [(ln.quantity, ln.unit_price, ln.line_price) for ln in cart.lines] == [(3, 399, 1197)]
    assert cart.sub_total == 1197

    cart = await ep.add_lines(REF, [gloves], deadline=deadline())
    assert cart.line_for(gloves.platform_ref) is not None and cart.sub_total == 1197 + 1850

    seed_line = cart.line_for(seeds.platform_ref)
    assert seed_line is not None
    updated = await ep.update_line(
        REF, seed_line.external_id, 5, platform_ref=seeds.platform_ref, deadline=deadline()
    )
    assert updated is not None and updated.sub_total == 5 * 399 + 1850

    left = await ep.remove_line(REF, seed_line.external_id, deadline=deadline())
    assert left is not None and [ln.platform_ref.get("sku") for ln in left.lines] == ["GLOVES"]
    assert (await ep.get_cart(REF, deadline=deadline())).sub_total == 1850

    [listed] = await held(sandbox)
    assert listed["id"] == REF
    await ep.delete_cart(REF, deadline=deadline())
    assert await held(sandbox) == []
    await ep.delete_cart(REF, deadline=deadline())  # deleting again is still success


async def test_a_token_the_store_dropped_is_renewed_once(
    sandbox: Client, store: dict[str, Any], ep: ElasticPathAdapter
) -> None:
    await ep.get_cart(REF, deadline=deadline())
    assert ep.auth.fetches == 1
    await control(sandbox, "PUT", "/settings", {"store": STORE, "expire_tokens": True})
    await ep.get_cart(REF, deadline=deadline())  # 401, one renewal, sent again
    assert ep.auth.fetches == 2
    await control(sandbox, "POST", "/clock", {"advance_s": 3600})  # expired by the store's clock
    await ep.get_cart(REF, deadline=deadline())
    assert ep.auth.fetches == 3


async def test_a_create_repeated_after_a_lost_answer_finds_the_same_cart(
    sandbox: Client, store: dict[str, Any], ep: ElasticPathAdapter
) -> None:
    seeds = line(store, "SEEDS-TOMATO", 2)
    await ep.get_cart("warm-up", deadline=deadline())  # the token, so the fault hits the add
    await control(
        sandbox,
        "POST",
        "/faults",
        {
            "store": STORE,
            "mode": "apply_then_hang",
            "count": 1,
            "method": "POST",
            "path_contains": "/items",
        },
    )
    with pytest.raises(PlatformTimeout) as info:
        await ep.create_cart([seeds], currency="USD", deadline=deadline(2.0), cart_ref=REF)
    assert info.value.may_have_applied is True

    cart = await ep.create_cart([seeds], currency="USD", deadline=deadline(), cart_ref=REF)

    assert [ln.quantity for ln in cart.lines] == [2]
    carts = [c for c in await held(sandbox) if c["id"] == REF]
    assert len(carts) == 1 and [ln["quantity"] for ln in carts[0]["lines"]] == [2]


async def test_an_out_of_stock_create_leaves_no_cart_behind(
    sandbox: Client, store: dict[str, Any], ep: ElasticPathAdapter
) -> None:
    with pytest.raises(PlatformRejected) as info:
        await ep.create_cart(
            [line(store, "TRIGGER-OOS", 1)], currency="USD", deadline=deadline(), cart_ref=REF
        )
    assert info.value.cause == Cause.OUT_OF_STOCK
    assert await held(sandbox) == []
