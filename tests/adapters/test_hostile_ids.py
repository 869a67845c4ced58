"""External ids are put in request paths only when they are one id of their platform's format
(``adapters.calls.ids``): an app's ``..`` or a platform answer carrying ``..`` as a line id is
refused as a platform error, with no request sent (respx counts every request)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import respx

from adapters.base import LineRequest
from adapters.bigcommerce import BigCommerceAdapter
from adapters.bigcommerce.adapter import CART_ID as BC_CART_ID
from adapters.elastic_path import ELASTIC_PATH
from adapters.elastic_path.payloads import CART_ID as EP_CART_ID
from adapters.registry import AdapterRegistry
from adapters.shopify import SHOPIFY
from adapters.shopify.adapter import CART_ID as SHOPIFY_CART_ID
from adapters.shopify.adapter import LINE_ID as SHOPIFY_LINE_ID
from errors import PlatformError
from tests.adapters.bigcommerce_answers import bc_cart, bc_item
from tests.adapters.conftest import CART_ID, ITEM_ID, deadline

HOSTILE = [
    "..",
    ".",
    "a/b",
    "%2e%2e",
    "..%2f",
    "../customers?limit=1",
    "x#y",
    "a\\b",
    "a\x00b",
    "a b",
    f"{CART_ID}/../../customers",
]
LINE = LineRequest(platform_ref={"product_id": 191}, quantity=1)


def each_call(adapter: Any, cart_id: str, line_id: str) -> list[Any]:
    """Every adapter method that puts a cart id in a request, then the two that put a line
    id in one (``[-2:]``)."""
    return [
        lambda: adapter.get_cart(cart_id, deadline=deadline()),
        lambda: adapter.delete_cart(cart_id, deadline=deadline()),
        lambda: adapter.add_lines(cart_id, [LINE], deadline=deadline()),
        lambda: adapter.update_line(
            cart_id, line_id, 2, platform_ref=LINE.platform_ref, deadline=deadline()
        ),
        lambda: adapter.remove_line(cart_id, line_id, deadline=deadline()),
    ]


@pytest.mark.parametrize("hostile", HOSTILE)
async def test_bigcommerce_never_puts_a_hostile_id_in_a_path(
    bc: BigCommerceAdapter, mock: respx.MockRouter, hostile: str
) -> None:
    route = mock.route().mock(return_value=httpx.Response(200, json=bc_cart()))
    for call in each_call(bc, hostile, ITEM_ID) + each_call(bc, CART_ID, hostile)[-2:]:
        with pytest.raises(PlatformError, match="nothing was sent"):
            await call()
    assert route.call_count == 0


async def test_a_hostile_line_id_in_a_bigcommerce_answer_is_never_put_in_a_path(
    bc: BigCommerceAdapter, mock: respx.MockRouter
) -> None:
    answer = bc_cart(physical=[bc_item(item_id="..")])
    route = mock.route().mock(return_value=httpx.Response(200, json=answer))
    cart = await bc.get_cart(CART_ID, deadline=deadline())  # one GET, to a UUID path
    (line,) = cart.lines
    assert line.external_id == ".." and route.call_count == 1
    with pytest.raises(PlatformError, match="nothing was sent"):
        await bc.update_line(
            CART_ID, line.external_id, 2, platform_ref=LINE.platform_ref, deadline=deadline()
        )
    with pytest.raises(PlatformError, match="nothing was sent"):
        await bc.remove_line(CART_ID, line.external_id, deadline=deadline())
    assert route.call_count == 1
    assert all(b"/.." not in c.request.url.raw_path for c in route.calls)


@pytest.mark.parametrize("hostile", HOSTILE)
async def test_elastic_path_never_puts_a_hostile_id_in_a_path(
    registry: AdapterRegistry, mock: respx.MockRouter, hostile: str
) -> None:
    ep = registry.for_merchant(
        "mer_ep",
        ELASTIC_PATH,
        {"api_url": "https://ep.test", "client_id": "c", "client_secret": "s"},
    )
    route = mock.route().mock(return_value=httpx.Response(500))
    for call in each_call(ep, hostile, ITEM_ID) + each_call(ep, "bag_1", hostile)[-2:]:
        with pytest.raises(PlatformError, match="nothing was sent"):
            await call()
    assert route.call_count == 0


@pytest.mark.parametrize("hostile", HOSTILE)
async def test_shopify_refuses_an_id_of_another_shape_before_sending(
    registry: AdapterRegistry, mock: respx.MockRouter, hostile: str
) -> None:
    shop = registry.for_merchant(
        "mer_s", SHOPIFY, {"shop_url": "https://s.test", "storefront_token": "t"}
    )
    route = mock.route().mock(return_value=httpx.Response(500))
    good_cart, good_line = "gid://shopify/Cart/c1-ab?key=k", "gid://shopify/CartLine/1?cart=c1"
    calls = each_call(shop, hostile, good_line) + each_call(shop, good_cart, hostile)[-2:]
    for call in calls:
        with pytest.raises(PlatformError, match="nothing was sent"):
            await call()
    assert route.call_count == 0


@pytest.mark.parametrize(
    ("id_format", "good", "bad"),
    [
        (BC_CART_ID, CART_ID, ["..", "bc218c65-7a32-4ab7-8082-68730c074d0", CART_ID + "/x"]),
        (EP_CART_ID, "bag_0123abcd", ["..", ".", "a.b", "a/b", "%2e%2e", "x" * 256]),
        (
            SHOPIFY_CART_ID,
            "gid://shopify/Cart/c1-5f1d6d2c0e4b4c7e9a1b2c3d4e5f6a7b?key=73de96370dea19c1",
            ["..", "gid://shopify/Cart/..", "gid://shopify/Cart/a/b", "gid://shopify/Cart/a?x=1"],
        ),
        (
            SHOPIFY_LINE_ID,
            "gid://shopify/CartLine/a07f5410-ea7a-41ac-a794-839c1e0d599c?cart=c1-5f1d",
            ["gid://shopify/CartLine/../x", "gid://shopify/Cart/1"],
        ),
    ],
)
def test_each_platform_id_pattern(id_format: Any, good: str, bad: list[str]) -> None:
    assert id_format.problem(good) is None
    for value in bad:
        assert id_format.problem(value) is not None, value
