"""The BigCommerce adapter against respx: the request it sends and what it makes of each answer.

Retries are in ``test_bigcommerce_retries.py``, the connection model in
``test_bigcommerce_connection.py``.
"""

from __future__ import annotations

import json

import httpx
import pytest
import respx

from adapters.base import ExternalCart, ExternalLine, LineRequest
from adapters.bigcommerce import BigCommerceAdapter
from errors import (
    Cause,
    PlatformAuthFailed,
    PlatformConflict,
    PlatformNotFound,
    PlatformRejected,
    PlatformServerError,
)
from tests.adapters.bigcommerce_answers import CART, CARTS, ITEM, LINE, bc_cart, bc_item, error_body
from tests.adapters.conftest import CART_ID, ITEM_ID, TOKEN, deadline

# --- requests and parsing -------------------------------------------------------------------------


async def test_create_sends_the_documented_request_and_reads_money_exactly(
    bc: BigCommerceAdapter, mock: respx.MockRouter
) -> None:
    route = mock.post(CARTS).mock(return_value=httpx.Response(201, json=bc_cart()))

    cart = await bc.create_cart([LINE], currency="USD", deadline=deadline())

    request = route.calls.last.request
    assert request.method == "POST"
    assert request.url.path == "/stores/abc123/v3/carts"
    assert request.url.params["include"] == "redirect_urls"
    assert request.headers["X-Auth-Token"] == TOKEN
    assert request.headers["Accept"] == "application/json"
    assert request.headers["Content-Type"] == "application/json"
    assert json.loads(request.content) == {
        "line_items": [{"quantity": 5, "product_id": 191, "variant_id": 362}],
        "currency": {"code": "USD"},
        "channel_id": 1,
    }
    assert cart == ExternalCart(
        external_id=CART_ID,
        currency="USD",
        sub_total=13975,
        lines=(
            ExternalLine(
                external_id=ITEM_ID,
                platform_ref={"product_id": 191, "variant_id": 362},
                quantity=5,
                unit_price=2795,
                line_price=13975,
                name="Openhouse No. 3",
            ),
        ),
        checkout_url="https://store.test/cart.php?action=load&id=x&token=t",
    )
    assert route.call_count == 1


async def test_lines_come_from_physical_and_digital_items_and_match_catalog_refs(
    bc: BigCommerceAdapter, mock: respx.MockRouter
) -> None:
    body = bc_cart(
        physical=[bc_item(product_id=1, variant_id=11, quantity=3, price=0.1, extended=0.3)],
        digital=[
            bc_item(
                item_id="d1", product_id=2, variant_id=None, quantity=1, price=19.99, extended=19.99
            )
        ],
        amount=20.29,
        checkout_url=None,
    )
    mock.get(CART).mock(return_value=httpx.Response(200, json=body))

    cart = await bc.get_cart(CART_ID, deadline=deadline())

    assert [(ln.platform_ref, ln.unit_price, ln.line_price) for ln in cart.lines] == [
        ({"product_id": 1, "variant_id": 11}, 10, 30),
        ({"product_id": 2}, 1999, 1999),
    ]
    assert cart.sub_total == 2029  # 0.1 * 3 is no float arithmetic here
    assert cart.checkout_url is None
    assert cart.line_for({"product_id": 1}) is cart.lines[0]


async def test_add_update_remove_use_the_documented_routes_and_bodies(
    bc: BigCommerceAdapter, mock: respx.MockRouter
) -> None:
    add = mock.post(f"{CART}/items").mock(return_value=httpx.Response(201, json=bc_cart()))
    put = mock.put(ITEM).mock(return_value=httpx.Response(200, json=bc_cart()))
    delete = mock.delete(ITEM).mock(return_value=httpx.Response(200, json=bc_cart()))

    await bc.add_lines(CART_ID, [LINE], deadline=deadline())
    await bc.update_line(
        CART_ID,
        ITEM_ID,
        7,
        platform_ref={"product_id": 191, "variant_id": 362},
        deadline=deadline(),
    )
    removed = await bc.remove_line(CART_ID, ITEM_ID, deadline=deadline())

    assert json.loads(add.calls.last.request.content) == {
        "line_items": [{"quantity": 5, "product_id": 191, "variant_id": 362}]
    }
    # Cart_Line_Item_Update_Put: a singular line_item
    # (https://developer.bigcommerce.com/docs/rest-management/carts/items).
    assert json.loads(put.calls.last.request.content) == {
        "line_item": {"quantity": 7, "product_id": 191, "variant_id": 362}
    }
    assert delete.calls.last.request.headers["X-Auth-Token"] == TOKEN
    assert removed is not None and removed.external_id == CART_ID


async def test_removing_the_last_line_returns_none(
    bc: BigCommerceAdapter, mock: respx.MockRouter
) -> None:
    mock.delete(ITEM).mock(return_value=httpx.Response(204))
    assert await bc.remove_line(CART_ID, ITEM_ID, deadline=deadline()) is None


