"""The Shopify adapter against respx: the GraphQL it sends and what it makes of each answer.

Refusals inside an answer are in ``test_shopify_user_errors.py``, failed calls in
``test_shopify_failures.py``, the connection model in ``test_shopify_connection.py``.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import respx

from adapters.base import CartContext, ExternalCart, ExternalLine, LineRequest
from adapters.shopify import ShopifyAdapter
from adapters.shopify import documents as docs
from errors import Cause, PlatformNotFound, PlatformRejected, PlatformServerError
from tests.adapters.conftest import deadline
from tests.adapters.shopify_answers import (
    CART_ID,
    CHECKOUT,
    ENDPOINT,
    LINE_A,
    LINE_B,
    TOKEN,
    VARIANT_A,
    VARIANT_B,
    A,
    B,
    answer,
    by_document,
    cart,
    node,
    queried,
    sent,
    user_error,
)

# --- requests and parsing -------------------------------------------------------------------------


async def test_create_sends_the_documented_request_and_reads_the_cart(
    shop: ShopifyAdapter, gql: respx.Route
) -> None:
    gql.mock(return_value=answer("cartCreate", cart()))
    context = CartContext(cart_id="crt_1", bag_id="bag_1", customer_id="cus_9", name="Trip")

    result = await shop.create_cart([A], currency="USD", deadline=deadline(), context=context)

    request = gql.calls.last.request
    assert request.method == "POST"
    assert str(request.url) == ENDPOINT
    assert request.headers["Shopify-Storefront-Private-Token"] == TOKEN
    assert request.headers["Content-Type"] == "application/json"
    assert "X-Shopify-Storefront-Access-Token" not in request.headers
    assert sent(gql) == {
        "query": docs.CART_CREATE,
        "variables": {
            "input": {
                "lines": [{"merchandiseId": VARIANT_A, "quantity": 2}],
                # the app's customer reference is ours, never a customerAccessToken
                "attributes": [
                    {"key": "_multicart_cart_id", "value": "crt_1"},
                    {"key": "_multicart_bag_id", "value": "bag_1"},
                    {"key": "_multicart_customer_id", "value": "cus_9"},
                    {"key": "_multicart_name", "value": "Trip"},
                ],
            }
        },
    }
    assert result == ExternalCart(
        external_id=CART_ID,  # with its ?key=
        currency="USD",
        sub_total=5998,
        lines=(
            ExternalLine(
                external_id=LINE_A,
                platform_ref={"variant_id": VARIANT_A},
                quantity=2,
                unit_price=2999,
                line_price=5998,
                name="Trail Tent",
            ),
        ),
        checkout_url=CHECKOUT,
    )
    assert result.line_for(A.platform_ref) is result.lines[0]
    assert gql.call_count == 1


async def test_create_without_context_sends_only_lines_and_names_variants(
    shop: ShopifyAdapter, gql: respx.Route
) -> None:
    two = cart(
        [node(), node(LINE_B, VARIANT_B, 5, "10.0", "50.0", title="Large")], subtotal="109.98"
    )
    gql.mock(return_value=answer("cartCreate", two))
    result = await shop.create_cart([A, B], currency="USD", deadline=deadline())
    assert sent(gql)["variables"] == {
        "input": {
            "lines": [
                {"merchandiseId": VARIANT_A, "quantity": 2},
                {"merchandiseId": VARIANT_B, "quantity": 5},
            ]
        }
    }
    assert [ln.name for ln in result.lines] == ["Trail Tent", "Trail Tent - Large"]
    assert result.sub_total == 10998 and result.lines[1].line_price == 5000


async def test_get_add_update_remove_send_their_documents_and_variables(
    shop: ShopifyAdapter, gql: respx.Route
) -> None:
    gql.mock(
        side_effect=[
            queried(cart()),
            answer("cartLinesAdd", cart()),
            answer("cartLinesUpdate", cart()),
            answer("cartLinesRemove", cart(lines=[], subtotal="0.0")),
        ]
    )
    await shop.get_cart(CART_ID, deadline=deadline())
    await shop.add_lines(CART_ID, [B], deadline=deadline())
    await shop.update_line(CART_ID, LINE_A, 7, platform_ref=A.platform_ref, deadline=deadline())
    emptied = await shop.remove_line(CART_ID, LINE_A, deadline=deadline())

    assert [sent(gql, i) for i in range(4)] == [
        {"query": docs.CART_QUERY, "variables": {"id": CART_ID}},
        {
            "query": docs.CART_LINES_ADD,
            "variables": {
                "cartId": CART_ID,
                "lines": [{"merchandiseId": VARIANT_B, "quantity": 5}],
            },
        },
        {
            "query": docs.CART_LINES_UPDATE,
            "variables": {"cartId": CART_ID, "lines": [{"id": LINE_A, "quantity": 7}]},
        },
        {"query": docs.CART_LINES_REMOVE, "variables": {"cartId": CART_ID, "lineIds": [LINE_A]}},
    ]
    # Shopify keeps the emptied cart: the answer is that cart, not None.
    assert emptied is not None and emptied.lines == () and emptied.sub_total == 0


async def test_a_null_cart_on_get_is_not_found(shop: ShopifyAdapter, gql: respx.Route) -> None:
    gql.mock(return_value=queried(None))
    with pytest.raises(PlatformNotFound) as info:
        await shop.get_cart(CART_ID, deadline=deadline())
    assert info.value.cause == Cause.CART_NOT_FOUND_ON_PLATFORM
    assert gql.call_count == 1


@pytest.mark.parametrize(
    ("currency", "unit", "total", "subtotal", "expected"),
    [
        ("USD", "29.99", "59.98", "59.98", (2999, 5998, 5998)),
        ("USD", "0.0", "0.0", "0.0", (0, 0, 0)),
        ("JPY", "1500.0", "3000.0", "3000.0", (1500, 3000, 3000)),
        ("KWD", "12.345", "24.69", "24.69", (12345, 24690, 24690)),
        ("EUR", "0.1", "0.3", "0.3", (10, 30, 30)),
    ],
)
async def test_money_is_read_exactly_in_each_currencys_minor_units(
    shop: ShopifyAdapter,
    gql: respx.Route,
    currency: str,
    unit: str,
    total: str,
    subtotal: str,
    expected: tuple[int, int, int],
) -> None:
    line = node(unit=unit, total=total, currency=currency)
    gql.mock(return_value=queried(cart([line], subtotal=subtotal, currency=currency)))
    result = await shop.get_cart(CART_ID, deadline=deadline())
    assert result.currency == currency
    assert (result.lines[0].unit_price, result.lines[0].line_price, result.sub_total) == expected


@pytest.mark.parametrize(
    "the_cart",
    [
        cart(subtotal="1e999999999"),  # a decimal too large to quantize
        cart(subtotal="NaN"),
        cart(subtotal="twelve"),
        cart([node(currency="EUR")]),  # a EUR line in a USD cart
        {**cart(), "lines": None},
        {**cart(), "cost": {}},
        cart([{"id": LINE_A, "quantity": 1, "merchandise": {}, "cost": {}}]),
    ],
)
async def test_an_unreadable_cart_is_a_server_error_and_no_other_exception(
    shop: ShopifyAdapter, gql: respx.Route, the_cart: dict[str, Any]
) -> None:
    gql.mock(return_value=answer("cartCreate", the_cart))
    with pytest.raises(PlatformServerError, match="cannot read") as info:
        await shop.create_cart([A], currency="USD", deadline=deadline())
    assert info.value.may_have_applied is True
    assert gql.call_count == 1  # a create is never repeated after it may have applied


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, text="<html>oops</html>"),
        httpx.Response(200, json=[1, 2]),
        httpx.Response(200, json={}),
        httpx.Response(200, json={"data": {}}),
        httpx.Response(200, json={"data": {"cartCreate": None}}),
        answer("cartCreate", None),  # no cart and no userErrors
    ],
)
async def test_a_200_this_adapter_cannot_read_is_a_server_error_not_repeated_for_a_create(
    shop: ShopifyAdapter, gql: respx.Route, response: httpx.Response
) -> None:
    gql.mock(return_value=response)
    with pytest.raises(PlatformServerError) as info:
        await shop.create_cart([A], currency="USD", deadline=deadline())
    assert info.value.platform_status == 200 and info.value.may_have_applied is True
    assert gql.call_count == 1


async def test_refs_that_are_not_variant_gids_and_too_many_lines_are_refused_before_sending(
    shop: ShopifyAdapter, gql: respx.Route
) -> None:
    bad = LineRequest(platform_ref={"product_id": 191}, quantity=1, sku_id="sku_x")
    with pytest.raises(PlatformRejected) as info:
        await shop.create_cart([A, bad], currency="USD", deadline=deadline())
    assert info.value.cause == Cause.SKU_NOT_FOUND_ON_PLATFORM
    assert info.value.data == {"sku_ids": ["sku_x"]}
    with pytest.raises(PlatformRejected, match="at most 250"):
        await shop.add_lines(CART_ID, [A] * 251, deadline=deadline())
    assert gql.call_count == 0


# --- remove and delete ----------------------------------------------------------------------------


async def test_delete_removes_every_line_of_the_cart(
    shop: ShopifyAdapter, gql: respx.Route
) -> None:
    two = cart([node(), node(LINE_B, VARIANT_B, 5, "10.0", "50.0")])
    gql.mock(
        side_effect=by_document(
            cart=lambda v: queried(two),
            cartLinesRemove=lambda v: answer("cartLinesRemove", cart([], "0.0")),
        )
    )
    await shop.delete_cart(CART_ID, deadline=deadline())
    assert gql.call_count == 2
    assert sent(gql)["variables"] == {"cartId": CART_ID, "lineIds": [LINE_A, LINE_B]}


@pytest.mark.parametrize("lines", [None, []])
async def test_delete_of_a_missing_or_empty_cart_succeeds_with_one_read(
    shop: ShopifyAdapter, gql: respx.Route, lines: list[Any] | None
) -> None:
    gql.mock(return_value=queried(None if lines is None else cart(lines, "0.0")))
    await shop.delete_cart(CART_ID, deadline=deadline())
    assert gql.call_count == 1


async def test_delete_of_a_cart_that_expires_midway_succeeds(
    shop: ShopifyAdapter, gql: respx.Route
) -> None:
    gone = user_error("INVALID", ["cartId"], "The specified cart does not exist.")
    reads = iter([queried(cart()), queried(None)])
    gql.mock(
        side_effect=by_document(
            cart=lambda v: next(reads),
            cartLinesRemove=lambda v: answer("cartLinesRemove", None, [gone]),
        )
    )
    await shop.delete_cart(CART_ID, deadline=deadline())
    assert gql.call_count == 3


async def test_remove_on_a_cart_that_is_gone_returns_none(
    shop: ShopifyAdapter, gql: respx.Route
) -> None:
    gone = user_error("INVALID", ["cartId"], "The specified cart does not exist.")
    gql.mock(side_effect=[answer("cartLinesRemove", None, [gone]), queried(None)])
    assert await shop.remove_line(CART_ID, LINE_A, deadline=deadline()) is None


async def test_remove_retried_after_a_lost_answer_reads_the_cart_back(
    shop: ShopifyAdapter, gql: respx.Route
) -> None:
    missing = user_error("INVALID_MERCHANDISE_LINE", ["lineIds", "0"], "Line not found in cart.")
    gql.mock(
        side_effect=[
            httpx.ReadTimeout("lost"),  # applied, but the answer was lost
            answer("cartLinesRemove", None, [missing]),
            queried(cart([], "0.0")),
        ]
    )
    result = await shop.remove_line(CART_ID, LINE_A, deadline=deadline())
    assert result is not None and result.lines == ()


async def test_removing_a_line_that_was_never_there_is_not_found(
    shop: ShopifyAdapter, gql: respx.Route
) -> None:
    missing = user_error("INVALID_MERCHANDISE_LINE", ["lineIds", "0"], "Line not found in cart.")
    gql.mock(side_effect=[answer("cartLinesRemove", None, [missing]), queried(cart())])
    with pytest.raises(PlatformNotFound, match="Line not found"):
        await shop.remove_line(CART_ID, LINE_B, deadline=deadline())
