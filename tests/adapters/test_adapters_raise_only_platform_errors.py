"""Each adapter's public methods raise only ``PlatformError``s, whatever a platform answers.

Crafted answers (amounts ``decimal`` cannot round or the store cannot hold, NaN, wrong types,
non-JSON), tokens no HTTP header can carry, and platform texts of any length.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import respx
from pydantic import SecretStr, ValidationError

from adapters.base import LineRequest
from adapters.bigcommerce import BIGCOMMERCE, BigCommerceAdapter, BigCommerceConnection
from adapters.calls.platform_text import PLATFORM_MESSAGE_MAX
from adapters.calls.policy import RetryPolicy
from adapters.elastic_path import ELASTIC_PATH, ElasticPathAdapter
from adapters.registry import PLATFORMS, AdapterRegistry
from adapters.shopify import SHOPIFY, ShopifyAdapter, ShopifyConnection
from bags.status import Platform
from errors import (
    MESSAGE_MAX,
    Cause,
    PlatformAuthFailed,
    PlatformError,
    PlatformRejected,
    PlatformServerError,
)
from tests.adapters.bigcommerce_answers import bc_cart, bc_item
from tests.adapters.conftest import STORE, TcpServer, deadline, fast_settings

HUGE = 2**64 - 1  # the widest integer orjson reads; past the store's BIGINT
BIG_QUANTITY = 2**40


def adapter(registry: AdapterRegistry, platform: Platform, connection: Any) -> Any:
    """An adapter as the registry builds it, from a connection that skipped validation (one
    stored before a rule existed, say)."""
    settings = fast_settings().for_platform(platform)
    return PLATFORMS[platform].adapter(
        "mer_1",
        connection,
        registry.transport(platform),
        registry.resilience(platform),
        RetryPolicy.for_platform(settings, PLATFORMS[platform].retry),
    )


# --- BigCommerce ----------------------------------------------------------------------------------


def bc_with(**data: Any) -> dict[str, Any]:
    body = bc_cart()
    body["data"].update(data)
    return body


BC_ANSWERS = {
    "amount decimal cannot round": bc_with(cart_amount=1e30),
    "amount past 64 bits": bc_with(cart_amount=1e17),
    "quantity past 32 bits": bc_with(
        line_items={"physical_items": [bc_item(quantity=BIG_QUANTITY)]}
    ),
    "line items of the wrong type": bc_with(line_items="physical"),
    "data of the wrong type": {"data": [1, 2]},
}


@pytest.mark.parametrize("body", BC_ANSWERS.values(), ids=BC_ANSWERS.keys())
async def test_bigcommerce_crafted_answers_are_server_errors(
    bc: BigCommerceAdapter, mock: respx.MockRouter, body: dict[str, Any]
) -> None:
    mock.get(url__startswith=STORE).mock(return_value=httpx.Response(200, json=body))
    with pytest.raises(PlatformServerError):
        await bc.get_cart("00000000-0000-4000-8000-0000000000c1", deadline=deadline())


async def test_bigcommerce_a_non_json_answer_to_a_create_may_have_applied(
    bc: BigCommerceAdapter, mock: respx.MockRouter
) -> None:
    mock.post(url__startswith=STORE).mock(return_value=httpx.Response(200, text="<html>"))
    line = LineRequest(platform_ref={"product_id": 1}, quantity=1, sku_id="s")
    with pytest.raises(PlatformServerError) as caught:
        await bc.create_cart([line], currency="USD", deadline=deadline())
    assert caught.value.may_have_applied


async def test_bigcommerce_an_id_orjson_cannot_encode_is_refused_before_sending(
    bc: BigCommerceAdapter, mock: respx.MockRouter
) -> None:
    route = mock.post(url__startswith=STORE)
    line = LineRequest(platform_ref={"product_id": 2**70}, quantity=1, sku_id="s")
    with pytest.raises(PlatformRejected) as caught:
        await bc.create_cart([line], currency="USD", deadline=deadline())
    assert caught.value.cause is Cause.SKU_NOT_FOUND_ON_PLATFORM and route.call_count == 0


@pytest.mark.parametrize("token", ["bc-token\r\n", "bc-t\u00f6ken", "bc token"])
def test_bigcommerce_refuses_a_token_no_header_can_carry_without_echoing_it(token: str) -> None:
    registry = AdapterRegistry(fast_settings())
    with pytest.raises(ValidationError) as caught:
        registry.parse_connection(BIGCOMMERCE, {"api_url": STORE, "access_token": token})
    assert token not in str(caught.value)


async def test_bigcommerce_a_stored_token_with_a_line_break_is_auth_failed_and_never_sent(
    live_registry: AdapterRegistry, tcp_server: Any
) -> None:
    async def answer(reader: Any, writer: Any, server: TcpServer) -> None:
        server.requests.append(await reader.read(1))

    server: TcpServer = await tcp_server(answer)
    connection = BigCommerceConnection.model_construct(
        api_url=f"{server.url}/stores/abc/v3", access_token=SecretStr("tok\r\nX-Injected: 1")
    )
    bc = adapter(live_registry, BIGCOMMERCE, connection)  # the production transport
    with pytest.raises(PlatformAuthFailed) as caught:
        await bc.get_cart("00000000-0000-4000-8000-0000000000c1", deadline=deadline())
    assert not caught.value.may_have_applied and server.requests == []


async def test_bigcommerce_a_long_title_is_clipped(
    bc: BigCommerceAdapter, mock: respx.MockRouter
) -> None:
    body = {"status": 422, "title": "Out of stock " + "x " * 100_000, "type": "about:blank"}
    mock.post(url__startswith=STORE).mock(return_value=httpx.Response(422, json=body))
    line = LineRequest(platform_ref={"product_id": 1}, quantity=1, sku_id="s")
    with pytest.raises(PlatformRejected) as caught:
        await bc.create_cart([line], currency="USD", deadline=deadline())
    # platform_text bounds the platform's words (PLATFORM_MESSAGE_MAX), inside MESSAGE_MAX
    assert len(caught.value.message) <= PLATFORM_MESSAGE_MAX < MESSAGE_MAX
    assert caught.value.message.endswith("\u2026")
    assert caught.value.cause is Cause.OUT_OF_STOCK


# --- Shopify --------------------------------------------------------------------------------------

SHOP = "https://outdoors.myshopify.test"
ENDPOINT = f"{SHOP}/api/2026-04/graphql.json"
VARIANT = "gid://shopify/ProductVariant/1"


def shopify_cart(subtotal: str = "10.00", quantity: int = 1, amount: str = "10.00") -> Any:
    money = {"amount": amount, "currencyCode": "USD"}
    line = {
        "id": "gid://shopify/CartLine/1",
        "quantity": quantity,
        "merchandise": {"id": VARIANT, "title": "T", "product": {"title": "P"}},
        "cost": {"amountPerQuantity": money, "totalAmount": money},
    }
    return {
        "id": "gid://shopify/Cart/c1?key=k",
        "checkoutUrl": f"{SHOP}/checkout",
        "cost": {"subtotalAmount": {"amount": subtotal, "currencyCode": "USD"}},
        "lines": {"edges": [{"node": line}]},
    }


SHOPIFY_ANSWERS: dict[str, Any] = {
    "amount decimal cannot round": {"data": {"cart": shopify_cart(subtotal="1e30")}},
    "amount past 64 bits": {"data": {"cart": shopify_cart(subtotal="1e25")}},
    "NaN amount": {"data": {"cart": shopify_cart(amount="NaN")}},
    "quantity past 32 bits": {"data": {"cart": shopify_cart(quantity=BIG_QUANTITY)}},
    "cost of the wrong type": {"data": {"cart": {"cost": 5}}},
    "a list, not an object": [1, 2],
}


@pytest.fixture
def shop(registry: AdapterRegistry) -> ShopifyAdapter:
    built = registry.for_merchant(
        "mer_1", SHOPIFY, {"shop_url": SHOP, "storefront_token": "shpss_0123"}
    )
    assert isinstance(built, ShopifyAdapter)
    return built


@pytest.mark.parametrize("body", SHOPIFY_ANSWERS.values(), ids=SHOPIFY_ANSWERS.keys())
async def test_shopify_crafted_answers_are_server_errors(
    shop: ShopifyAdapter, mock: respx.MockRouter, body: Any
) -> None:
    mock.post(ENDPOINT).mock(return_value=httpx.Response(200, json=body))
    with pytest.raises(PlatformServerError):
        await shop.get_cart("gid://shopify/Cart/c1?key=k", deadline=deadline())


async def test_shopify_a_non_json_answer_to_a_create_may_have_applied(
    shop: ShopifyAdapter, mock: respx.MockRouter
) -> None:
    mock.post(ENDPOINT).mock(return_value=httpx.Response(200, text="<html>"))
    line = LineRequest(platform_ref={"variant_id": VARIANT}, quantity=1, sku_id="s")
    with pytest.raises(PlatformServerError) as caught:
        await shop.create_cart([line], currency="USD", deadline=deadline())
    assert caught.value.may_have_applied


@pytest.mark.parametrize("token", ["shpss_\r\nX-Injected: 1", "shpss_t\u00f6ken"])
async def test_shopify_a_stored_token_no_header_can_carry_is_auth_failed(
    registry: AdapterRegistry, mock: respx.MockRouter, token: str
) -> None:
    route = mock.post(ENDPOINT)
    connection = ShopifyConnection.model_construct(
        shop_url=SHOP, storefront_token=SecretStr(token), api_version="2026-04"
    )
    shop = adapter(registry, SHOPIFY, connection)  # the constructor does not raise
    for call in (
        shop.get_cart("gid://shopify/Cart/c1?key=k", deadline=deadline()),
        shop.delete_cart("gid://shopify/Cart/c1?key=k", deadline=deadline()),
    ):
        with pytest.raises(PlatformAuthFailed):
            await call
    assert route.call_count == 0


async def test_shopify_a_long_warning_is_clipped_in_its_line_problem(
    shop: ShopifyAdapter, mock: respx.MockRouter
) -> None:
    warning = {"code": "MERCHANDISE_NOT_ENOUGH_STOCK", "message": "Only " + "x " * 100_000}
    warning["target"] = "gid://shopify/CartLine/1"
    payload = {"cart": shopify_cart(), "userErrors": [], "warnings": [warning]}
    answer = {"data": {"cartCreate": payload}}
    mock.post(ENDPOINT).mock(return_value=httpx.Response(200, json=answer))
    line = LineRequest(platform_ref={"variant_id": VARIANT}, quantity=2, sku_id="s")
    cart = await shop.create_cart([line], currency="USD", deadline=deadline())
    assert len(cart.problems[0].message) <= PLATFORM_MESSAGE_MAX


# --- Elastic Path ---------------------------------------------------------------------------------

API = "https://api.elasticpath.test"
REF = "bag_1"
ITEMS = f"{API}/v2/carts/{REF}/items"
PRODUCT = "5a4662d2-9a2b-4f6e-a215-2970db914b0c"


def ep_items(unit: int = 100, quantity: int = 1, total: int | None = None) -> dict[str, Any]:
    item = {
        "id": "i1",
        "type": "cart_item",
        "product_id": PRODUCT,
        "sku": "S",
        "quantity": quantity,
        "unit_price": {"amount": unit, "currency": "USD"},
        "value": {"amount": unit, "currency": "USD"},
    }
    shown = {"amount": unit if total is None else total, "currency": "USD"}
    return {"data": [item], "meta": {"display_price": {"with_tax": shown}}}


EP_ANSWERS: dict[str, Any] = {
    "amount past 64 bits": ep_items(unit=HUGE),
    "total past 64 bits": ep_items(total=HUGE),
    "quantity past 32 bits": ep_items(quantity=BIG_QUANTITY),
    "a float amount": ep_items(unit=1),
    "data of the wrong type": {"data": "items"},
}
EP_ANSWERS["a float amount"]["data"][0]["unit_price"]["amount"] = 1e300


def token(value: str = "tok1") -> httpx.Response:
    return httpx.Response(200, json={"access_token": value, "token_type": "Bearer"})


@pytest.fixture
def ep(registry: AdapterRegistry) -> ElasticPathAdapter:
    built = registry.for_merchant(
        "mer_1", ELASTIC_PATH, {"api_url": API, "client_id": "c", "client_secret": "s"}
    )
    assert isinstance(built, ElasticPathAdapter)
    return built


@pytest.mark.parametrize("body", EP_ANSWERS.values(), ids=EP_ANSWERS.keys())
async def test_elastic_path_crafted_answers_are_server_errors(
    ep: ElasticPathAdapter, mock: respx.MockRouter, body: Any
) -> None:
    mock.post(f"{API}/oauth/access_token").mock(return_value=token())
    mock.get(ITEMS).mock(return_value=httpx.Response(200, json=body))
    with pytest.raises(PlatformServerError):
        await ep.get_cart(REF, deadline=deadline())


async def test_elastic_path_a_non_json_answer_is_a_server_error(
    ep: ElasticPathAdapter, mock: respx.MockRouter
) -> None:
    mock.post(f"{API}/oauth/access_token").mock(return_value=token())
    mock.get(ITEMS).mock(return_value=httpx.Response(200, text="<html>"))
    with pytest.raises(PlatformServerError):
        await ep.get_cart(REF, deadline=deadline())


@pytest.mark.parametrize("bad", ["tok\r\nX-Injected: 1", "t\u00f6k", "", None])
async def test_elastic_path_a_token_no_header_can_carry_is_a_platform_error_and_never_sent(
    ep: ElasticPathAdapter, mock: respx.MockRouter, bad: Any
) -> None:
    mock.post(f"{API}/oauth/access_token").mock(return_value=token(bad))
    items = mock.get(ITEMS)
    with pytest.raises(PlatformError) as caught:
        await ep.get_cart(REF, deadline=deadline())
    assert not caught.value.may_have_applied and items.call_count == 0


async def test_elastic_path_a_long_item_error_is_clipped_in_its_line_problem(
    ep: ElasticPathAdapter, mock: respx.MockRouter
) -> None:
    mock.post(f"{API}/oauth/access_token").mock(return_value=token())
    cart = {"data": {"id": REF, "name": "n", "relationships": {"items": {"data": None}}}}
    mock.get(f"{API}/v2/carts/{REF}").mock(return_value=httpx.Response(200, json=cart))
    mock.put(f"{API}/v2/carts/{REF}").mock(return_value=httpx.Response(200, json=cart))
    refused: dict[str, Any] = {"status": 400, "title": "Insufficient stock"}
    refused |= {"detail": "x " * 100_000, "meta": {"sku": "MUG"}}
    answer = ep_items() | {"errors": [refused]}
    mock.post(ITEMS).mock(return_value=httpx.Response(201, json=answer))
    lines = [
        LineRequest(platform_ref={"product_id": PRODUCT}, quantity=1, sku_id="a"),
        LineRequest(platform_ref={"sku": "MUG"}, quantity=1, sku_id="b"),
    ]
    held = await ep.create_cart(lines, currency="USD", deadline=deadline(), cart_ref=REF)
    (problem,) = held.problems
    assert len(problem.message) <= PLATFORM_MESSAGE_MAX * 2 and problem.cause is Cause.OUT_OF_STOCK


def test_every_platform_is_covered_here() -> None:
    # A new platform gets its crafted answers and bad tokens here too.
    assert set(PLATFORMS) == {BIGCOMMERCE, SHOPIFY, ELASTIC_PATH}