@pytest.mark.parametrize("status", [204, 404])
async def test_delete_cart_succeeds_on_204_and_on_404(
    bc: BigCommerceAdapter, mock: respx.MockRouter, status: int
) -> None:
    route = mock.delete(CART).mock(
        return_value=httpx.Response(
            status, json=None if status == 204 else error_body(404, "Cart not found.")
        )
    )
    assert await bc.delete_cart(CART_ID, deadline=deadline()) is None
    assert route.call_count == 1


async def test_a_success_answer_that_is_not_json_is_a_server_error_and_a_create_is_not_repeated(
    bc: BigCommerceAdapter, mock: respx.MockRouter
) -> None:
    route = mock.post(CARTS).mock(return_value=httpx.Response(201, text="<html>oops</html>"))
    with pytest.raises(PlatformServerError, match="not the documented") as info:
        await bc.create_cart([LINE], currency="USD", deadline=deadline())
    assert info.value.platform_status == 201
    assert route.call_count == 1


async def test_a_ref_without_integer_ids_is_rejected_before_any_request(
    bc: BigCommerceAdapter, mock: respx.MockRouter
) -> None:
    route = mock.post(CARTS)
    bad = LineRequest(platform_ref={"variant_id": "gid://x"}, quantity=1, sku_id="sku_x")
    with pytest.raises(PlatformRejected) as info:
        await bc.create_cart([bad], currency="USD", deadline=deadline())
    assert info.value.cause == Cause.SKU_NOT_FOUND_ON_PLATFORM
    assert info.value.data == {"sku_ids": ["sku_x"]}
    assert route.call_count == 0


# --- error answers --------------------------------------------------------------------------------


async def test_unknown_product_on_create_is_sku_not_found_and_not_retried(
    bc: BigCommerceAdapter, mock: respx.MockRouter
) -> None:
    route = mock.post(CARTS).mock(
        return_value=httpx.Response(
            404, json=error_body(404, "The resource at that URL is not found.")
        )
    )
    with pytest.raises(PlatformRejected) as info:
        await bc.create_cart([LINE], currency="USD", deadline=deadline())
    assert info.value.cause == Cause.SKU_NOT_FOUND_ON_PLATFORM
    assert info.value.platform_status == 404
    assert info.value.data == {"sku_ids": ["sku_a"]}
    assert "not found" in info.value.message
    assert route.call_count == 1


async def test_unknown_cart_on_get_is_platform_not_found(
    bc: BigCommerceAdapter, mock: respx.MockRouter
) -> None:
    route = mock.get(CART).mock(
        return_value=httpx.Response(404, json=error_body(404, "Cart not found."))
    )
    with pytest.raises(PlatformNotFound, match="Cart not found"):
        await bc.get_cart(CART_ID, deadline=deadline())
    assert route.call_count == 1


@pytest.mark.parametrize(
    ("status", "body", "error", "cause"),
    [
        (
            409,
            error_body(409, "The request cannot be processed due to a possible conflict."),
            PlatformConflict,
            Cause.PLATFORM_CONFLICT,
        ),
        (
            422,
            error_body(422, "Not enough stock: only 2 available"),
            PlatformRejected,
            Cause.OUT_OF_STOCK,
        ),
        (422, error_body(422, "This item is sold out"), PlatformRejected, Cause.OUT_OF_STOCK),
        (
            422,
            error_body(
                422,
                "Missing or incorrect required fields",
                errors={"variant": "This product has options, variant ID is required"},
            ),
            PlatformRejected,
            Cause.SKU_NOT_FOUND_ON_PLATFORM,
        ),
        (
            422,
            error_body(422, "You can only purchase a maximum of 2 of the Brush per order."),
            PlatformRejected,
            Cause.PLATFORM_REJECTED,
        ),
        (
            400,
            error_body(400, "Input is invalid", detail="Syntax error"),
            PlatformRejected,
            Cause.PLATFORM_REJECTED,
        ),
        (415, {}, PlatformRejected, Cause.PLATFORM_REJECTED),
        (401, error_body(401, "Unauthorized"), PlatformAuthFailed, Cause.AUTH_FAILED),
        (403, None, PlatformAuthFailed, Cause.AUTH_FAILED),
    ],
)
async def test_error_answers_map_to_one_cause_without_retry(
    bc: BigCommerceAdapter,
    mock: respx.MockRouter,
    status: int,
    body: dict[str, object] | None,
    error: type[Exception],
    cause: Cause,
) -> None:
    route = mock.post(CARTS).mock(return_value=httpx.Response(status, json=body))
    with pytest.raises(error) as info:
        await bc.create_cart([LINE], currency="USD", deadline=deadline())
    assert info.value.cause == cause  # type: ignore[attr-defined]
    assert info.value.platform_status == status  # type: ignore[attr-defined]
    if body and body.get("title"):
        assert str(body["title"]) in info.value.message  # type: ignore[attr-defined]
    assert route.call_count == 1


async def test_409_on_update_is_a_conflict(bc: BigCommerceAdapter, mock: respx.MockRouter) -> None:
    mock.put(ITEM).mock(return_value=httpx.Response(409, json=error_body(409, "conflict")))
    with pytest.raises(PlatformConflict):
        await bc.update_line(
            CART_ID, ITEM_ID, 2, platform_ref={"product_id": 191}, deadline=deadline()
        )
